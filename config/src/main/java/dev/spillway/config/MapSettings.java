package dev.spillway.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * The settings of one keyed map ({@code SpillMap}): {@code spillway.maps.<name>}, each key falling
 * back to {@code spillway.maps.default}. Build one in code with {@link #builder(String)}.
 *
 * @param name the map's name: 1 to 64 characters of letters, digits, {@code -}, {@code _} and
 *     {@code .}
 * @param mode {@code store} never drops an entry (cold ones go to NVMe); {@code cache} holds at most
 *     {@code maximumEntries} entries or {@code maximumBytes} bytes and evicts by {@code evictionPolicy}
 * @param segments independent parts of the map, each with its own lock, index and policies (a power of
 *     two, 1 to 1024; 0 picks 8 per core, at most 256); a bounded cache divides its maximum evenly
 *     among them
 * @param maximumEntries the entry bound of a cache (0: none)
 * @param maximumBytes the byte bound of a cache, counting each entry's key and value bytes (0: none)
 * @param evictionPolicy which entry a full cache drops
 * @param demotionPolicy which resident entries a store sends to NVMe first (a cache demotes in the
 *     order of its eviction policy)
 * @param l1Entries how many decoded values the on-heap level keeps (0: no on-heap level)
 * @param l1Policy which value the on-heap level drops when full
 * @param expireAfterWrite entries expire this long after their last write (zero: never)
 * @param expireAfterAccess entries expire this long after their last read or write (zero: never)
 * @param persistence whether the map is durable, where and how it keeps its entries
 */
public record MapSettings(
    String name, Mode mode, int segments, long maximumEntries, long maximumBytes,
    String evictionPolicy, String demotionPolicy, long l1Entries, String l1Policy,
    Duration expireAfterWrite, Duration expireAfterAccess, MapPersistence persistence) {

  /** What a full map does. */
  public enum Mode {
    /** Never drops an entry: cold entries go to NVMe. */
    STORE,
    /** Bounded: evicts entries by its eviction policy. */
    CACHE
  }

  /** The names a policy key accepts. */
  public static final List<String> POLICIES = List.of("lru", "mru", "fifo", "clock", "w-tinylfu");

  /** The keys a {@code spillway.maps.<name>} section may hold. */
  public static final List<String> KEYS = java.util.stream.Stream.concat(Stream.of("mode", "segments",
      "maximum-entries", "maximum-bytes", "eviction-policy", "demotion-policy", "l1-entries", "l1-policy",
      "expire-after-write", "expire-after-access"), MapPersistence.KEYS.stream()).toList();

  /** The section holding every map's settings. */
  static final String SECTION = "maps";
  /** The member whose values every other member falls back to. */
  public static final String DEFAULT = "default";

  private static final int MAX_SEGMENTS = 1024;
  private static final Duration MAX_EXPIRY = Duration.ofDays(365L * 100);

  /** Validates every field; messages name the field as its configuration key. */
  public MapSettings {
    checkName(name);
    Objects.requireNonNull(mode, "mode");
    String where = "spillway.maps." + name + ".";
    if (segments < 0 || segments > MAX_SEGMENTS || (segments & (segments - 1)) != 0) {
      throw new SettingsException(where + "segments", "= " + segments
          + " is not allowed: a power of two from 1 to " + MAX_SEGMENTS + ", or 0 for automatic");
    }
    if (maximumEntries < 0 || maximumBytes < 0 || l1Entries < 0) {
      throw new SettingsException(where + (maximumEntries < 0 ? "maximum-entries"
          : maximumBytes < 0 ? "maximum-bytes" : "l1-entries"), "must not be negative");
    }
    if (mode == Mode.STORE && (maximumEntries > 0 || maximumBytes > 0)) {
      throw new SettingsException(where + (maximumEntries > 0 ? "maximum-entries" : "maximum-bytes"),
          "bounds a cache, but mode = store never drops an entry: set mode = cache, or remove the bound");
    }
    if (mode == Mode.CACHE && (maximumEntries > 0) == (maximumBytes > 0)) {
      throw new SettingsException(where + "maximum-entries", maximumEntries > 0
          ? "and maximum-bytes are both set: a cache is bounded by one of them"
          : "or maximum-bytes must be set (above 0) when mode = cache");
    }
    checkPolicy(where + "eviction-policy", evictionPolicy);
    checkPolicy(where + "demotion-policy", demotionPolicy);
    checkPolicy(where + "l1-policy", l1Policy);
    checkExpiry(where + "expire-after-write", expireAfterWrite);
    checkExpiry(where + "expire-after-access", expireAfterAccess);
    Objects.requireNonNull(persistence, "persistence").check(name);
  }

  /** Whether the map keeps its entries across restarts ({@link MapPersistence#durable()}). */
  public boolean durable() {
    return persistence.durable();
  }

  /** A builder starting from the embedded defaults of {@code spillway.maps.default}. */
  public static Builder builder(String name) {
    MapSettings d = SpillwaySettings.defaults().mapSettings(DEFAULT);
    return new Builder(d.withName(name));
  }

  /** The same settings under another name. */
  public MapSettings withName(String newName) {
    return new MapSettings(newName, mode, segments, maximumEntries, maximumBytes, evictionPolicy,
        demotionPolicy, l1Entries, l1Policy, expireAfterWrite, expireAfterAccess, persistence);
  }

  /** The same settings with {@code value} as the persistence. */
  public MapSettings withPersistence(MapPersistence value) {
    return new MapSettings(name, mode, segments, maximumEntries, maximumBytes, evictionPolicy,
        demotionPolicy, l1Entries, l1Policy, expireAfterWrite, expireAfterAccess, value);
  }

  /** {@link #segments} with 0 resolved for {@code cores} processors. */
  public int segmentCount(int cores) {
    if (segments > 0) {
      return segments;
    }
    return Math.min(256, Integer.highestOneBit(Math.max(1, cores) * 8 - 1) << 1);
  }

  /**
   * Checks a map name.
   *
   * @throws IllegalArgumentException naming the bad name and what is allowed
   */
  public static void checkName(String name) {
    if (name == null || name.isEmpty() || name.length() > 64 || !name.matches("[A-Za-z0-9._-]+")) {
      throw new IllegalArgumentException("map name " + (name == null ? "null" : "\"" + name + "\"")
          + " is not allowed: 1 to 64 characters of letters, digits, '-', '_' and '.'");
    }
  }

  private static void checkPolicy(String key, String value) {
    if (value == null || !POLICIES.contains(value)) {
      throw new SettingsException(key, "= " + value + " is not a policy: allowed " + String.join(", ", POLICIES));
    }
  }

  private static void checkExpiry(String key, Duration value) {
    if (value == null || value.isNegative() || value.compareTo(MAX_EXPIRY) > 0) {
      throw new SettingsException(key, "= " + value + " is not allowed: 0 (never) up to 100 days * 365");
    }
  }

  /** Every member of {@code spillway.maps} (the default included), each over the default. */
  static Map<String, MapSettings> read(ConfigReader root) {
    ConfigReader maps = root.child(SECTION);
    Map<String, MapSettings> out = new TreeMap<>();
    MapSettings defaults = readOne(maps.child(DEFAULT), DEFAULT);
    out.put(DEFAULT, defaults);
    Config all = root.raw(SECTION);
    for (Map.Entry<String, ConfigValue> e : all.root().entrySet()) {
      String name = e.getKey();
      if (name.equals(DEFAULT)) {
        continue;
      }
      String key = maps.child(ConfigUtil.joinPath(name)).path();
      if (e.getValue().valueType() != ConfigValueType.OBJECT) {
        throw new SettingsException(key, "must be a section { mode = ..., ... } of one map's settings");
      }
      try {
        checkName(name);
      } catch (IllegalArgumentException bad) {
        throw new SettingsException(key, bad.getMessage(), bad);
      }
      out.put(name, readOne(maps.child(ConfigUtil.joinPath(name)), name, defaults));
    }
    return out;
  }

  private static MapSettings readOne(ConfigReader one, String name) {
    return new MapSettings(name, mode(one), (int) one.count("segments", 0, MAX_SEGMENTS),
        one.count("maximum-entries", 0, Long.MAX_VALUE), one.bytes("maximum-bytes", 0, Long.MAX_VALUE),
        one.string("eviction-policy"), one.string("demotion-policy"), one.count("l1-entries", 0, Integer.MAX_VALUE),
        one.string("l1-policy"), one.duration("expire-after-write", Duration.ZERO, MAX_EXPIRY),
        one.duration("expire-after-access", Duration.ZERO, MAX_EXPIRY), MapPersistence.read(one, MapPersistence.NONE));
  }

  /** One member: keys it sets, the default's values for the others. */
  private static MapSettings readOne(ConfigReader one, String name, MapSettings d) {
    return new MapSettings(name,
        one.has("mode") ? mode(one) : d.mode,
        one.has("segments") ? (int) one.count("segments", 0, MAX_SEGMENTS) : d.segments,
        one.has("maximum-entries") ? one.count("maximum-entries", 0, Long.MAX_VALUE) : d.maximumEntries,
        one.has("maximum-bytes") ? one.bytes("maximum-bytes", 0, Long.MAX_VALUE) : d.maximumBytes,
        one.has("eviction-policy") ? one.string("eviction-policy") : d.evictionPolicy,
        one.has("demotion-policy") ? one.string("demotion-policy") : d.demotionPolicy,
        one.has("l1-entries") ? one.count("l1-entries", 0, Integer.MAX_VALUE) : d.l1Entries,
        one.has("l1-policy") ? one.string("l1-policy") : d.l1Policy,
        one.has("expire-after-write") ? one.duration("expire-after-write", Duration.ZERO, MAX_EXPIRY)
            : d.expireAfterWrite,
        one.has("expire-after-access") ? one.duration("expire-after-access", Duration.ZERO, MAX_EXPIRY)
            : d.expireAfterAccess,
        MapPersistence.read(one, d.persistence));
  }

  private static Mode mode(ConfigReader one) {
    String text = one.string("mode");
    return switch (text.toLowerCase(Locale.ROOT)) {
      case "store" -> Mode.STORE;
      case "cache" -> Mode.CACHE;
      default -> throw new SettingsException(one.key("mode"), "= " + text + " is not a mode: allowed store, cache");
    };
  }

  /** Settings of one map, in code. Each setter checks nothing; {@link #build()} checks everything. */
  public static final class Builder {
    private String name;
    private Mode mode;
    private int segments;
    private long maximumEntries;
    private long maximumBytes;
    private String evictionPolicy;
    private String demotionPolicy;
    private long l1Entries;
    private String l1Policy;
    private Duration expireAfterWrite;
    private Duration expireAfterAccess;
    private MapPersistence persistence;

    private Builder(MapSettings s) {
      name = s.name;
      mode = s.mode;
      segments = s.segments;
      maximumEntries = s.maximumEntries;
      maximumBytes = s.maximumBytes;
      evictionPolicy = s.evictionPolicy;
      demotionPolicy = s.demotionPolicy;
      l1Entries = s.l1Entries;
      l1Policy = s.l1Policy;
      expireAfterWrite = s.expireAfterWrite;
      expireAfterAccess = s.expireAfterAccess;
      persistence = s.persistence;
    }

    /** Durable in its own {@code directory} (see {@link MapPersistence}); other persistence keys unchanged. */
    public Builder durable(java.nio.file.Path directory) {
      persistence = persistence.withDirectory(directory);
      return this;
    }

    /** See {@link MapSettings#persistence()}. */
    public Builder persistence(MapPersistence value) {
      persistence = value;
      return this;
    }

    /** A store: never drops an entry (clears any cache bound). */
    public Builder store() {
      mode = Mode.STORE;
      maximumEntries = 0;
      maximumBytes = 0;
      return this;
    }

    /** A cache of at most {@code entries} entries. */
    public Builder maximumEntries(long entries) {
      mode = Mode.CACHE;
      maximumEntries = entries;
      maximumBytes = 0;
      return this;
    }

    /** A cache of at most {@code bytes} key and value bytes. */
    public Builder maximumBytes(long bytes) {
      mode = Mode.CACHE;
      maximumBytes = bytes;
      maximumEntries = 0;
      return this;
    }

    /** See {@link MapSettings#segments()}. */
    public Builder segments(int value) {
      segments = value;
      return this;
    }

    /** See {@link MapSettings#evictionPolicy()}. */
    public Builder evictionPolicy(String value) {
      evictionPolicy = value;
      return this;
    }

    /** See {@link MapSettings#demotionPolicy()}. */
    public Builder demotionPolicy(String value) {
      demotionPolicy = value;
      return this;
    }

    /** An on-heap level of {@code entries} decoded values, dropped by {@code policy}. */
    public Builder l1(long entries, String policy) {
      l1Entries = entries;
      l1Policy = policy;
      return this;
    }

    /** See {@link MapSettings#expireAfterWrite()}. */
    public Builder expireAfterWrite(Duration value) {
      expireAfterWrite = value;
      return this;
    }

    /** See {@link MapSettings#expireAfterAccess()}. */
    public Builder expireAfterAccess(Duration value) {
      expireAfterAccess = value;
      return this;
    }

    /**
     * The settings.
     *
     * @throws SettingsException naming the first field that is not allowed
     */
    public MapSettings build() {
      return new MapSettings(name, mode, segments, maximumEntries, maximumBytes, evictionPolicy, demotionPolicy,
          l1Entries, l1Policy, expireAfterWrite, expireAfterAccess, persistence);
    }
  }
}
