package dev.spillway.core.memory;

import dev.spillway.config.MemorySettings;
import dev.spillway.config.SpillSettings;
import dev.spillway.config.SpillwaySettings;
import dev.spillway.config.TierSettings;
import dev.spillway.codec.Codec;
import dev.spillway.codec.CodecException;
import dev.spillway.codec.Codecs;
import dev.spillway.config.SettingsException;
import dev.spillway.core.tier.OwnedDirectory;
import dev.spillway.core.tier.PrivateDirectory;
import dev.spillway.core.tier.SegmentLog;
import dev.spillway.memory.BlockAllocator;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * How {@link BlockAllocator#create} and {@link BlockAllocator#open} make an allocator: the slab
 * allocator, and for {@code open} its tier (the spill log under each tier directory, or a private
 * directory, {@link PrivateDirectory}, when none is configured).
 */
public final class Allocators {
  /** The largest segment of a spill log. */
  public static final long SPILL_SEGMENT_SIZE = 64L << 20;

  private Allocators() {}

  /**
   * The settings of the spill log under {@code roots}: each root's {@code spill} subdirectory,
   * segments of at most 64 MiB (spilled records die fast, restored or freed, and a small segment
   * empties, and is compacted, sooner and in shorter passes), and durability {@code none} whatever
   * {@code spillway.tier.durability} says: a spilled block lives only as long as this process (the
   * log is opened empty and deleted on close or by the next start), so an fsync would buy nothing
   * that survives, while the page cache serves restores all the same.
   */
  static TierSettings spillLog(TierSettings tier, List<Path> roots) {
    return tier.withDirectories(roots.stream().map(d -> d.resolve("spill")).toList())
        .withSegmentSize(Math.min(tier.segmentSize(), SPILL_SEGMENT_SIZE))
        .withDurability(TierSettings.Durability.NONE);
  }

  /**
   * The codec {@code spillway.spill.codec} names, loaded now: a codec this platform cannot run
   * (zstd-jni without a native library for it) fails the start naming the key, not the first spill.
   */
  static Codec spillCodec(Codecs codecs, SpillSettings.SpillCodec configured) {
    Codec codec = codecs.byName(configured.configName());
    try {
      codecs.checkAvailable(codec);
    } catch (CodecException e) {
      throw new SettingsException("spillway.spill.codec", "= " + configured.configName() + " cannot be used here: "
          + e.getMessage() + ": allowed " + SpillSettings.CODECS_ALLOWED + " (lz4 and raw run without a native"
          + " library)", e);
    }
    return codec;
  }

  /** An allocator without a tier. */
  public static BlockAllocator create(MemorySettings settings) {
    return new SlabAllocator(settings);
  }

  /** An allocator spilling to the tier of {@code settings}; see {@link BlockAllocator#open}. */
  public static BlockAllocator open(SpillwaySettings settings) throws IOException {
    return open(settings, MoveObserver.NONE);
  }

  /** {@link #open(SpillwaySettings)} with an observer of the move protocols' racy moments (tests). */
  static BlockAllocator open(SpillwaySettings settings, MoveObserver observer) throws IOException {
    TierSettings tier = settings.tier();
    PrivateDirectory own = tier.isPrivate()
        ? PrivateDirectory.create(tier.defaultParent(), "spillway.tier.default-parent") : null;
    try {
      List<Path> roots = own != null ? List.of(own.path()) : tier.directories();
      for (Path root : roots) {
        OwnedDirectory.prepare(root, "spillway.tier.directories");
      }
      TierSettings spillTier = spillLog(tier, roots);
      Codecs codecs = Codecs.from(settings.codec());
      SegmentLog store = SegmentLog.openEmpty(spillTier, codecs);
      try {
        Codec codec = spillCodec(codecs, settings.spill().codec());
        return new SlabAllocator(settings.memory(), store, codec, codecs.raw(), roots, own, observer);
      } catch (RuntimeException e) {
        store.close();
        throw e;
      }
    } catch (IOException | RuntimeException e) {
      if (own != null) {
        try {
          own.close();
        } catch (IOException suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      throw e;
    }
  }
}
