package dev.spillway.core.memory;

/**
 * Told of the moments inside the move protocols where a race decides the outcome, so that tests can
 * run another thread's step exactly there. Production allocators get {@link #NONE}; a test builds its
 * allocator with an observer through {@link Allocators#open(dev.spillway.config.SpillwaySettings,
 * MoveObserver)}. Called on the thread that reaches the point, with no lock of the block held unless
 * stated.
 */
interface MoveObserver {
  /** Observes nothing: the observer of every allocator outside tests. */
  MoveObserver NONE = new MoveObserver() {};

  /**
   * A spill added the block's entry to the moved-block table and has not frozen its slot yet: an
   * access now finds the entry while the slot still answers to the handle.
   */
  default void entryAdded(long handle) {}

  /**
   * A free of a forwarded block found the block's RAM slot ({@code ram}) and works on that handle from
   * now on: a sweep may freeze the slot by reference at this point.
   */
  default void ramSlotFound(long handle, long ram) {}

  /**
   * A restore of the block of {@code handle} began (its entry is RESTORING) and has not read its record
   * yet: other accesses of the block wait for it, a free waits, a spill finds it already spilled.
   */
  default void restoring(long handle) {}

  /**
   * A spill batch is on the tier and its blocks are not committed yet (they are still SPILLING, the
   * spill lock is held): an access now aborts its block's spill, and the record becomes dead.
   */
  default void appended() {}
}
