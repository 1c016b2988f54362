package dev.spillway.core.tier;

import dev.spillway.codec.Codec;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * One record to append: a key (for example a block handle's table index), the generation the caller
 * wants stored with it, the codec to try and the raw bytes. {@code data} may be off-heap; it is read
 * during {@link SegmentLog#append} and must not change until that call returns.
 */
public record Write(long key, int generation, Codec codec, MemorySegment data) {

  public Write {
    Objects.requireNonNull(codec, "codec");
    Objects.requireNonNull(data, "data");
  }

  /** A write of a heap array. */
  public static Write of(long key, int generation, Codec codec, byte[] data) {
    return new Write(key, generation, codec, MemorySegment.ofArray(data));
  }
}
