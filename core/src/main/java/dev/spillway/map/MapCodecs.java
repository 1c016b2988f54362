package dev.spillway.map;

import dev.spillway.codec.KryoCodec;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * The codecs Spillway ships: {@code byte[]} and {@code MemorySegment} as they are, {@code
 * ByteBuffer} from position to limit (decoded as a heap buffer), {@code String} as UTF-8, the boxed
 * primitives little-endian ({@code Double} and {@code Float} by their canonical bits, so that equal
 * boxes encode alike, as {@code equals} says), and any other class through Kryo.
 */
public final class MapCodecs {
  private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfChar CHAR = ValueLayout.JAVA_CHAR_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  private static final Map<Class<?>, MapCodec<?>> BUILT_IN = Map.ofEntries(
      Map.entry(byte[].class, new BytesCodec()),
      Map.entry(MemorySegment.class, new Simple<>(MemorySegment.class, s -> s,
          s -> MemorySegment.ofArray(s.toArray(ValueLayout.JAVA_BYTE)))),
      Map.entry(ByteBuffer.class, new Simple<>(ByteBuffer.class, MemorySegment::ofBuffer,
          s -> ByteBuffer.wrap(s.toArray(ValueLayout.JAVA_BYTE)))),
      Map.entry(String.class, new Simple<>(String.class, s -> MemorySegment.ofArray(s.getBytes(StandardCharsets.UTF_8)),
          s -> new String(s.toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8))),
      Map.entry(Long.class, new Fixed<>(Long.class, 8, (v, s) -> s.set(LONG, 0, v), s -> s.get(LONG, 0))),
      Map.entry(Integer.class, new Fixed<>(Integer.class, 4, (v, s) -> s.set(INT, 0, v), s -> s.get(INT, 0))),
      Map.entry(Short.class, new Fixed<>(Short.class, 2, (v, s) -> s.set(SHORT, 0, v), s -> s.get(SHORT, 0))),
      Map.entry(Character.class, new Fixed<>(Character.class, 2, (v, s) -> s.set(CHAR, 0, v), s -> s.get(CHAR, 0))),
      Map.entry(Byte.class, new Fixed<>(Byte.class, 1, (v, s) -> s.set(ValueLayout.JAVA_BYTE, 0, v),
          s -> s.get(ValueLayout.JAVA_BYTE, 0))),
      Map.entry(Boolean.class, new Fixed<>(Boolean.class, 1, (v, s) -> s.set(ValueLayout.JAVA_BYTE, 0, (byte) (v ? 1 : 0)),
          s -> switch (s.get(ValueLayout.JAVA_BYTE, 0)) {
            case 0 -> false;
            case 1 -> true;
            default -> throw new IllegalArgumentException("a Boolean is stored as 0 or 1, found " + s.get(ValueLayout.JAVA_BYTE, 0));
          })),
      Map.entry(Double.class, new Fixed<>(Double.class, 8, (v, s) -> s.set(LONG, 0, Double.doubleToLongBits(v)),
          s -> Double.longBitsToDouble(s.get(LONG, 0)))),
      Map.entry(Float.class, new Fixed<>(Float.class, 4, (v, s) -> s.set(INT, 0, Float.floatToIntBits(v)),
          s -> Float.intBitsToFloat(s.get(INT, 0)))));

  private MapCodecs() {}

  /**
   * The built-in codec of {@code type}.
   *
   * @throws IllegalArgumentException when {@code type} has none, listing those that have one
   */
  @SuppressWarnings("unchecked")
  public static <T> MapCodec<T> of(Class<T> type) {
    Objects.requireNonNull(type, "type");
    MapCodec<?> codec = BUILT_IN.get(type);
    if (codec == null) {
      throw new IllegalArgumentException(type.getName() + " has no built-in codec: built in are byte[], ByteBuffer,"
          + " MemorySegment, String, Long, Integer, Short, Character, Byte, Boolean, Double, Float; use"
          + " MapCodecs.kryo for a class registered with Kryo, or a MapCodec of your own");
    }
    return (MapCodec<T>) codec;
  }

  /** Whether {@code type} has a built-in codec. */
  public static boolean isBuiltIn(Class<?> type) {
    return BUILT_IN.containsKey(type);
  }

  /**
   * A codec of {@code type} through {@code kryo}, which must have {@code type} (and the classes of
   * its fields) registered: registration is required, so stored bytes can only ever become registered
   * classes. Keys encoded by Kryo must serialize deterministically (no hash-ordered collections).
   *
   * @throws IllegalArgumentException when {@code type} is not registered with {@code kryo}
   */
  public static <T> MapCodec<T> kryo(Class<T> type, KryoCodec kryo) {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(kryo, "kryo");
    if (!kryo.registeredClasses().contains(type)) {
      throw new IllegalArgumentException(type.getName() + " is not registered with Kryo (registration is"
          + " required): list it in spillway.codec.kryo.classes or register it through"
          + " Codecs.builder().registerKryo(...); registered now: " + kryo.registeredClasses());
    }
    return new Simple<>(type, v -> MemorySegment.ofArray(kryo.serialize(v)), s -> {
      Object o = kryo.deserialize(s);
      if (!type.isInstance(o)) {
        throw new IllegalArgumentException("stored bytes hold a " + (o == null ? "null" : o.getClass().getName())
            + ", not a " + type.getName());
      }
      return type.cast(o);
    });
  }

  /** {@code byte[]}: the array itself is the encoding; decoding copies. */
  static final class BytesCodec implements MapCodec<byte[]> {
    @Override
    public Class<byte[]> type() {
      return byte[].class;
    }

    @Override
    public MemorySegment encode(byte[] value) {
      return MemorySegment.ofArray(value);
    }

    @Override
    public byte[] decode(MemorySegment bytes) {
      return bytes.toArray(ValueLayout.JAVA_BYTE);
    }
  }

  private record Simple<T>(Class<T> type, Function<T, MemorySegment> encoder, Function<MemorySegment, T> decoder)
      implements MapCodec<T> {
    @Override
    public MemorySegment encode(T value) {
      return encoder.apply(value);
    }

    @Override
    public T decode(MemorySegment bytes) {
      return decoder.apply(bytes);
    }
  }

  /** A fixed-size value written into a per-thread buffer of its size. */
  private static final class Fixed<T> implements MapCodec<T> {
    interface Writer<T> {
      void write(T value, MemorySegment into);
    }

    private final Class<T> type;
    private final int size;
    private final Writer<T> writer;
    private final Function<MemorySegment, T> reader;
    private final ThreadLocal<MemorySegment> buffer;

    Fixed(Class<T> type, int size, Writer<T> writer, Function<MemorySegment, T> reader) {
      this.type = type;
      this.size = size;
      this.writer = writer;
      this.reader = reader;
      this.buffer = ThreadLocal.withInitial(() -> MemorySegment.ofArray(new byte[size]));
    }

    @Override
    public Class<T> type() {
      return type;
    }

    @Override
    public MemorySegment encode(T value) {
      MemorySegment s = buffer.get();
      writer.write(value, s);
      return s;
    }

    @Override
    public T decode(MemorySegment bytes) {
      if (bytes.byteSize() != size) {
        throw new IllegalArgumentException("a " + type.getSimpleName() + " is stored in " + size + " bytes, found "
            + bytes.byteSize());
      }
      return reader.apply(bytes);
    }
  }
}
