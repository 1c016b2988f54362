package dev.spillway.streams.spill;

import java.time.Duration;

/**
 * The writer's pause after failed batches: {@code min} after the first failure, doubling per
 * consecutive failure up to {@code max}, gone after a batch that succeeds. Used by the one write in
 * progress only (the write stage runs one at a time), so it needs no synchronization of its own.
 */
final class WriteBackoff {
  private final long minNanos;
  private final long maxNanos;
  private long backoffNanos;
  private long pauseUntilNanos;

  WriteBackoff(Duration min, Duration max) {
    this.minNanos = min.toNanos();
    this.maxNanos = max.toNanos();
  }

  /** How long the next write must still wait; 0 or less: none. */
  long remainingNanos() {
    return pauseUntilNanos - System.nanoTime();
  }

  void succeeded() {
    backoffNanos = 0;
    pauseUntilNanos = 0;
  }

  void failed() {
    backoffNanos = backoffNanos == 0 ? minNanos : Math.min(maxNanos, backoffNanos * 2);
    pauseUntilNanos = System.nanoTime() + backoffNanos;
  }
}
