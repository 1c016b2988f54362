package dev.spillway;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Counts block accesses on the data path for the RAM hit ratio, at about the cost of a plain
 * increment: one cell per thread (by thread id, 32 cells, each on a cache line of its own), written
 * with a plain load and a release store instead of an atomic add (both plain moves on x86 and
 * cheap elsewhere); {@link #sum()} reads with acquire, so whatever a thread did before an
 * increment (a restore it counted) is visible to a reader that sees the increment. Two threads whose ids share a cell can lose
 * an increment to each other, so the count is a close lower bound, which is what a ratio published
 * once a tick needs; an atomic counter would cost a locked instruction on every {@code getLong}.
 * {@link #sum()} may run on any thread.
 */
final class AccessCounter {
  private static final int CELLS = 32;
  /** Longs between cells: 128 bytes, so no two cells share a cache line (or an adjacent-line prefetch pair). */
  private static final int SPREAD = 16;
  private static final VarHandle CELL = MethodHandles.arrayElementVarHandle(long[].class);

  private final long[] cells = new long[CELLS * SPREAD];

  /** One access by the calling thread. */
  void increment() {
    int i = ((int) Thread.currentThread().threadId() & (CELLS - 1)) * SPREAD;
    CELL.setRelease(cells, i, (long) CELL.getOpaque(cells, i) + 1);
  }

  /** Accesses counted so far (a racy but monotone-per-cell sum). */
  long sum() {
    long sum = 0;
    for (int i = 0; i < cells.length; i += SPREAD) {
      sum += (long) CELL.getAcquire(cells, i);
    }
    return sum;
  }
}
