package dev.spillway.config;

import java.util.Locale;
import java.util.Objects;

/**
 * How blocks spill to the NVMe tier ({@code spillway.spill}).
 *
 * @param codec how a spilled block's bytes are stored
 */
public record SpillSettings(SpillCodec codec) {

  /** The codec of spilled blocks. */
  public enum SpillCodec {
    /** LZ4, kept only when it saves at least {@code spillway.codec.lz4.min-gain}; raw otherwise. */
    LZ4,
    /** The bytes as they are. */
    RAW
  }

  public SpillSettings {
    Objects.requireNonNull(codec, "codec");
  }

  /** A copy with another codec. */
  public SpillSettings withCodec(SpillCodec value) {
    return new SpillSettings(value);
  }

  static SpillSettings read(ConfigReader spill) {
    String key = spill.key("codec");
    String value = spill.string("codec");
    try {
      return new SpillSettings(SpillCodec.valueOf(value.trim().toUpperCase(Locale.ROOT)));
    } catch (IllegalArgumentException e) {
      throw new SettingsException(key, "= \"" + value + "\" is not allowed: allowed lz4, raw", e);
    }
  }
}
