package dev.spillway.memory;

import dev.spillway.core.memory.Handles;

/** An offset or length reaches outside a block. Raised before any memory is touched. */
public final class BlockBoundsException extends IndexOutOfBoundsException {
  private static final long serialVersionUID = 1L;

  private final long handle;

  public BlockBoundsException(long handle, long offset, long length, long size) {
    super("access outside block " + Handles.format(handle) + ": offset " + offset + ", length "
        + length + " does not fit in its " + size + " bytes (allowed: 0 <= offset, 0 <= length,"
        + " offset + length <= " + size + ")");
    this.handle = handle;
  }

  public long handle() {
    return handle;
  }
}
