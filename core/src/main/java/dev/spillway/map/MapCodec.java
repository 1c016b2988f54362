package dev.spillway.map;

import java.lang.foreign.MemorySegment;

/**
 * Turns a map's keys or values into bytes and back. The map stores only bytes: two keys are the
 * same key exactly when their encoded bytes are equal, so a key codec must encode equal keys to equal
 * bytes (deterministically, whatever the JVM run); values are compared by their bytes too ({@code
 * remove(key, value)}, {@code replace(key, old, new)}).
 *
 * <p>Built-in codecs ({@link MapCodecs#of}) cover {@code byte[]}, {@code ByteBuffer}, {@code
 * MemorySegment}, {@code String} (UTF-8) and the boxed primitives; other classes go through Kryo with
 * registration required ({@link MapCodecs#kryo}) or a codec of the application's own. Codecs are
 * called from many threads at once and must be thread-safe.
 *
 * @param <T> the type encoded
 */
public interface MapCodec<T> {

  /** The class this codec encodes (values of other classes are refused before anything is stored). */
  Class<T> type();

  /**
   * The bytes of {@code value} (never null), as a heap or native segment that stays valid and
   * unchanged until this thread calls {@code encode} on this codec again (a codec may reuse a
   * per-thread buffer); the map copies them before that.
   *
   * @throws RuntimeException when {@code value} cannot be encoded, with a message saying why
   */
  MemorySegment encode(T value);

  /**
   * The value {@code bytes} hold; they are valid only during the call, so a value that keeps bytes
   * must copy them.
   *
   * @throws RuntimeException when the bytes are not a value of this codec
   */
  T decode(MemorySegment bytes);
}
