package dev.spillway.memory;

import dev.spillway.config.MemorySettings;
import dev.spillway.config.SpillwaySettings;
import dev.spillway.core.memory.Allocators;
import dev.spillway.memory.spi.AllocatorControl;
import java.io.IOException;
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
 *
 * <p><b>Spilling.</b> An allocator {@linkplain #open opened with a tier} can {@link #spill} blocks to
 * NVMe segment files: their RAM goes back to the pools, and the next access of any kind (get, put,
 * read, write, segment, pin) restores the block on the calling thread, byte for byte, while its
 * handle stays the same. Any access to a block while it is being spilled keeps it resident (the spill
 * is discarded), a pinned block never spills, concurrent accesses to a spilled block restore it once,
 * and a failed spill leaves the block resident. A block restored into a slot other than its own is
 * reached through a forwarding table: one lookup more per access until it is freed. The control
 * plane drives spilling through {@link #control()}; this interface is what an application holds.
 */
public interface BlockAllocator extends AutoCloseable {

  /** An allocator with the given settings, without a tier: nothing spills. */
  static BlockAllocator create(MemorySettings settings) {
    return Allocators.create(settings);
  }

  /**
   * An allocator that spills to the tier of {@code settings}: its log lives in a {@code spill}
   * directory under each of {@code spillway.tier.directories} and starts empty (spilled blocks die
   * with the process that spilled them, so segment files a previous process left there are deleted,
   * once this process holds the directory's lock). With no directories configured the tier lives in
   * a private directory made under {@code spillway.tier.default-parent}, which {@link #close()}
   * deletes, as does the JVM's exit if the allocator is never closed.
   *
   * @throws IOException when a tier directory cannot be created, belongs to another user, is writable
   *     by others, cannot be written, or is locked by another live log
   */
  static BlockAllocator open(SpillwaySettings settings) throws IOException {
    return Allocators.open(settings);
  }

  /** An allocator on the embedded defaults of {@code reference.conf}. */
  static BlockAllocator create() {
    return Allocators.create(SpillwaySettings.defaults().memory());
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
   * A transient view of the block's {@code size(handle)} bytes, restoring the block if it is spilled.
   * The view works until a block of the same slab moves (a spill ends the access epoch), after which
   * it fails with {@link IllegalStateException} rather than show another block's bytes; after
   * {@code free} it aliases whatever reuses the memory. For a view that stays valid, {@link #pin} the
   * block; otherwise prefer the primitive accessors, which check the handle on every call.
   */
  MemorySegment segment(long handle);

  /**
   * Pins the block in RAM (restoring it if it is spilled) and returns a view of its bytes that stays
   * valid until the matching {@link #unpin}: a pinned block never spills or moves, and cannot be
   * freed. Pins nest: each pin needs its own unpin.
   */
  MemorySegment pin(long handle);

  /** Undoes one {@link #pin}; fails with {@link IllegalStateException} when the block is not pinned. */
  void unpin(long handle);

  /** Whether the block is in RAM (not spilled). Does not restore it. */
  boolean isResident(long handle);

  /**
   * Spills one block now, on the calling thread: writes it to the tier and, once the record is
   * acknowledged per {@code spillway.tier.durability}, releases its RAM. A hint, not an order: a
   * pinned block stays ({@code PINNED}), and any access brings it back.
   *
   * @throws SpillFailedException when the write fails (device full, I/O error); the block stays
   *     resident and unchanged
   * @throws IllegalStateException when the allocator has no tier
   */
  SpillOutcome spill(long handle);

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

  /**
   * A new {@link java.lang.foreign.SegmentAllocator} over this allocator, for code written against
   * FFM's allocation interface: each segment is a zeroed, pinned block, and closing the returned
   * allocator frees them all and invalidates their segments (see {@link BlockSegmentAllocator}).
   */
  default BlockSegmentAllocator newSegmentAllocator() {
    return new BlockSegmentAllocator(this);
  }

  /** Allocates a block wrapped in an {@link AutoCloseable} object; closing it frees the block. */
  default Block allocateBlock(long size) {
    return new Block(this, allocate(size));
  }

  /** The largest size {@link #allocate} accepts ({@code spillway.memory.max-block-size}). */
  long maxBlockSize();

  /** A snapshot of every pool's figures. */
  AllocatorStats stats();

  /**
   * The control SPI of this allocator: victims, spill preparation and writing, the budget, listeners
   * and maintenance, for the control plane (and the few applications that drive spilling themselves).
   */
  AllocatorControl control();

  /** Releases all memory. Every handle becomes invalid; later calls fail. A second close does nothing. */
  @Override
  void close();
}
