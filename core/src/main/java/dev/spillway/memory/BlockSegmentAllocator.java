package dev.spillway.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.util.Arrays;

/**
 * A {@link SegmentAllocator} whose segments are blocks of a {@link BlockAllocator}: code written
 * against {@code SegmentAllocator} (or taking an {@code Arena} only to allocate) allocates from
 * Spillway's pools unchanged. It follows an arena's rules, not a block's:
 *
 * <ul>
 *   <li>every segment is a block of its own, zeroed, aligned as asked (a block is 8-byte aligned; a
 *       larger alignment costs up to {@code alignment - 8} bytes of padding), and <b>pinned</b>: it
 *       never spills or moves while this allocator is open, so the segment's address stays valid;
 *   <li>there is no freeing one segment: {@link #close()} frees every block this allocator made, and
 *       from then on every access through any of its segments fails with {@link
 *       IllegalStateException} (the segments belong to a shared arena closed with it), never touching
 *       memory another block has since taken;
 *   <li>it may be used from any thread; segments are shared like those of {@link Arena#ofShared()}.
 * </ul>
 *
 * Pinned blocks count against the memory budget like any other and are never spilled to make room,
 * so a long-lived allocator holding many segments holds that memory. Errors: a negative size or an
 * alignment that is not a power of two is an {@link IllegalArgumentException}, as is a size (plus
 * padding) over {@code spillway.memory.max-block-size}; any allocation after {@code close()} an
 * {@link IllegalStateException}.
 */
@SuppressWarnings("restricted") // reinterpret ties each segment to this allocator's arena
public final class BlockSegmentAllocator implements SegmentAllocator, AutoCloseable {
  /** Every block is at least this aligned (slabs are page-aligned; class sizes are multiples of 8). */
  static final long BLOCK_ALIGNMENT = 8;

  private final BlockAllocator allocator;
  private final Arena arena = Arena.ofShared();
  private long[] handles = new long[16];
  private int count;
  private boolean closed;

  BlockSegmentAllocator(BlockAllocator allocator) {
    this.allocator = allocator;
  }

  @Override
  public MemorySegment allocate(long byteSize, long byteAlignment) {
    if (byteSize < 0) {
      throw new IllegalArgumentException("byteSize = " + byteSize + ": allowed 0 and up");
    }
    if (byteAlignment <= 0 || Long.bitCount(byteAlignment) != 1) {
      throw new IllegalArgumentException("byteAlignment = " + byteAlignment + ": allowed a power of two");
    }
    long padding = byteAlignment > BLOCK_ALIGNMENT ? byteAlignment - BLOCK_ALIGNMENT : 0;
    long request = Math.max(1, byteSize) + padding;
    if (request > allocator.maxBlockSize() || request < 0) {
      throw new IllegalArgumentException("byteSize = " + byteSize + " with alignment " + byteAlignment + " needs a block"
          + " of " + request + " bytes: allowed at most " + allocator.maxBlockSize()
          + " (spillway.memory.max-block-size)");
    }
    MemorySegment block;
    synchronized (this) {
      if (closed) {
        throw new IllegalStateException("this segment allocator is closed: its blocks were freed");
      }
      long h = allocator.allocateZeroed(request);
      try {
        block = allocator.pin(h);
      } catch (RuntimeException e) {
        allocator.free(h);
        throw e;
      }
      if (count == handles.length) {
        handles = Arrays.copyOf(handles, count * 2);
      }
      handles[count++] = h;
    }
    long skip = -block.address() & (byteAlignment - 1);
    // A segment of this allocator's arena: closing the arena makes every later access fail.
    return block.asSlice(skip, byteSize).reinterpret(arena, null);
  }

  /** Blocks this allocator holds now. */
  public synchronized int blocks() {
    return count;
  }

  /**
   * Invalidates every segment this allocator handed out, then unpins and frees their blocks. A
   * second call does nothing.
   */
  @Override
  public void close() {
    long[] owned;
    int n;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      owned = handles;
      n = count;
      handles = new long[0];
      count = 0;
    }
    arena.close(); // first: no access through a segment can reach a block once it is freed
    RuntimeException failure = null;
    for (int i = 0; i < n; i++) {
      try {
        allocator.unpin(owned[i]);
        allocator.free(owned[i]);
      } catch (RuntimeException e) {
        failure = failure == null ? e : failure; // free the rest first
      }
    }
    if (failure != null) {
      throw failure;
    }
  }
}
