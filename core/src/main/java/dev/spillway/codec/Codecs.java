package dev.spillway.codec;

import dev.spillway.config.CodecSettings;
import dev.spillway.config.SettingsException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The codecs a segment log may write and must be able to read, by id: {@code 0} raw, {@code 1} LZ4,
 * {@code 2} Kryo. Built once at start-up from {@link CodecSettings} plus any Kryo classes registered
 * through the API; immutable and thread-safe afterwards.
 */
public final class Codecs {
  private final RawCodec raw = new RawCodec();
  private final Lz4Codec lz4;
  private final KryoCodec kryo;
  private final Codec[] byId;

  private Codecs(double lz4MinGain, KryoCodec kryo) {
    this.lz4 = new Lz4Codec(lz4MinGain);
    this.kryo = kryo;
    this.byId = new Codec[] {raw, lz4, kryo};
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
      return new Codecs(settings.lz4MinGain(), kryo);
    }
  }
}
