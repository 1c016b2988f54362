package dev.spillway.config;

import dev.spillway.config.TierSettings.Durability;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Whether and how one map keeps its entries across restarts: the {@code durable}, {@code directory},
 * {@code durability}, {@code sync-interval}, {@code codec}, {@code segment-size} and
 * {@code checkpoint-interval} keys of {@code spillway.maps.<name>}.
 *
 * @param durable whether the map keeps its entries in its directory: reopening it gives back every
 *     acknowledged write. A map that is not durable holds nothing after its process ends
 * @param directory the map's own directory (required when durable; no other map or log may share it)
 * @param durability when a write counts as acknowledged: {@code none} once the operating system has
 *     it (it survives the process, not a power cut); {@code batch} the same, and the log is forced
 *     every {@code syncInterval} (a power cut loses at most that much); {@code always} once it is on the
 *     device
 * @param syncInterval how often {@code batch} forces the log
 * @param codec how records are stored: {@code raw}, {@code lz4} or {@code zstd} (each record stored
 *     raw when the codec does not pay)
 * @param segmentSize the size of one segment file of the map's log
 * @param checkpointInterval log bytes written between two index checkpoints: reopening reads the last
 *     checkpoint and at most about this much log
 * @param readOnly open the directory without changing it (a snapshot, or a map another tool inspects):
 *     every write is refused, nothing is repaired, no checkpoint is written
 */
public record MapPersistence(boolean durable, Path directory, Durability durability, Duration syncInterval,
    String codec, long segmentSize, long checkpointInterval, boolean readOnly) {

  /** The codec names a map accepts. */
  public static final List<String> CODECS = List.of("raw", "lz4", "zstd");
  /** The keys these settings are read from. */
  public static final List<String> KEYS = List.of("durable", "directory", "durability", "sync-interval", "codec",
      "segment-size", "checkpoint-interval", "read-only");

  static final long MIN_SEGMENT = 1L << 20;
  static final long MAX_SEGMENT = 1L << 40;
  static final Duration MIN_SYNC = Duration.ofMillis(1);
  static final Duration MAX_SYNC = Duration.ofMinutes(10);

  /** Not durable, with the embedded defaults for the rest. */
  public static final MapPersistence NONE = new MapPersistence(false, null, Durability.BATCH,
      Duration.ofMillis(100), "lz4", 64L << 20, 64L << 20, false);

  public MapPersistence {
    Objects.requireNonNull(durability, "durability");
    Objects.requireNonNull(syncInterval, "syncInterval");
  }

  /** Checks the fields for map {@code name}; messages name the key. */
  MapPersistence check(String name) {
    String where = "spillway.maps." + name + ".";
    if (readOnly && !durable) {
      throw new SettingsException(where + "read-only", "= true needs durable = true: only a durable map has a"
          + " directory to open read-only");
    }
    if (durable && directory == null) {
      throw new SettingsException(where + "directory", "is missing: durable = true needs the map's own directory"
          + " (for example directory = \"/var/lib/app/maps/" + name + "\")");
    }
    if (codec == null || !CODECS.contains(codec)) {
      throw new SettingsException(where + "codec", "= " + codec + " is not a codec: allowed " + String.join(", ", CODECS));
    }
    if (segmentSize < MIN_SEGMENT || segmentSize > MAX_SEGMENT) {
      throw new SettingsException(where + "segment-size", "= " + segmentSize + " bytes is not allowed: 1 MiB to 1 TiB");
    }
    if (checkpointInterval < MIN_SEGMENT || checkpointInterval > MAX_SEGMENT) {
      throw new SettingsException(where + "checkpoint-interval", "= " + checkpointInterval
          + " bytes is not allowed: 1 MiB to 1 TiB");
    }
    if (syncInterval.compareTo(MIN_SYNC) < 0 || syncInterval.compareTo(MAX_SYNC) > 0) {
      throw new SettingsException(where + "sync-interval", "= " + syncInterval + " is not allowed: 1 ms to 10 min");
    }
    return this;
  }

  /** Durable in {@code dir}, the rest unchanged. */
  public MapPersistence withDirectory(Path dir) {
    return new MapPersistence(true, dir, durability, syncInterval, codec, segmentSize, checkpointInterval, readOnly);
  }

  /** The same, opened read-only (see {@link #readOnly()}). */
  public MapPersistence asReadOnly() {
    return new MapPersistence(durable, directory, durability, syncInterval, codec, segmentSize, checkpointInterval, true);
  }

  public MapPersistence withDurability(Durability value) {
    return new MapPersistence(durable, directory, value, syncInterval, codec, segmentSize, checkpointInterval, readOnly);
  }

  public MapPersistence withCodec(String value) {
    return new MapPersistence(durable, directory, durability, syncInterval, value, segmentSize, checkpointInterval, readOnly);
  }

  public MapPersistence withSegmentSize(long value) {
    return new MapPersistence(durable, directory, durability, syncInterval, codec, value, checkpointInterval, readOnly);
  }

  public MapPersistence withCheckpointInterval(long value) {
    return new MapPersistence(durable, directory, durability, syncInterval, codec, segmentSize, value, readOnly);
  }

  public MapPersistence withSyncInterval(Duration value) {
    return new MapPersistence(durable, directory, durability, value, codec, segmentSize, checkpointInterval, readOnly);
  }

  /** The keys {@code one} sets, over {@code d}. */
  static MapPersistence read(ConfigReader one, MapPersistence d) {
    return new MapPersistence(
        one.has("durable") ? one.flag("durable") : d.durable,
        one.has("directory") ? directory(one) : d.directory,
        one.has("durability") ? durability(one) : d.durability,
        one.has("sync-interval") ? one.duration("sync-interval", MIN_SYNC, MAX_SYNC) : d.syncInterval,
        one.has("codec") ? one.string("codec").trim().toLowerCase(Locale.ROOT) : d.codec,
        one.has("segment-size") ? one.bytes("segment-size", MIN_SEGMENT, MAX_SEGMENT) : d.segmentSize,
        one.has("checkpoint-interval") ? one.bytes("checkpoint-interval", MIN_SEGMENT, MAX_SEGMENT)
            : d.checkpointInterval,
        one.has("read-only") ? one.flag("read-only") : d.readOnly);
  }

  private static Path directory(ConfigReader one) {
    String text = one.string("directory").trim();
    if (text.isEmpty()) {
      throw new SettingsException(one.key("directory"), "is empty: name the map's own directory");
    }
    try {
      return Path.of(text);
    } catch (java.nio.file.InvalidPathException e) {
      throw new SettingsException(one.key("directory"), "= " + text + " is not a path: " + e.getReason(), e);
    }
  }

  private static Durability durability(ConfigReader one) {
    String text = one.string("durability").trim();
    try {
      return Durability.valueOf(text.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new SettingsException(one.key("durability"), "= " + text + " is not allowed: none, batch or always", e);
    }
  }
}
