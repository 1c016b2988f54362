package dev.spillway.core.tier;

import dev.spillway.codec.Codec;
import dev.spillway.codec.Codecs;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * Turns a block's bytes into an {@link EncodedRecord} ready to append: raw and Kryo payloads are stored
 * as they are (copied only when asked), LZ4 compresses into a pooled direct buffer
 * ({@link DirectBuffers#SHARED}) and falls back to the raw bytes when it does not pay. Thread-safe: it
 * holds only the log's codecs, so many threads encode at once while one appends.
 */
final class RecordEncoder {
  private final Codecs codecs;

  RecordEncoder(Codecs codecs) {
    this.codecs = codecs;
  }

  /** See {@link SegmentLog#encode(Write, boolean)}. */
  EncodedRecord encode(Write w, boolean copy) {
    long rawLength = w.data().byteSize();
    if (rawLength > SegmentDescriptor.MAX_RAW_LENGTH) {
      throw new IllegalArgumentException("record of key " + w.key() + " has " + rawLength
          + " bytes: allowed at most " + SegmentDescriptor.MAX_RAW_LENGTH + " (1 GiB)");
    }
    Codec codec = ours(w.codec(), w.key());
    ByteBuffer raw = w.data().asByteBuffer();
    if (!storesRaw(codec, rawLength)) {
      EncodedRecord compressed = compress(w.key(), w.generation(), codec, raw, 0, (int) rawLength);
      if (compressed != null) {
        return compressed;
      }
      codec = codecs.raw();
    }
    if (!copy) {
      return new EncodedRecord(w.key(), w.generation(), codec.id(), (int) rawLength, raw, null);
    }
    ByteBuffer out = DirectBuffers.SHARED.take((int) rawLength);
    MemorySegment.copy(w.data(), 0, MemorySegment.ofBuffer(out), 0, rawLength);
    return new EncodedRecord(w.key(), w.generation(), codec.id(), (int) rawLength, out, out);
  }

  /** See {@link SegmentLog#encode(long, int, Codec, ByteBuffer, int, int)}: always a copy. */
  EncodedRecord encode(long key, int generation, Codec codec, ByteBuffer source, int offset, int length) {
    java.util.Objects.checkFromIndexSize(offset, length, source.limit());
    Codec with = ours(codec, key);
    if (!storesRaw(with, length)) {
      EncodedRecord compressed = compress(key, generation, with, source, offset, length);
      if (compressed != null) {
        return compressed;
      }
      with = codecs.raw();
    }
    ByteBuffer out = DirectBuffers.SHARED.take(length);
    out.put(0, source, offset, length);
    return new EncodedRecord(key, generation, with.id(), length, out, out);
  }

  /**
   * {@code source[offset, offset + length)} compressed with {@code codec} into a pooled buffer the
   * record owns; null (and the buffer back in the pool) when the codec says to store it raw.
   */
  private static EncodedRecord compress(long key, int generation, Codec codec, ByteBuffer source, int offset,
      int length) {
    // The raw length is room enough (Codec#encode): an encoding longer than the bytes it encodes is
    // stored raw anyway, and LZ4's bound would put a 4 KiB block's output in an 8 KiB buffer.
    ByteBuffer out = DirectBuffers.SHARED.take((int) Math.min(codec.maxStoredLength(length), length));
    boolean kept = false;
    try {
      int stored = codec.encode(source, offset, length, out);
      if (stored == Codec.STORE_RAW) {
        return null;
      }
      kept = true;
      // The record's payload is the pooled buffer itself, framed [0, stored): no slice to allocate.
      return new EncodedRecord(key, generation, codec.id(), length, out.limit(stored).position(0), out);
    } finally {
      if (!kept) {
        DirectBuffers.SHARED.give(out);
      }
    }
  }

  // Identity on purpose: a codec of other Codecs with the same id may be configured differently.
  @SuppressWarnings("ReferenceEquality")
  private Codec ours(Codec codec, long key) {
    if (codecs.byId(codec.id()) != codec) {
      throw new IllegalArgumentException("codec " + codec + " of key " + key
          + " does not belong to this log's Codecs: use the codecs the log was opened with");
    }
    return codec;
  }

  /** Whether {@code codec} stores a record of this raw length as the raw bytes themselves. */
  static boolean storesRaw(Codec codec, long rawLength) {
    return codec.maxStoredLength(rawLength) == rawLength;
  }
}
