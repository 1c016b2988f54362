package dev.spillway;

import dev.spillway.config.Sizes;
import dev.spillway.memory.BudgetExceededException;
import java.time.Duration;

/**
 * An allocation found the memory budget full and waited {@code spillway.control.allocate-timeout}
 * without the control plane making room: the tier refused the spills (a full device, an I/O error;
 * the message says which) or nothing could be spilled (every block pinned or in constant use).
 * Nothing was allocated; the JVM's own memory was never at risk.
 */
public final class OutOfBudgetException extends RuntimeException {
  private final long size;
  private final long budget;

  OutOfBudgetException(long size, long budget, long mapped, Duration waited, BudgetExceededException cause) {
    super("OutOfBudget: cannot allocate " + size + " bytes: " + Sizes.format(mapped) + " of the "
        + Sizes.format(budget) + " budget (spillway.control.budget) are mapped and waiting " + waited.toMillis()
        + " ms (spillway.control.allocate-timeout) made no room: " + why(cause), cause);
    this.size = size;
    this.budget = budget;
  }

  private static String why(BudgetExceededException cause) {
    if (cause == null) {
      return "nothing could be spilled. Fix: free or unpin blocks, or raise spillway.control.budget";
    }
    if (cause.tierFull()) {
      return "the tier is full, so nothing can be spilled (" + cause.tierFailureMessage() + "). Fix: free"
          + " space on the tier's device or add a directory on another device to spillway.tier.directories,"
          + " or raise spillway.control.budget";
    }
    if (cause.tierFailure() != null) {
      return "the tier refuses writes, so nothing can be spilled (" + cause.tierFailureMessage() + ")."
          + " Fix: check the device of spillway.tier.directories, or raise spillway.control.budget";
    }
    return "nothing could be spilled (blocks pinned or in constant use). Fix: free or unpin blocks, or raise"
        + " spillway.control.budget";
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
