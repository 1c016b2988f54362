package dev.spillway.config;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Settings of the NVMe tier's segment log ({@code spillway.tier}).
 *
 * @param directories where segment files live, absolute and distinct; segments are placed
 *     round-robin across them. Empty means one <em>private</em> directory, made fresh under
 *     {@code defaultParent} when the tier opens and deleted when it closes (see {@link #isPrivate()})
 * @param defaultParent where a private directory is made, absolute
 * @param segmentSize a segment is closed and a new one started once it reaches this many bytes,
 *     1 MiB to 16 GiB
 * @param durability when an append counts as acknowledged
 * @param compactLiveFractionBelow segments whose live bytes / file bytes fall under this fraction are
 *     rewritten by compaction, {@code 0 <= value < 1} (0 never compacts)
 */
public record TierSettings(List<Path> directories, Path defaultParent, long segmentSize, Durability durability,
    double compactLiveFractionBelow) {

  /** The smallest segment size accepted. */
  public static final long MIN_SEGMENT_SIZE = 1L << 20;
  /** The largest segment size accepted. */
  public static final long MAX_SEGMENT_SIZE = 16L << 30;

  /** When an appended record counts as acknowledged. */
  public enum Durability {
    /** Once written to the page cache: survives a process crash, not a power loss. */
    NONE,
    /** Once the batch it belongs to has been forced to the device (one fsync per batch). */
    BATCH,
    /** Once the record itself has been forced to the device (one fsync per record). */
    ALWAYS
  }

  public TierSettings {
    directories = List.copyOf(directories);
    java.util.Objects.requireNonNull(defaultParent, "defaultParent");
    if (!defaultParent.isAbsolute()) {
      throw new IllegalArgumentException("defaultParent must be an absolute path: " + defaultParent);
    }
    if (segmentSize < MIN_SEGMENT_SIZE || segmentSize > MAX_SEGMENT_SIZE) {
      throw new IllegalArgumentException("segmentSize = " + segmentSize + " is out of range: allowed "
          + Sizes.format(MIN_SEGMENT_SIZE) + " to " + Sizes.format(MAX_SEGMENT_SIZE));
    }
    java.util.Objects.requireNonNull(durability, "durability");
    if (!(compactLiveFractionBelow >= 0.0 && compactLiveFractionBelow < 1.0)) {
      throw new IllegalArgumentException("compactLiveFractionBelow = " + compactLiveFractionBelow
          + " is out of range: allowed 0 <= value < 1");
    }
  }

  /** Settings with the private directory under {@link #systemTempDirectory()}. */
  public TierSettings(List<Path> directories, long segmentSize, Durability durability, double compactLiveFractionBelow) {
    this(directories, systemTempDirectory(), segmentSize, durability, compactLiveFractionBelow);
  }

  /**
   * Whether the tier lives in a private directory ({@code directories} is empty): made fresh for each
   * opening under {@link #defaultParent()}, 0700 with an unpredictable name, and deleted when the tier
   * closes, because spilled blocks mean nothing to any other process (their handles die with it).
   * Production deployments should name an NVMe mount in {@code directories} instead.
   */
  public boolean isPrivate() {
    return directories.isEmpty();
  }

  /** {@code java.io.tmpdir}, absolute. */
  public static Path systemTempDirectory() {
    return Path.of(System.getProperty("java.io.tmpdir")).toAbsolutePath().normalize();
  }

  /** Settings for one directory with the other values at their defaults; convenient in tests. */
  public static TierSettings in(Path directory) {
    TierSettings d = SpillwaySettings.defaults().tier();
    return new TierSettings(List.of(directory), d.defaultParent(), d.segmentSize(), d.durability(),
        d.compactLiveFractionBelow());
  }

  /** A copy with another segment size. */
  public TierSettings withSegmentSize(long bytes) {
    return new TierSettings(directories, defaultParent, bytes, durability, compactLiveFractionBelow);
  }

  /** A copy with another durability. */
  public TierSettings withDurability(Durability value) {
    return new TierSettings(directories, defaultParent, segmentSize, value, compactLiveFractionBelow);
  }

  /** A copy with other directories. */
  public TierSettings withDirectories(List<Path> value) {
    return new TierSettings(value, defaultParent, segmentSize, durability, compactLiveFractionBelow);
  }

  /** A copy whose private directory goes under {@code value}. */
  public TierSettings withDefaultParent(Path value) {
    return new TierSettings(directories, value, segmentSize, durability, compactLiveFractionBelow);
  }

  /** A copy with another compaction threshold. */
  public TierSettings withCompactLiveFractionBelow(double value) {
    return new TierSettings(directories, defaultParent, segmentSize, durability, value);
  }

  static TierSettings read(ConfigReader tier) {
    return new TierSettings(
        readDirectories(tier),
        readDefaultParent(tier),
        tier.bytes("segment-size", MIN_SEGMENT_SIZE, MAX_SEGMENT_SIZE),
        readDurability(tier),
        tier.child("compaction").fraction("live-fraction-below", /* zeroAllowed= */ true));
  }

  private static List<Path> readDirectories(ConfigReader tier) {
    String key = tier.key("directories");
    List<String> names = tier.strings("directories");
    if (names.isEmpty()) {
      return List.of();
    }
    List<Path> out = new ArrayList<>();
    Set<Path> seen = new HashSet<>();
    for (String name : names) {
      Path path;
      try {
        path = Path.of(name);
      } catch (InvalidPathException e) {
        throw new SettingsException(key, "contains \"" + name + "\", which is not a valid path: "
            + e.getReason(), e);
      }
      if (name.isBlank() || !path.isAbsolute()) {
        throw new SettingsException(key, "contains \"" + name + "\": allowed only absolute paths"
            + " such as \"/mnt/nvme0/spillway\" (or [] for a directory under java.io.tmpdir)");
      }
      if (!seen.add(path.normalize())) {
        throw new SettingsException(key, "names \"" + name + "\" twice: allowed distinct directories");
      }
      out.add(path.normalize());
    }
    return out;
  }

  private static Path readDefaultParent(ConfigReader tier) {
    String key = tier.key("default-parent");
    String name = tier.string("default-parent");
    if (name.isBlank()) {
      return systemTempDirectory();
    }
    try {
      Path path = Path.of(name);
      if (!path.isAbsolute()) {
        throw new SettingsException(key, "= \"" + name + "\" is not allowed: an absolute path such as \"/var/tmp\", or"
            + " \"\" for java.io.tmpdir");
      }
      return path.normalize();
    } catch (InvalidPathException e) {
      throw new SettingsException(key, "= \"" + name + "\" is not a valid path: " + e.getReason(), e);
    }
  }

  private static Durability readDurability(ConfigReader tier) {
    String key = tier.key("durability");
    String value = tier.string("durability");
    try {
      return Durability.valueOf(value.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new SettingsException(key, "= \"" + value + "\" is not allowed: allowed none, batch, always", e);
    }
  }

}
