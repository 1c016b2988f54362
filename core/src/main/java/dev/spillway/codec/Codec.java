package dev.spillway.codec;

import java.nio.ByteBuffer;

/**
 * Turns a record's raw bytes into the bytes stored on disk and back. A codec is stateless from the
 * caller's view and safe to use from many threads. Buffers may be heap or direct (views of off-heap
 * {@link java.lang.foreign.MemorySegment}s through {@code asByteBuffer()}); a codec reads its input
 * from position to limit, writes its output from position, and leaves every buffer's position and
 * limit untouched, so the caller can hand it slices of one large buffer without copies.
 */
public interface Codec {

  /** Returned by {@link #encode} when the encoded form does not pay: store the record raw. */
  int STORE_RAW = -1;

  /** The id written into each record; stable forever for a given format version. */
  int id();

  /** A short name for messages: {@code raw}, {@code lz4}, {@code kryo}. */
  String name();

  /** The most bytes {@link #encode} can produce for {@code rawLength} raw bytes (the format's bound). */
  long maxStoredLength(long rawLength);

  /**
   * The most raw bytes {@code storedLength} stored bytes can decode to; lets a reader reject a forged
   * raw length before sizing a buffer from it.
   */
  long maxRawLength(long storedLength);

  /**
   * Encodes {@code raw} into {@code stored}, which has at least {@code maxStoredLength(raw.remaining())}
   * bytes remaining, or at least {@code raw.remaining()}: an encoded form that does not fit in as many
   * bytes as the raw ones does not pay, and is {@link #STORE_RAW} (so a caller may offer a buffer of
   * the raw length, half what LZ4's bound would take for a 4 KiB block). Returns the stored length, or
   * {@link #STORE_RAW}.
   */
  int encode(ByteBuffer raw, ByteBuffer stored);

  /**
   * Decodes {@code stored} into {@code raw}, whose remaining bytes are exactly the record's raw length;
   * fails with {@link CodecException} unless the stored bytes decode to exactly that many bytes.
   */
  void decode(ByteBuffer stored, ByteBuffer raw);

  /**
   * {@link #encode} of {@code raw[offset, offset + length)}, addressed absolutely within {@code raw}'s
   * limit: its position is neither used nor moved, so one view of a large region (a slab) serves every
   * thread without a slice per call.
   */
  default int encode(ByteBuffer raw, int offset, int length, ByteBuffer stored) {
    return encode(raw.slice(offset, length), stored);
  }

  /** {@link #decode} into {@code raw[offset, offset + length)}, addressed absolutely as in {@link #encode(ByteBuffer, int, int, ByteBuffer)}. */
  default void decode(ByteBuffer stored, ByteBuffer raw, int offset, int length) {
    decode(stored, raw.slice(offset, length));
  }
}
