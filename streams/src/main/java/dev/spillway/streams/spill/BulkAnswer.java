package dev.spillway.streams.spill;

import dev.spillway.memory.InvalidHandleException;
import java.util.concurrent.CompletableFuture;

/** The answer of a {@link SpillPipeline#spillAll}: complete when every request arrived, failed by the first failure. */
final class BulkAnswer {
  final CompletableFuture<Void> done = new CompletableFuture<>();
  private final java.util.concurrent.atomic.AtomicInteger remaining;
  private volatile Throwable failure;

  BulkAnswer(int count) {
    this.remaining = new java.util.concurrent.atomic.AtomicInteger(count);
    if (count == 0) {
      done.complete(null);
    }
  }

  void arrive(Throwable error) {
    if (error != null) {
      synchronized (this) {
        // The first failure, except that any other kind outranks an invalid handle (a block freed
        // since it was chosen, routine for a round of idle blocks).
        if (failure == null || (failure instanceof InvalidHandleException && !(error instanceof InvalidHandleException))) {
          failure = error;
        }
      }
    }
    if (remaining.decrementAndGet() == 0) {
      Throwable f = failure;
      if (f == null) {
        done.complete(null);
      } else {
        done.completeExceptionally(f);
      }
    }
  }
}
