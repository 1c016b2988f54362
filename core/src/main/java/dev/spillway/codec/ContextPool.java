package dev.spillway.codec;

import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Supplier;

/**
 * A bounded pool of native codec contexts (a zstd compression or decompression context): each is
 * used by one thread at a time, borrowed with {@link #take} and handed back with {@link #give}.
 *
 * <p>Why a pool and not one context per thread: spills and restores run on any caller's thread
 * ({@code memory.spill(h)} encodes on the calling thread), virtual ones included, and a context
 * parked in a thread-local outlives its use for as long as its thread lives, or, for a thread that
 * ends, until a collector notices. A pool holds at most {@code capacity} idle contexts whatever the
 * number of threads, and frees the rest at once.
 *
 * <p>Thread-safe and lock-free; {@code take} and {@code give} allocate nothing while the pool has a
 * context (or room) to offer. A thread that finds it empty makes a new context; a context given back
 * to a full pool, or after {@link #closeAll}, is closed.
 */
final class ContextPool<T extends AutoCloseable> {
  private final AtomicReferenceArray<T> slots;
  private final Supplier<T> factory;
  private volatile boolean closed;

  ContextPool(int capacity, Supplier<T> factory) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity = " + capacity + ": allowed 1 and up");
    }
    this.slots = new AtomicReferenceArray<>(capacity);
    this.factory = factory;
  }

  /** An idle context, or a new one when none is idle. The caller has it alone until {@link #give}. */
  T take() {
    int n = slots.length();
    int start = start(n);
    for (int i = 0; i < n; i++) {
      int at = (start + i) % n;
      T t = slots.get(at); // a plain read first: no write to a slot another thread's CAS is racing for
      if (t != null && slots.compareAndSet(at, t, null)) {
        return t;
      }
    }
    return factory.get();
  }

  /** Hands {@code t} back after use: kept for the next {@link #take}, or closed when the pool is full. */
  void give(T t) {
    if (closed) {
      close(t);
      return;
    }
    int n = slots.length();
    int start = start(n);
    for (int i = 0; i < n; i++) {
      int at = (start + i) % n;
      if (slots.get(at) == null && slots.compareAndSet(at, null, t)) {
        if (closed) {
          closeAll(); // closeAll ran between the check above and this slot: it may have missed t
        }
        return;
      }
    }
    close(t);
  }

  /**
   * Closes every idle context, and from now on each one given back. Its owner's cleaner calls it once
   * the owner is unreachable; a context given back in a race with it is closed by whichever of the two
   * comes second.
   */
  void closeAll() {
    closed = true;
    for (int i = 0; i < slots.length(); i++) {
      T t = slots.getAndSet(i, null);
      if (t != null) {
        close(t);
      }
    }
  }

  /** How many contexts are idle now (tests). */
  int idle() {
    int idle = 0;
    for (int i = 0; i < slots.length(); i++) {
      if (slots.get(i) != null) {
        idle++;
      }
    }
    return idle;
  }

  /** Threads start at different slots, so that they rarely race for one. */
  private static int start(int n) {
    return (int) (Thread.currentThread().threadId() % n);
  }

  private static void close(AutoCloseable t) {
    try {
      t.close();
    } catch (Exception e) {
      // zstd-jni's close frees native memory and declares no failure; nothing to do with one here
      throw new IllegalStateException("closing a codec context failed: " + e, e);
    }
  }
}
