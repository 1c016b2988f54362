package dev.spillway.memory;

import dev.spillway.core.memory.Handles;

/**
 * A spilled block could not be read back: its record is corrupt (checksum, lengths), the device
 * failed, or RAM stayed at the memory budget (slack included) while the control plane could not spill
 * anything to make room (the cause is then a {@link BudgetExceededException} saying why: a full tier,
 * a failing device, or blocks that cannot be spilled). Nothing was returned as data. The block stays
 * spilled, so a transient error can be retried; a corrupt record fails every time, and the block can
 * only be freed.
 */
public final class RestoreFailedException extends RuntimeException {
  private final long handle;

  public RestoreFailedException(long handle, long recordKey, Throwable cause) {
    super("block " + Handles.format(handle) + " could not be restored from the tier (record key " + recordKey
        + "); it stays spilled and nothing was returned as data: " + cause, cause);
    this.handle = handle;
  }

  /** A restore that found no room in RAM: {@code full} says how full and why spilling did not help. */
  public RestoreFailedException(long handle, BudgetExceededException full) {
    super("block " + Handles.format(handle) + " cannot be restored, " + full.getMessage()
        + ". The block stays spilled; an access reads it back once there is room", full);
    this.handle = handle;
  }

  public long handle() {
    return handle;
  }
}
