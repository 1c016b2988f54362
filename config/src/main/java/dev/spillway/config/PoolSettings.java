package dev.spillway.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Limits of the size-class pools and the rules by which the control plane grows and shrinks them
 * ({@code spillway.memory.pools}).
 *
 * @param initialBytes default capacity reserved per class at start (rounded up to whole slabs)
 * @param maxBytes default capacity a class may reach
 * @param classes per-class overrides keyed by class size in bytes (sorted)
 * @param growWhenUsed grow when at least this fraction of capacity is in use
 * @param growStep grow by this fraction of the maximum
 * @param shrinkWhenFree shrink when more than this fraction of capacity is free
 * @param shrinkStep release empty slabs worth up to this fraction of the maximum
 */
public record PoolSettings(
    long initialBytes,
    long maxBytes,
    Map<Long, ClassOverride> classes,
    double growWhenUsed,
    double growStep,
    double shrinkWhenFree,
    double shrinkStep) {

  /** The largest per-class maximum accepted. */
  public static final long MAX_POOL_BYTES = 1L << 40;
  /** The keys a section of {@code spillway.memory.pools.classes} may hold; any other is refused as unknown. */
  public static final List<String> CLASS_KEYS = List.of("initial-blocks", "max-blocks");

  public PoolSettings {
    classes = Map.copyOf(classes);
  }

  /**
   * Limits for one class, in blocks; an empty field keeps the default.
   *
   * @param key the full configuration key, for error messages
   */
  public record ClassOverride(String key, Optional<Long> initialBlocks, Optional<Long> maxBlocks) {}

  static PoolSettings read(ConfigReader pools) {
    ConfigReader defaults = pools.child("default");
    long initial = defaults.bytes("initial-bytes", 0, MAX_POOL_BYTES);
    long max = defaults.bytes("max-bytes", 1, MAX_POOL_BYTES);
    if (initial > max) {
      throw new SettingsException(defaults.key("initial-bytes"), "= " + Sizes.format(initial)
          + " exceeds " + defaults.key("max-bytes") + " = " + Sizes.format(max)
          + ": allowed 0 <= initial-bytes <= max-bytes");
    }
    return new PoolSettings(initial, max, readClasses(pools),
        pools.fraction("grow-when-used", false),
        pools.fraction("grow-step", false),
        pools.fraction("shrink-when-free", true),
        pools.fraction("shrink-step", false));
  }

  private static Map<Long, ClassOverride> readClasses(ConfigReader pools) {
    Map<Long, ClassOverride> out = new TreeMap<>();
    if (!pools.has("classes")) {
      return out;
    }
    Config classes = pools.raw("classes");
    for (Map.Entry<String, ConfigValue> e : classes.root().entrySet()) {
      String name = e.getKey();
      ConfigReader one = pools.child("classes").child(ConfigUtil.joinPath(name));
      String key = one.path();
      if (e.getValue().valueType() != ConfigValueType.OBJECT) {
        throw new SettingsException(key, "must be a section { initial-blocks = N, max-blocks = N }");
      }
      // Keys other than CLASS_KEYS inside it were refused already, with the unknown keys of the whole file.
      long size = ConfigReader.parseSize(key, name);
      Optional<Long> initial = one.has("initial-blocks")
          ? Optional.of(one.count("initial-blocks", 0, Integer.MAX_VALUE)) : Optional.empty();
      Optional<Long> max = one.has("max-blocks")
          ? Optional.of(one.count("max-blocks", 1, Integer.MAX_VALUE)) : Optional.empty();
      if (initial.isPresent() && max.isPresent() && initial.get() > max.get()) {
        throw new SettingsException(one.key("initial-blocks"), "= " + initial.get() + " exceeds max-blocks = "
            + max.get() + ": allowed 0 <= initial-blocks <= max-blocks");
      }
      if (out.put(size, new ClassOverride(key, initial, max)) != null) {
        throw new SettingsException(key, "names the class " + Sizes.format(size) + " a second time");
      }
    }
    return out;
  }
}
