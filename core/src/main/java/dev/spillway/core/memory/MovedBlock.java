package dev.spillway.core.memory;

/**
 * A block that is not (or not only) where its handle points: being spilled, on the tier, coming back,
 * or resident in a slot other than its home. Every field after construction is guarded by the
 * object's monitor; waiting for a restore uses the same monitor.
 *
 * <pre>
 *            spill                 commit                 access
 *  RESIDENT --------> SPILLING ------------> SPILLED -------------> RESTORING
 *  (no entry)  <--------'  any access aborts    ^                        |
 *      ^                                        | spill (again)          | home slot free: rewind
 *      |                                        |                        v
 *      +------------------------------------ FORWARDED <-----------------+ otherwise
 *          (restored in place: entry gone)   (resident in {@code ram})
 * </pre>
 *
 * <p>A FORWARDED block is spilled like a direct one (its {@code ram} slot is frozen instead of the
 * home slot), and goes back to FORWARDED when the spill is aborted. Free from any state ends the
 * entry ({@link #GONE}).
 */
final class MovedBlock {
  static final int SPILLING = 1;
  static final int SPILLED = 2;
  static final int RESTORING = 3;
  static final int FORWARDED = 4;
  /** The entry no longer describes the block: freed, or back in its home slot. Look it up again. */
  static final int GONE = 5;

  // Kept small (56 bytes with compressed pointers): one lives for every spilled or forwarded block.
  // The table key is derived from the handle and the class from the home slab, not stored.

  /** The handle the application holds. */
  final long handle;
  final Slab home;
  /** The bytes the block holds (a block is at most 1 GiB). */
  final int requested;

  int state;
  /** The RAM slot holding the bytes (frozen while SPILLING), as a handle without slack; 0 if none. */
  long ram;
  /** Whether {@link #ram} is the home slot itself (a direct handle being spilled). */
  boolean ramIsHome;
  long recordKey;
  /** The generation the home slot got when the block left it; a restore in place needs it unchanged. */
  int homeGenerationAfter;

  MovedBlock(long handle, Slab home, long requested) {
    this.handle = handle;
    this.home = home;
    this.requested = Math.toIntExact(requested);
  }

  /** The block's table key: its handle's generation and location ({@link #keyOf}). */
  long key() {
    return keyOf(handle);
  }

  /** The block's size class (its home slab's). */
  int classIndex() {
    return home.classIndex;
  }

  /** The table key of a handle: its generation and location, without the slack bits. */
  static long keyOf(long handle) {
    return handle & ~(((long) Handles.MAX_SLACK) << Handles.SLACK_SHIFT);
  }

  boolean isSpilled() {
    return state == SPILLED || state == RESTORING;
  }
}
