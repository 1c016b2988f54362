package dev.spillway.core.memory;

/**
 * A spilled block could not be read back: its record is corrupt (checksum, lengths) or the device
 * failed. Nothing was returned as data. The block stays spilled, so a transient error can be retried;
 * a corrupt record fails every time, and the block can only be freed.
 */
public final class RestoreFailedException extends RuntimeException {
  private final long handle;

  RestoreFailedException(long handle, long recordKey, Throwable cause) {
    super("block " + Handles.format(handle) + " could not be restored from the tier (record key " + recordKey
        + "); it stays spilled and nothing was returned as data: " + cause, cause);
    this.handle = handle;
  }

  public long handle() {
    return handle;
  }
}
