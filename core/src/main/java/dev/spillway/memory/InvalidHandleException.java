package dev.spillway.memory;

import dev.spillway.core.memory.Handles;

/**
 * A handle does not name a live block: it was freed (use after free, double free), its slot has been
 * reused, or it was never a handle. Raised before any memory is touched, so nothing is corrupted.
 */
public final class InvalidHandleException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  /** What is wrong with the handle. */
  public enum Problem {
    /** The generation bits cannot belong to any block (even, or wider than the slot's). */
    MALFORMED,
    /** The slab it names does not exist (released, or never allocated). */
    UNKNOWN_SLAB,
    /** The slot it names is beyond the slab's blocks. */
    SLOT_OUT_OF_RANGE,
    /** The block was freed or the slot reused: use after free. */
    STALE,
    /** {@code free} of a block that is already free. */
    DOUBLE_FREE
  }

  private final long handle;
  private final Problem problem;

  public InvalidHandleException(long handle, Problem problem, String detail) {
    super("invalid handle " + Handles.format(handle) + ": " + detail);
    this.handle = handle;
    this.problem = problem;
  }

  public long handle() {
    return handle;
  }

  public Problem problem() {
    return problem;
  }
}
