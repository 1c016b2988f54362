package dev.spillway.map;

import dev.spillway.codec.KryoCodec;
import dev.spillway.config.MapSettings;
import dev.spillway.memory.BlockAllocator;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * Opens {@link SpillMap}s over an allocator. The facade ({@code Spillway#map}) is the usual way in;
 * this is for code that holds a {@link BlockAllocator} of its own.
 */
public final class SpillMaps {
  private SpillMaps() {}

  /**
   * A builder of a map of {@code keyType} to {@code valueType} over {@code memory}, with the settings
   * of {@code spillway.maps.default} under {@code name} until {@link Builder#settings} says otherwise.
   * Types with a built-in codec ({@link MapCodecs#of}) need nothing more; other types need {@link
   * Builder#kryo} or a codec of their own.
   */
  public static <K, V> Builder<K, V> builder(BlockAllocator memory, String name, Class<K> keyType,
      Class<V> valueType) {
    return new Builder<>(memory, name, keyType, valueType);
  }

  /**
   * Checks the snapshot in {@code snapshot} (taken by {@link SpillMap#snapshot}) against its manifest
   * without changing anything: the manifest's own checksum, then every file's size and SHA-256, and
   * no file besides them. Returns what is wrong, one line each; empty when it is whole.
   *
   * @throws java.io.UncheckedIOException when the directory cannot be read
   */
  public static java.util.List<String> verifySnapshot(java.nio.file.Path snapshot) {
    Objects.requireNonNull(snapshot, "snapshot");
    try {
      return dev.spillway.core.tier.MapSnapshot.verify(snapshot);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("snapshot " + snapshot + ": " + e.getMessage(), e);
    }
  }

  /**
   * Copies the snapshot in {@code snapshot} into {@code target} (a new or empty directory, made 0700)
   * once {@link #verifySnapshot} finds it whole; {@code target} then opens as an ordinary durable map
   * ({@code directory = target}). To read a snapshot where it is, open it with {@code read-only = true}.
   *
   * @throws java.io.UncheckedIOException listing what is wrong with the snapshot (nothing is copied
   *     then), or with the target
   */
  public static void restoreSnapshot(java.nio.file.Path snapshot, java.nio.file.Path target) {
    Objects.requireNonNull(snapshot, "snapshot");
    Objects.requireNonNull(target, "target");
    try {
      dev.spillway.core.tier.MapSnapshot.restore(snapshot, target);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e.getMessage(), e);
    }
  }

  /** Collects what a map needs; {@link #build()} checks it all. */
  public static final class Builder<K, V> {
    private final BlockAllocator memory;
    private final Class<K> keyType;
    private final Class<V> valueType;
    private MapSettings settings;
    private MapCodec<K> keyCodec;
    private MapCodec<V> valueCodec;
    private KryoCodec kryo;
    private RemovalListener<K, V> listener;
    private LongSupplier ticker = System::nanoTime;

    private Builder(BlockAllocator memory, String name, Class<K> keyType, Class<V> valueType) {
      this.memory = Objects.requireNonNull(memory, "memory");
      MapSettings.checkName(name);
      this.keyType = Objects.requireNonNull(keyType, "keyType");
      this.valueType = Objects.requireNonNull(valueType, "valueType");
      this.settings = MapSettings.builder(name).build();
    }

    /** The map's settings; their name becomes the map's. */
    public Builder<K, V> settings(MapSettings value) {
      settings = Objects.requireNonNull(value, "settings");
      return this;
    }

    /** The codec of keys, instead of the built-in one or Kryo. */
    public Builder<K, V> keyCodec(MapCodec<K> codec) {
      keyCodec = Objects.requireNonNull(codec, "keyCodec");
      return this;
    }

    /** The codec of values, instead of the built-in one or Kryo. */
    public Builder<K, V> valueCodec(MapCodec<V> codec) {
      valueCodec = Objects.requireNonNull(codec, "valueCodec");
      return this;
    }

    /** The Kryo codec for key or value types that have no built-in codec (registration required). */
    public Builder<K, V> kryo(KryoCodec codec) {
      kryo = Objects.requireNonNull(codec, "kryo");
      return this;
    }

    /** Told of every removal and replacement, with its cause. */
    public Builder<K, V> removalListener(RemovalListener<K, V> value) {
      listener = Objects.requireNonNull(value, "removalListener");
      return this;
    }

    /** The clock of expiry, in nanoseconds ({@code System::nanoTime} unless a test needs its own). */
    public Builder<K, V> ticker(LongSupplier value) {
      ticker = Objects.requireNonNull(value, "ticker");
      return this;
    }

    /**
     * The map.
     *
     * @throws IllegalArgumentException when a type has no codec (naming it and the ways to give one),
     *     or a codec's type is not the map's
     */
    public SpillMap<K, V> build() {
      MapCodec<K> keys = codec(keyCodec, keyType, "key");
      MapCodec<V> values = codec(valueCodec, valueType, "value");
      return new OffHeapSpillMap<>(memory, settings, keys, values, listener, ticker);
    }

    private <T> MapCodec<T> codec(MapCodec<T> given, Class<T> type, String what) {
      if (given != null) {
        if (!type.isAssignableFrom(given.type())) {
          throw new IllegalArgumentException("map '" + settings.name() + "': the " + what + " codec encodes "
              + given.type().getName() + ", not " + type.getName());
        }
        return given;
      }
      if (MapCodecs.isBuiltIn(type)) {
        return MapCodecs.of(type);
      }
      if (kryo == null) {
        throw new IllegalArgumentException("map '" + settings.name() + "': " + what + " type " + type.getName()
            + " has no built-in codec: register it with Kryo (spillway.codec.kryo.classes, then"
            + " builder.kryo(...)) or give a MapCodec");
      }
      return MapCodecs.kryo(type, kryo);
    }
  }
}
