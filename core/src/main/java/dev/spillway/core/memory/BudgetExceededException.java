package dev.spillway.core.memory;

/**
 * Growing a pool (or mapping a huge block) would take the allocator past its memory budget. Nothing
 * was allocated. Spilling or freeing blocks makes room; the control plane does the former by itself.
 */
public final class BudgetExceededException extends PoolExhaustedException {
  private final transient Throwable tierFailure;

  BudgetExceededException(String message, Throwable tierFailure) {
    super(message);
    this.tierFailure = tierFailure;
  }

  /**
   * Why spilling cannot make room, when that is known: the failure of the last write to the tier
   * (a full device, an I/O error) if no write has succeeded since; null when spills work.
   */
  public Throwable tierFailure() {
    return tierFailure;
  }

  /** What the device said of {@link #tierFailure()} ("No space left on device"), or null. */
  public String tierFailureMessage() {
    return tierFailure == null ? null : MemoryBudget.rootMessage(tierFailure);
  }

  /** Whether {@link #tierFailure()} is a full device ({@code ENOSPC}). */
  public boolean tierFull() {
    return isDeviceFull(tierFailure);
  }

  /** Whether {@code failure} or one of its causes says the device is full. */
  static boolean isDeviceFull(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t.getMessage() != null && t.getMessage().contains("No space left on device")) {
        return true;
      }
    }
    return false;
  }
}
