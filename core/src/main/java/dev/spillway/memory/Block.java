package dev.spillway.memory;

import dev.spillway.core.memory.Handles;
import java.lang.foreign.MemorySegment;

/**
 * An object view of one block for code that prefers try-with-resources over raw handles. Each call
 * goes through the allocator's checks; {@link #close()} frees the block once, and later calls on this
 * object fail with {@link InvalidHandleException}.
 */
public final class Block implements AutoCloseable {
  private final BlockAllocator allocator;
  private final long handle;
  private boolean closed;

  Block(BlockAllocator allocator, long handle) {
    this.allocator = allocator;
    this.handle = handle;
  }

  public long handle() {
    return handle;
  }

  public long size() {
    return allocator.size(handle);
  }

  public MemorySegment segment() {
    return allocator.segment(handle);
  }

  public byte getByte(long offset) {
    return allocator.getByte(handle, offset);
  }

  public void putByte(long offset, byte value) {
    allocator.putByte(handle, offset, value);
  }

  public int getInt(long offset) {
    return allocator.getInt(handle, offset);
  }

  public void putInt(long offset, int value) {
    allocator.putInt(handle, offset, value);
  }

  public long getLong(long offset) {
    return allocator.getLong(handle, offset);
  }

  public void putLong(long offset, long value) {
    allocator.putLong(handle, offset, value);
  }

  public void read(long offset, byte[] dst, int dstOffset, int length) {
    allocator.read(handle, offset, dst, dstOffset, length);
  }

  public void write(long offset, byte[] src, int srcOffset, int length) {
    allocator.write(handle, offset, src, srcOffset, length);
  }

  /** Frees the block; a second close does nothing. */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      allocator.free(handle);
    }
  }

  @Override
  public String toString() {
    return "Block[" + Handles.format(handle) + "]";
  }
}
