package dev.spillway.streams.spill;

import dev.spillway.memory.SpillOutcome;
import java.util.concurrent.CompletableFuture;

/**
 * One spill request: a handle, its block's size (the group weight), and where its answer goes: a
 * future of its own, or its share of a {@link BulkAnswer}.
 */
final class SpillRequest {
  final long handle;
  final long size;
  final CompletableFuture<SpillOutcome> answer;
  final BulkAnswer bulk;
  /**
   * Its group once grouped; read by the sweep only for groups it found busy under
   * {@code transit}, which the stage set this before it took.
   */
  RequestGroup group;

  SpillRequest(long handle, long size, BulkAnswer bulk) {
    this.handle = handle;
    this.size = size;
    this.bulk = bulk;
    this.answer = bulk == null ? new CompletableFuture<>() : null;
  }

  /** The group weight: KiB, rounded up. */
  long kib() {
    return (size + 1023) >>> 10;
  }

  void succeed(SpillOutcome outcome) {
    if (bulk != null) {
      bulk.arrive(null);
    } else {
      answer.complete(outcome);
    }
  }

  void fail(Throwable error) {
    if (bulk != null) {
      bulk.arrive(error);
    } else {
      answer.completeExceptionally(error);
    }
  }
}
