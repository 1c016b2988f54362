package dev.spillway.actors;

import dev.spillway.config.Sizes;
import java.time.Duration;

/**
 * An allocation found the memory budget full and waited {@code spillway.control.allocate-timeout}
 * without the control plane making room (nothing left to spill: every block pinned, in use or
 * refused by the tier). Nothing was allocated; the JVM's own memory was never at risk.
 */
public final class OutOfBudgetException extends RuntimeException {
  private final long size;
  private final long budget;

  OutOfBudgetException(long size, long budget, long mapped, Duration waited, Throwable cause) {
    super("OutOfBudget: cannot allocate " + size + " bytes: " + Sizes.format(mapped) + " of the "
        + Sizes.format(budget) + " budget (spillway.control.budget) are mapped and waiting " + waited.toMillis()
        + " ms (spillway.control.allocate-timeout) made no room: nothing could be spilled (blocks pinned, in"
        + " constant use, or the tier refusing writes). Free or unpin blocks, or raise the budget", cause);
    this.size = size;
    this.budget = budget;
  }

  /** The size asked for. */
  public long size() {
    return size;
  }

  /** The budget, in bytes. */
  public long budget() {
    return budget;
  }
}
