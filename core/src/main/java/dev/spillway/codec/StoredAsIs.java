package dev.spillway.codec;

import java.nio.ByteBuffer;

/**
 * A codec whose stored bytes are its raw bytes: raw records, and Kryo objects (already serialized
 * when they reach the log). Stored length always equals raw length; decode refuses anything else.
 */
abstract class StoredAsIs implements Codec {

  @Override
  public final long maxStoredLength(long rawLength) {
    return rawLength;
  }

  @Override
  public final long maxRawLength(long storedLength) {
    return storedLength;
  }

  @Override
  public final int encode(ByteBuffer raw, ByteBuffer stored) {
    return encode(raw, raw.position(), raw.remaining(), stored);
  }

  @Override
  public final int encode(ByteBuffer raw, int offset, int length, ByteBuffer stored) {
    stored.put(stored.position(), raw, offset, length);
    return length;
  }

  @Override
  public final void decode(ByteBuffer stored, ByteBuffer raw) {
    decode(stored, raw, raw.position(), raw.remaining());
  }

  @Override
  public final void decode(ByteBuffer stored, ByteBuffer raw, int offset, int length) {
    if (stored.remaining() != length) {
      throw new CodecException(name() + ": " + stored.remaining() + " stored bytes for a raw length of "
          + length + " (this codec stores exactly its raw bytes)");
    }
    raw.put(offset, stored, stored.position(), length);
  }
}
