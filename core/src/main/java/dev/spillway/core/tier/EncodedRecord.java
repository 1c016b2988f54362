package dev.spillway.core.tier;

import java.nio.ByteBuffer;

/**
 * A data record encoded ahead of its append ({@link SegmentLog#encode}): the codec has run, and the
 * stored payload sits in memory the record owns (or, for a write encoded without a copy, in the
 * caller's memory, which must then stay unchanged until the append). Encoding is where the CPU goes
 * (LZ4), so a pipeline encodes on several threads and appends batches of these on one
 * ({@link SegmentLog#appendEncoded}). Call {@link #release()} once the append returned or failed; a
 * record is not thread-safe, but may be handed from the encoding thread to the writing one.
 */
public final class EncodedRecord extends SegmentWriter.Pending {
  private ByteBuffer owned;
  private boolean released;

  EncodedRecord(long key, int generation, int codec, int rawLength, ByteBuffer stored, ByteBuffer owned) {
    super(SegmentDescriptor.KIND_DATA, codec, generation, key, rawLength, stored);
    this.owned = owned;
  }

  /** The record's key. */
  @Override
  public long key() {
    return key;
  }

  /** The id of the codec the record is stored with (the raw codec's when compression did not pay). */
  public int codecId() {
    return codec;
  }

  /** Bytes before encoding. */
  @Override
  public int rawLength() {
    return rawLength;
  }

  /** Bytes the record takes in a segment, header included. */
  @Override
  public int length() {
    return SegmentDescriptor.RECORD_HEADER_LENGTH + stored.remaining();
  }

  /** Returns the memory the record owns to its pool; idempotent. Reading it afterwards is an error. */
  public void release() {
    ByteBuffer b = owned;
    owned = null;
    released = true;
    if (b != null) {
      DirectBuffers.SHARED.give(b);
    }
  }

  /** The record as the writer's pending write: itself, once checked not released. */
  SegmentWriter.Pending pending() {
    if (released) {
      throw new IllegalStateException("record of key " + key + " was released before its append");
    }
    return this;
  }
}
