package dev.spillway.core.memory;

import dev.spillway.memory.BudgetExceededException;
import dev.spillway.config.Sizes;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The cap on the allocator's mapped memory: every slab and every huge block is counted when it is
 * mapped and uncounted when it is unmapped, so the bytes Spillway holds in RAM never exceed the
 * budget, by construction and without a cost on the fast path (only growth takes this look).
 * Blocks coming back from the tier may overdraw by up to {@link #slack()}: an access must not fail
 * because RAM is tight, and the control plane spills cold blocks to get back under the budget.
 * Thread-safe.
 */
final class MemoryBudget {
  /** No limit. */
  static final long UNLIMITED = Long.MAX_VALUE;

  private final AtomicLong mapped = new AtomicLong();
  private volatile long limit = UNLIMITED;
  private volatile long slack;
  /** The last write to the tier failed with this, and none has succeeded since; null when spills work. */
  private volatile Throwable tierFailure;

  /** Counts {@code bytes} about to be mapped; false (nothing counted) when they do not fit. */
  boolean tryReserve(long bytes, boolean overdraw) {
    long cap = limit == UNLIMITED ? UNLIMITED : limit + (overdraw ? slack : 0);
    for (;;) {
      long now = mapped.get();
      if (now + bytes > cap || now + bytes < 0) {
        return false;
      }
      if (mapped.compareAndSet(now, now + bytes)) {
        return true;
      }
    }
  }

  void release(long bytes) {
    mapped.addAndGet(-bytes);
  }

  /** Sets the cap; memory mapped already stays (the control plane spills and shrinks to get under). */
  void set(long bytes, long overdraw) {
    if (bytes < 1 || overdraw < 0) {
      throw new IllegalArgumentException("budget = " + bytes + " B, slack = " + overdraw
          + " B: allowed a budget of at least 1 B and a slack of at least 0 B");
    }
    slack = overdraw;
    limit = bytes;
  }

  long limit() {
    return limit;
  }

  long slack() {
    return slack;
  }

  long mapped() {
    return mapped.get();
  }

  /** Whether a limit is set and has less than {@code bytes} of room left. */
  boolean starved(long bytes) {
    long cap = limit;
    return cap != UNLIMITED && cap - mapped.get() < bytes;
  }

  /** Records that a write to the tier failed (null: one succeeded), for {@link #exceeded}'s message. */
  // Identity on purpose: the same failure (or null) again needs no volatile write; Throwable has no value equality.
  @SuppressWarnings("ReferenceEquality")
  void tierFailure(Throwable failure) {
    if (tierFailure != failure) {
      tierFailure = failure;
    }
  }

  BudgetExceededException exceeded(long bytes, String what) {
    Throwable failure = tierFailure;
    String state = "no room for " + Sizes.format(bytes) + " (" + what + "): " + Sizes.format(mapped()) + " of the "
        + Sizes.format(limit) + " memory budget" + (slack > 0 ? " (+ " + Sizes.format(slack) + " slack for restores)" : "")
        + " are mapped";
    return new BudgetExceededException(state, failure);
  }
}
