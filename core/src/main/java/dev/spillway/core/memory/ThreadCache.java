package dev.spillway.core.memory;

import dev.spillway.memory.AllocatorClosedException;
import dev.spillway.memory.SizeClasses;
import dev.spillway.config.ThreadCacheSettings;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.WeakReference;

/**
 * One thread's magazines of free slots, one per pooled class (small and large). Only the owning thread touches a
 * magazine's slots, so allocate and free are a few plain array operations with no lock and no atomic
 * beyond the slot's generation. An empty magazine refills half its capacity from the pool in one
 * locked batch; a full one returns its older half the same way.
 *
 * <p>Bounded by {@link ThreadCacheSettings}. Trimmed when idle: the maintenance pass flags a cache
 * whose counters did not move since the previous pass, and the owner empties it on its next
 * operation (the owner's exclusive access is what keeps the fast path free of atomics). Released when
 * its thread dies: the maintenance pass, or the next thread to register, returns its slots.
 *
 * <p>Counters are written by the owner with opaque stores and read by statistics without locks.
 */
final class ThreadCache {
  private static final VarHandle ALLOCS;
  private static final VarHandle FREES;
  private static final VarHandle REQUESTED;
  private static final VarHandle COUNT;

  static {
    try {
      MethodHandles.Lookup lookup = MethodHandles.lookup();
      ALLOCS = lookup.findVarHandle(Magazine.class, "allocs", long.class);
      FREES = lookup.findVarHandle(Magazine.class, "frees", long.class);
      REQUESTED = lookup.findVarHandle(Magazine.class, "requested", long.class);
      COUNT = lookup.findVarHandle(Magazine.class, "count", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /**
   * The free slots of one class held by one thread, as a stack of the handles their next blocks get
   * (generation and location, no slack): one primitive array, so pushing and popping store no
   * references and run no GC write barrier, and a small allocation touches no slab at all.
   */
  static final class Magazine {
    final SizePool pool;
    final int blockSize;
    final long[] locations;
    final int refill;
    int count;
    long allocs;
    long frees;
    long requested;

    Magazine(SizePool pool, int capacity) {
      this.pool = pool;
      this.blockSize = pool.blockSize;
      this.locations = new long[capacity];
      this.refill = Math.max(1, capacity / 2);
    }

    long heapBytes() {
      return 64L + 16 + 8L * locations.length;
    }
  }

  final WeakReference<Thread> owner;
  final long threadId;
  private final Magazine[] magazines = new Magazine[SizeClasses.COUNT];
  private final SizePool[] pools;
  private final SlabDirectory directory;
  private final ThreadCacheSettings settings;
  volatile boolean trimRequested;
  /** Operations counted at the previous maintenance pass; owned by the maintenance pass. */
  long opsAtLastPass = -1;

  ThreadCache(Thread owner, SizePool[] pools, SlabDirectory directory, ThreadCacheSettings settings) {
    this.owner = new WeakReference<>(owner);
    this.threadId = owner.threadId();
    this.pools = pools;
    this.directory = directory;
    this.settings = settings;
  }

  private Magazine magazine(int cls) {
    Magazine m = magazines[cls];
    if (m == null) {
      SizePool pool = pools[cls];
      m = new Magazine(pool, settings.capacityFor(pool.blockSize));
      magazines[cls] = m;
    }
    return m;
  }

  /** Allocates a block of {@code size} bytes from class {@code cls}; returns its handle. */
  long allocate(int cls, int size) {
    if (trimRequested) {
      trim();
    }
    Magazine m = magazine(cls);
    int n = m.count;
    if (n == 0) {
      n = m.pool.takeBatch(m.locations, m.refill);
    }
    n--;
    long next = m.locations[n];
    COUNT.setOpaque(m, n);
    ALLOCS.setOpaque(m, m.allocs + 1);
    REQUESTED.setOpaque(m, m.requested + size);
    if (m.blockSize < Slab.IDLE_CLOCK_FROM) {
      // Small classes carry the exact size in the handle, and these have no idle clock: no slab is touched.
      return next | ((long) (m.blockSize - size) << Handles.SLACK_SHIFT);
    }
    Slab slab = directory.get(Handles.slab(next));
    if (slab == null) {
      throw new AllocatorClosedException(); // only a closed allocator drops a slab a magazine holds
    }
    slab.markAllocated(Handles.slot(next));
    if (cls < SizeClasses.SMALL_COUNT) {
      return next | ((long) (m.blockSize - size) << Handles.SLACK_SHIFT);
    }
    slab.requested[Handles.slot(next)] = size; // large classes keep it per slot
    return next;
  }

  /**
   * Parks the slot of a freed block; {@code next} is the handle its next block gets (the freed
   * handle with the slot's new generation, no slack).
   */
  void free(int cls, long next, long requested) {
    if (trimRequested) {
      trim();
    }
    Magazine m = magazine(cls);
    long[] locations = m.locations;
    int n = m.count;
    if (n == locations.length) {
      int half = n / 2;
      m.pool.returnBatch(locations, 0, half);
      System.arraycopy(locations, half, locations, 0, n - half);
      n -= half;
    }
    locations[n] = next;
    COUNT.setOpaque(m, n + 1);
    FREES.setOpaque(m, m.frees + 1);
    REQUESTED.setOpaque(m, m.requested - requested);
  }

  /** Returns every parked slot to its pool. Only the owner, or anyone once the owner has died. */
  void trim() {
    trimRequested = false;
    for (Magazine m : magazines) {
      if (m != null && m.count > 0) {
        m.pool.returnBatch(m.locations, 0, m.count);
        COUNT.setOpaque(m, 0);
      }
    }
  }

  /** Returns all slots and hands the counters to the pools; the cache is dead afterwards. */
  void retire() {
    trim();
    for (Magazine m : magazines) {
      if (m != null) {
        m.pool.retire(m.allocs, m.frees, m.requested);
      }
    }
  }

  boolean ownerAlive() {
    Thread t = owner.get();
    return t != null && t.isAlive();
  }

  /** Operations so far, for idle detection. */
  long ops() {
    long ops = 0;
    for (Magazine m : magazines) {
      if (m != null) {
        ops += (long) ALLOCS.getOpaque(m) + (long) FREES.getOpaque(m);
      }
    }
    return ops;
  }

  /** Adds this cache's counters of class {@code cls} to {@code into}: allocs, frees, requested, cached. */
  void addCounters(int cls, long[] into) {
    Magazine m = magazines[cls];
    if (m != null) {
      into[0] += (long) ALLOCS.getOpaque(m);
      into[1] += (long) FREES.getOpaque(m);
      into[2] += (long) REQUESTED.getOpaque(m);
      into[3] += (int) COUNT.getOpaque(m);
    }
  }

  long heapBytes() {
    long bytes = 32L + 16 + 4L * magazines.length;
    for (Magazine m : magazines) {
      if (m != null) {
        bytes += m.heapBytes();
      }
    }
    return bytes;
  }
}
