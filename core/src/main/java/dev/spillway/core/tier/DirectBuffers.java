package dev.spillway.core.tier;

import java.nio.ByteBuffer;

/**
 * A pool of direct buffers for encoded records, so a steady stream of spills allocates nothing and
 * the payload never touches the Java heap (a heap buffer would also cost the JDK a copy into a
 * temporary direct buffer on every write). Capacities are powers of two from 4 KiB to 16 MiB; each
 * class keeps at most {@link #RETAINED_PER_CLASS} bytes of free buffers, the rest are dropped to the
 * garbage collector's cleaner. Larger requests are allocated exactly and never pooled. Thread-safe.
 */
final class DirectBuffers {
  static final int MIN_SHIFT = 12;
  static final int MAX_SHIFT = 24;
  /** Free bytes kept per capacity class. */
  static final long RETAINED_PER_CLASS = 16L << 20;

  /** The process-wide pool (the buffers hold no state between uses). */
  static final DirectBuffers SHARED = new DirectBuffers();

  /** Per capacity class: free buffers as a stack (an array, so a give allocates no queue node). */
  private final Stack[] free = new Stack[MAX_SHIFT - MIN_SHIFT + 1];

  DirectBuffers() {
    for (int i = 0; i < free.length; i++) {
      free[i] = new Stack((int) (RETAINED_PER_CLASS >> (i + MIN_SHIFT)));
    }
  }

  /** A direct buffer with position 0 and limit {@code length}; its capacity may be larger. */
  ByteBuffer take(int length) {
    int cls = classOf(length);
    if (cls < 0) {
      return ByteBuffer.allocateDirect(length);
    }
    ByteBuffer b = free[cls].pop();
    if (b == null) {
      return ByteBuffer.allocateDirect(1 << (cls + MIN_SHIFT)).limit(length);
    }
    return b.clear().limit(length);
  }

  /** Gives a buffer of {@link #take} back; the caller must not use it afterwards. */
  void give(ByteBuffer b) {
    int cls = classOf(b.capacity());
    if (cls < 0 || b.capacity() != 1 << (cls + MIN_SHIFT)) {
      return; // not one of ours by size: left to the cleaner
    }
    free[cls].push(b); // beyond RETAINED_PER_CLASS: dropped, left to the cleaner
  }

  /** Bytes of free buffers held (for tests and stats). */
  long retainedBytes() {
    long sum = 0;
    for (int i = 0; i < free.length; i++) {
      sum += (long) free[i].size() << (i + MIN_SHIFT);
    }
    return sum;
  }

  /** A bounded stack of free buffers of one class; its lock is held for a push or a pop only. */
  private static final class Stack {
    private final ByteBuffer[] items;
    private int size;

    Stack(int capacity) {
      items = new ByteBuffer[capacity];
    }

    synchronized ByteBuffer pop() {
      if (size == 0) {
        return null;
      }
      ByteBuffer b = items[--size];
      items[size] = null;
      return b;
    }

    synchronized void push(ByteBuffer b) {
      if (size < items.length) {
        items[size++] = b;
      }
    }

    synchronized int size() {
      return size;
    }
  }

  private static int classOf(int length) {
    if (length > 1 << MAX_SHIFT) {
      return -1;
    }
    int shift = Math.max(MIN_SHIFT, 32 - Integer.numberOfLeadingZeros(Math.max(1, length) - 1));
    return shift - MIN_SHIFT;
  }
}
