package dev.spillway.streams.spill;

import dev.spillway.memory.spi.PreparedSpill;

/**
 * Requests that go through the stages together: gathered by the pipeline's collector (up to a quarter
 * of a batch, {@link SpillPipeline#MAX_GROUP} requests, or what came within
 * {@link SpillPipeline#GROUP_DELAY}), so that the stream, the hand-overs and the answers cost once per
 * group, not per request.
 */
final class RequestGroup {
  final SpillRequest[] requests;
  int size;
  /** Sum of the requests' {@link SpillRequest#kib()}: the collector's weight. */
  long kib;
  /** Raw bytes of the requests' blocks: the batch weight of a group spilled in place. */
  long rawBytes;
  PreparedSpill prepared;
  /**
   * Spilled in place by the writer (encoding was cheap when the group reached the encoders): it is
   * prepared, without a copy, right before its write.
   */
  boolean inPlace;
  /** Per request: pending (frozen and encoded) before the write, so a failed write fails it. */
  boolean[] pendingBefore;
  /**
   * Set by the writer once its write is over (its outcomes are final), before it hands the group on
   * under the pipeline's {@code transit} lock; whoever answers it later reads it under that lock too.
   */
  boolean written;
  /** Why the write of its batch failed, or null. */
  RuntimeException writeFailure;

  RequestGroup(int capacity) {
    this.requests = new SpillRequest[capacity];
  }

  void add(SpillRequest r) {
    requests[size++] = r;
    kib += r.kib();
    rawBytes += r.size;
  }

  long[] handles() {
    long[] h = new long[size];
    for (int i = 0; i < h.length; i++) {
      h[i] = requests[i].handle;
    }
    return h;
  }

  /**
   * The weight of the group in a batch. Prepared: the stored payload bytes (headers are left out so
   * that blocks of exactly batch-bytes / n bytes stored raw make batches of n, like a raw write of the
   * same bytes). Spilled in place: the raw bytes, which it will store about as they are.
   */
  long payloadBytes() {
    if (inPlace) {
      return rawBytes;
    }
    return prepared == null ? 0 : prepared.storedBytes() - SpillPipeline.RECORD_OVERHEAD * prepared.pendingBlocks();
  }
}
