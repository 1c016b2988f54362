package dev.spillway.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;

/**
 * All of Spillway's settings, read once from the {@code spillway} section of a HOCON {@link Config}
 * and validated as a whole: a bad value fails here, at start-up, with a {@link SettingsException}
 * naming the key, the value and what is allowed. Every other module takes these records, never raw
 * {@code Config}.
 */
public record SpillwaySettings(
    MemorySettings memory, TierSettings tier, CodecSettings codec, SpillSettings spill,
    StreamSettings streams, ControlSettings control, MetricsSettings metrics,
    java.util.Map<String, MapSettings> maps) {

  /** The root path of Spillway's keys. */
  public static final String ROOT = "spillway";

  /** Settings from {@code application.conf} / system properties over {@code reference.conf}. */
  public static SpillwaySettings load() {
    return from(ConfigFactory.load());
  }

  /** Embedded defaults: {@code reference.conf} only. */
  public static SpillwaySettings defaults() {
    return from(ConfigFactory.defaultReference());
  }

  /**
   * Settings from {@code config}; missing keys are taken from {@code reference.conf}. Every key under
   * {@code spillway} must be one that reference.conf defines: all that are not are refused together,
   * each named with where it was set and the closest real key ({@link KnownKeys}); keys outside
   * {@code spillway} are left alone.
   */
  public static SpillwaySettings from(Config config) {
    Config resolved = config.withFallback(ConfigFactory.defaultReference()).resolve();
    // Unknown keys first: a misspelt key is the likelier cause of any other problem, and is otherwise silent.
    UnknownKeys.check(resolved, KnownKeys.reference());
    ConfigReader root = new ConfigReader(resolved, ROOT);
    return new SpillwaySettings(
        MemorySettings.read(root.child("memory")),
        TierSettings.read(root.child("tier")),
        CodecSettings.read(root.child("codec")),
        SpillSettings.read(root.child("spill")),
        StreamSettings.read(root.child("streams")),
        ControlSettings.read(root.child("control")),
        MetricsSettings.read(root.child("metrics")),
        MapSettings.read(root));
  }

  /** Compact constructor: keeps an unmodifiable copy of {@code maps}, which must hold {@code default}. */
  public SpillwaySettings {
    maps = java.util.Map.copyOf(maps);
    if (!maps.containsKey(MapSettings.DEFAULT)) {
      throw new SettingsException(ROOT + ".maps.default", "is missing: every map falls back to it");
    }
  }

  /**
   * The settings of the map called {@code name}: {@code spillway.maps.<name>} over {@code
   * spillway.maps.default}, or the default's under that name when the map has no section.
   *
   * @throws IllegalArgumentException when {@code name} is not a valid map name
   */
  public MapSettings mapSettings(String name) {
    MapSettings.checkName(name);
    MapSettings own = maps.get(name);
    return own != null ? own : maps.get(MapSettings.DEFAULT).withName(name);
  }

  /** A copy with other settings for the map {@code value.name()} (its default if named {@code default}). */
  public SpillwaySettings withMap(MapSettings value) {
    java.util.Map<String, MapSettings> copy = new java.util.TreeMap<>(maps);
    copy.put(value.name(), value);
    return new SpillwaySettings(memory, tier, codec, spill, streams, control, metrics, copy);
  }

  /** A copy with other memory settings. */
  public SpillwaySettings withMemory(MemorySettings value) {
    return new SpillwaySettings(value, tier, codec, spill, streams, control, metrics, maps);
  }

  /** A copy with other tier settings. */
  public SpillwaySettings withTier(TierSettings value) {
    return new SpillwaySettings(memory, value, codec, spill, streams, control, metrics, maps);
  }

  /** A copy with other spill settings. */
  public SpillwaySettings withSpill(SpillSettings value) {
    return new SpillwaySettings(memory, tier, codec, value, streams, control, metrics, maps);
  }

  /** A copy with other stream settings. */
  public SpillwaySettings withStreams(StreamSettings value) {
    return new SpillwaySettings(memory, tier, codec, spill, value, control, metrics, maps);
  }

  /** A copy with other control-plane settings. */
  public SpillwaySettings withControl(ControlSettings value) {
    return new SpillwaySettings(memory, tier, codec, spill, streams, value, metrics, maps);
  }

  /** A copy with other metrics settings. */
  public SpillwaySettings withMetrics(MetricsSettings value) {
    return new SpillwaySettings(memory, tier, codec, spill, streams, control, value, maps);
  }
}
