package dev.spillway.core.memory;

import dev.spillway.config.MemorySettings;
import dev.spillway.config.SpillwaySettings;
import java.lang.foreign.MemorySegment;

/**
 * Off-heap blocks of 1 B to 1 GiB named by 64-bit handles: Spillway's data plane.
 *
 * <p>The primitive API ({@code allocate}, {@code free}, {@code get*} / {@code put*}, {@code read} /
 * {@code write}) creates no garbage and takes no lock on its fast path; every method is safe to call
 * from any thread, and a block may be freed by a thread other than the one that allocated it. Block
 * contents are not synchronized: threads sharing a block synchronize as they would for an array.
 * Multi-byte values are little-endian and need no alignment. Fresh blocks hold undefined bytes
 * unless allocated with {@link #allocateZeroed}.
 *
 * <p>Every handle is checked before memory is touched: a freed, reused, forged or garbage handle
 * raises {@link InvalidHandleException}, an access outside the block {@link BlockBoundsException},
 * and any call after {@link #close()} {@link AllocatorClosedException}. Stale handles are detected
 * until their slot has been reused 128 times (classes under 128 B) or 32768 times (all others).
 */
public interface BlockAllocator extends AutoCloseable {

  /** An allocator with the given settings. */
  static BlockAllocator create(MemorySettings settings) {
    return new SlabAllocator(settings);
  }

  /** An allocator on the embedded defaults of {@code reference.conf}. */
  static BlockAllocator create() {
    return create(SpillwaySettings.defaults().memory());
  }

  /** Allocates a block of {@code size} bytes, {@code 1 <= size <= maxBlockSize()}; returns its handle. */
  long allocate(long size);

  /** Like {@link #allocate} with every byte zero. */
  long allocateZeroed(long size);

  /** Frees a block. Its handle, and every copy of it, is invalid afterwards. */
  void free(long handle);

  /** Whether {@code handle} names a live block of this allocator. Never throws for a bad handle. */
  boolean isLive(long handle);

  /** The size the block was allocated with. */
  long size(long handle);

  /** The bytes the block occupies: its size class, or its size rounded to pages for huge blocks. */
  long capacity(long handle);

  /**
   * A view of the block's {@code size(handle)} bytes. The view stays usable after {@code free}
   * (it then aliases whatever reuses the memory), so prefer the primitive accessors, which check the
   * handle on every call.
   */
  MemorySegment segment(long handle);

  byte getByte(long handle, long offset);

  void putByte(long handle, long offset, byte value);

  short getShort(long handle, long offset);

  void putShort(long handle, long offset, short value);

  int getInt(long handle, long offset);

  void putInt(long handle, long offset, int value);

  long getLong(long handle, long offset);

  void putLong(long handle, long offset, long value);

  double getDouble(long handle, long offset);

  void putDouble(long handle, long offset, double value);

  /** Copies {@code length} bytes from the block at {@code offset} into {@code dst[dstOffset..]}. */
  void read(long handle, long offset, byte[] dst, int dstOffset, int length);

  /** Copies {@code length} bytes from {@code src[srcOffset..]} into the block at {@code offset}. */
  void write(long handle, long offset, byte[] src, int srcOffset, int length);

  /** Copies {@code length} bytes from the block at {@code offset} into {@code dst} at {@code dstOffset}. */
  void read(long handle, long offset, MemorySegment dst, long dstOffset, long length);

  /** Copies {@code length} bytes from {@code src} at {@code srcOffset} into the block at {@code offset}. */
  void write(long handle, long offset, MemorySegment src, long srcOffset, long length);

  /** Sets {@code length} bytes of the block from {@code offset} to {@code value}. */
  void fill(long handle, long offset, long length, byte value);

  /** Allocates a block wrapped in an {@link AutoCloseable} object; closing it frees the block. */
  default Block allocateBlock(long size) {
    return new Block(this, allocate(size));
  }

  /** The largest size {@link #allocate} accepts ({@code spillway.memory.max-block-size}). */
  long maxBlockSize();

  /** A snapshot of every pool's figures. */
  AllocatorStats stats();

  /**
   * One pass of housekeeping, driven by the control plane: returns the blocks of dead threads' caches,
   * asks idle caches to trim, and applies each pool's grow / shrink rule once.
   */
  MaintenanceReport maintain();

  /** Returns the calling thread's cached free blocks to the pools. */
  void trimCurrentThreadCache();

  /** Releases all memory. Every handle becomes invalid; later calls fail. A second close does nothing. */
  @Override
  void close();
}
