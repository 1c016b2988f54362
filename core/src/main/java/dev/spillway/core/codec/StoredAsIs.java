package dev.spillway.core.codec;

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
    stored.duplicate().put(raw.duplicate());
    return raw.remaining();
  }

  @Override
  public final void decode(ByteBuffer stored, ByteBuffer raw) {
    if (stored.remaining() != raw.remaining()) {
      throw new CodecException(name() + ": " + stored.remaining() + " stored bytes for a raw length of "
          + raw.remaining() + " (this codec stores exactly its raw bytes)");
    }
    raw.duplicate().put(stored.duplicate());
  }
}
