package dev.spillway.memory;

/**
 * Growing a pool (or mapping a huge block) would take the allocator past its memory budget. Nothing
 * was allocated. Spilling or freeing blocks makes room; the control plane does the former by itself.
 */
public final class BudgetExceededException extends PoolExhaustedException {
  private final transient Throwable tierFailure;

  /**
   * @param state how full the budget is ("no room for 4 MiB (...): 16 MiB of the 16 MiB memory budget
   *     are mapped"); the message adds why spilling cannot make room and what to change
   * @param tierFailure the last failed write to the tier when none has succeeded since, else null
   */
  public BudgetExceededException(String state, Throwable tierFailure) {
    super(state + why(tierFailure));
    this.tierFailure = tierFailure;
  }

  private static String why(Throwable failure) {
    if (isDeviceFull(failure)) {
      return ", and spilling cannot make room because the tier is full (" + rootMessage(failure)
          + "). Fix: free space on the tier's device or add a directory on another device to"
          + " spillway.tier.directories; or raise spillway.control.budget (spillway.control.budget-slack for restores)";
    }
    if (failure != null) {
      return ", and spilling cannot make room because the tier refuses writes (" + rootMessage(failure)
          + "). Fix: check the device of spillway.tier.directories; or raise spillway.control.budget"
          + " (spillway.control.budget-slack for restores)";
    }
    return "; cold blocks are spilled to make room, so this lasts only while none can be (pinned or"
        + " in constant use). Fix: free or unpin blocks, or raise spillway.control.budget"
        + " (spillway.control.budget-slack for restores)";
  }

  /** The innermost message of {@code t}: what the device said, without the layers around it. */
  private static String rootMessage(Throwable t) {
    Throwable root = t;
    // getCause() never answers the throwable itself, but a longer cycle (a caused by b, b by a) can
    // exist: the depth bound ends it.
    for (int depth = 0; depth < 64 && root.getCause() != null; depth++) {
      root = root.getCause();
    }
    return String.valueOf(root.getMessage());
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
    return tierFailure == null ? null : rootMessage(tierFailure);
  }

  /** Whether {@link #tierFailure()} is a full device ({@code ENOSPC}). */
  public boolean tierFull() {
    return isDeviceFull(tierFailure);
  }

  /** Whether {@code failure} or one of its causes says the device is full. */
  private static boolean isDeviceFull(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t.getMessage() != null && t.getMessage().contains("No space left on device")) {
        return true;
      }
    }
    return false;
  }
}
