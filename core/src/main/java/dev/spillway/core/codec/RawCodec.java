package dev.spillway.core.codec;

import java.nio.ByteBuffer;

/** Stores the raw bytes unchanged; the fallback of every codec that declines to encode. */
final class RawCodec implements Codec {
  static final int ID = 0;

  @Override
  public int id() {
    return ID;
  }

  @Override
  public String name() {
    return "raw";
  }

  @Override
  public long maxStoredLength(long rawLength) {
    return rawLength;
  }

  @Override
  public long maxRawLength(long storedLength) {
    return storedLength;
  }

  @Override
  public int encode(ByteBuffer raw, ByteBuffer stored) {
    stored.duplicate().put(raw.duplicate());
    return raw.remaining();
  }

  @Override
  public void decode(ByteBuffer stored, ByteBuffer raw) {
    if (stored.remaining() != raw.remaining()) {
      throw new CodecException("raw: " + stored.remaining() + " stored bytes for a raw length of "
          + raw.remaining() + " (a raw record stores exactly its raw bytes)");
    }
    raw.duplicate().put(stored.duplicate());
  }

  @Override
  public String toString() {
    return "raw";
  }
}
