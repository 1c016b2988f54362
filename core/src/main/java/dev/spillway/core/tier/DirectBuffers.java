package dev.spillway.core.tier;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

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
  static final long RETAINED_PER_CLASS = 32L << 20;

  /** The process-wide pool (the buffers hold no state between uses). */
  static final DirectBuffers SHARED = new DirectBuffers();

  @SuppressWarnings("unchecked")
  private final ConcurrentLinkedQueue<ByteBuffer>[] free = new ConcurrentLinkedQueue[MAX_SHIFT - MIN_SHIFT + 1];
  private final AtomicLong[] retained = new AtomicLong[free.length];

  DirectBuffers() {
    for (int i = 0; i < free.length; i++) {
      free[i] = new ConcurrentLinkedQueue<>();
      retained[i] = new AtomicLong();
    }
  }

  /** A direct buffer with position 0 and limit {@code length}; its capacity may be larger. */
  ByteBuffer take(int length) {
    int cls = classOf(length);
    if (cls < 0) {
      return ByteBuffer.allocateDirect(length);
    }
    ByteBuffer b = free[cls].poll();
    if (b == null) {
      return ByteBuffer.allocateDirect(1 << (cls + MIN_SHIFT)).limit(length);
    }
    retained[cls].addAndGet(-b.capacity());
    return b.clear().limit(length);
  }

  /** Gives a buffer of {@link #take} back; the caller must not use it afterwards. */
  void give(ByteBuffer b) {
    int cls = classOf(b.capacity());
    if (cls < 0 || b.capacity() != 1 << (cls + MIN_SHIFT)) {
      return; // not one of ours by size: left to the cleaner
    }
    if (retained[cls].addAndGet(b.capacity()) > RETAINED_PER_CLASS) {
      retained[cls].addAndGet(-b.capacity());
      return;
    }
    free[cls].offer(b);
  }

  /** Bytes of free buffers held (for tests and stats). */
  long retainedBytes() {
    long sum = 0;
    for (AtomicLong r : retained) {
      sum += r.get();
    }
    return sum;
  }

  private static int classOf(int length) {
    if (length > 1 << MAX_SHIFT) {
      return -1;
    }
    int shift = Math.max(MIN_SHIFT, 32 - Integer.numberOfLeadingZeros(Math.max(1, length) - 1));
    return shift - MIN_SHIFT;
  }
}
