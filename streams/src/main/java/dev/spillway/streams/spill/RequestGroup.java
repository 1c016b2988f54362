package dev.spillway.streams.spill;

import dev.spillway.memory.spi.PreparedSpill;
import java.util.ArrayList;
import java.util.List;

/** Requests prepared together. */
final class RequestGroup {
  final List<SpillRequest> requests = new ArrayList<>();
  PreparedSpill prepared;
  /** Per request: pending (frozen and encoded) before the write, so a failed write fails it. */
  boolean[] pendingBefore;

  RequestGroup(List<SpillRequest> requests) {
    this.requests.addAll(requests);
    for (SpillRequest r : requests) {
      r.group = this;
    }
  }

  long[] handles() {
    long[] h = new long[requests.size()];
    for (int i = 0; i < h.length; i++) {
      h[i] = requests.get(i).handle;
    }
    return h;
  }

  /**
   * Stored payload bytes, the weight of a batch: headers are left out so that blocks of exactly
   * batch-bytes / n bytes stored raw make batches of n, like a raw write of the same bytes.
   */
  long payloadBytes() {
    return prepared == null ? 0 : prepared.storedBytes() - SpillPipeline.RECORD_OVERHEAD * prepared.pendingBlocks();
  }
}
