package dev.spillway.codec;

import dev.spillway.config.CodecSettings;
import dev.spillway.config.SettingsException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The codecs a segment log may write and must be able to read, by id: {@code 0} raw, {@code 1} LZ4,
 * {@code 2} Kryo, {@code 3} Zstd (ids are written into every record and never change; see
 * docs/FORMAT.md). Built once at start-up from {@link CodecSettings} plus any Kryo classes registered
 * through the API; immutable and thread-safe afterwards. Building one loads no native library: Zstd's
 * loads on its first use.
 */
public final class Codecs {
  /** The names {@link #byName} takes, in the order messages list them. */
  public static final List<String> NAMES = List.of("raw", "lz4", "zstd");

  private final RawCodec raw = new RawCodec();
  private final Lz4Codec lz4;
  private final KryoCodec kryo;
  private final ZstdCodec zstd;
  private final Codec[] byId;

  private Codecs(CodecSettings settings, KryoCodec kryo) {
    this.lz4 = new Lz4Codec(settings.lz4MinGain());
    this.kryo = kryo;
    this.zstd = new ZstdCodec(settings.zstdLevel(), settings.zstdMinGain());
    this.byId = new Codec[] {raw, lz4, kryo, zstd};
  }

  /** Codecs from settings alone. */
  public static Codecs from(CodecSettings settings) {
    return builder(settings).build();
  }

  /** A builder over {@code settings}, to register Kryo classes through the API as well. */
  public static Builder builder(CodecSettings settings) {
    return new Builder(settings);
  }

  /** Stores bytes unchanged. */
  public Codec raw() {
    return raw;
  }

  /** LZ4, falling back to raw when the gain is under the configured minimum. */
  public Codec lz4() {
    return lz4;
  }

  /**
   * Zstd at {@code spillway.codec.zstd.level}, falling back to raw when the gain is under {@code
   * spillway.codec.zstd.min-gain}.
   */
  public Codec zstd() {
    return zstd;
  }

  /**
   * The byte codec called {@code name}: {@code raw}, {@code lz4} or {@code zstd} (any case, spaces
   * around ignored), as configured here. Kryo is no byte codec (it stores objects already
   * serialized) and has no name here.
   *
   * @throws IllegalArgumentException naming the value and the allowed names, for any other name
   */
  public Codec byName(String name) {
    String n = name == null ? "" : name.trim().toLowerCase(java.util.Locale.ROOT);
    return switch (n) {
      case "raw" -> raw;
      case "lz4" -> lz4;
      case "zstd" -> zstd;
      default -> throw new IllegalArgumentException("unknown codec \"" + name + "\": allowed "
          + String.join(", ", NAMES));
    };
  }

  /**
   * Loads what {@code codec} needs before its first use, so that a start configured with it fails at
   * once, saying why, rather than at the first spill. Only Zstd's native library can fail here.
   *
   * @throws CodecException when {@code codec} cannot be used on this platform
   */
  public void checkAvailable(Codec codec) {
    if (codec == zstd) {
      zstd.checkAvailable();
    }
  }

  /** The Kryo object codec. */
  public KryoCodec kryo() {
    return kryo;
  }

  /** The codec with {@code id}, or {@code null} when no codec has it (a corrupt or foreign record). */
  public Codec byId(int id) {
    return id >= 0 && id < byId.length ? byId[id] : null;
  }

  /** Collects Kryo classes registered through the API before the codecs are built. */
  public static final class Builder {
    private final CodecSettings settings;
    private final Set<Class<?>> kryoClasses = new LinkedHashSet<>();

    private Builder(CodecSettings settings) {
      this.settings = settings;
    }

    /** Registers {@code classes} with Kryo, before those named in configuration. */
    public Builder registerKryo(Class<?>... classes) {
      for (Class<?> c : classes) {
        kryoClasses.add(c);
      }
      return this;
    }

    public Codecs build() {
      List<Class<?>> all = new ArrayList<>(kryoClasses);
      for (String name : settings.kryoClasses()) {
        Class<?> c = CodecSettings.loadClass(CodecSettings.KRYO_CLASSES_KEY, name);
        if (!all.contains(c)) {
          all.add(c);
        }
      }
      KryoCodec kryo;
      try {
        kryo = new KryoCodec(all);
      } catch (RuntimeException e) {
        throw new SettingsException(CodecSettings.KRYO_CLASSES_KEY, "lists a class Kryo cannot register: " + e, e);
      }
      return new Codecs(settings, kryo);
    }
  }
}
