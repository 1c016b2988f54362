package dev.spillway.core.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The table from slab index (the middle bits of a handle) to {@link Slab}: one flat array, grown by
 * doubling and republished whole, so a lookup is one array load. Readers take the current array
 * without locks; a handle reaches another thread only through the application's own synchronization,
 * which also publishes the slab.
 *
 * <p><b>Access epochs.</b> Every slab's {@link Slab#view} is its mapping re-tied to one shared arena,
 * the current epoch. {@link #endEpoch()} publishes fresh views from a new arena and then closes the
 * old one. Closing a shared arena is a JVM handshake: once it returns, no thread is inside an access
 * through an old view, and any later access through one fails with {@link IllegalStateException}.
 * That is the grace period blocks need before they move: freeze the block (its generation changes, so
 * new accesses take the slow path), end the epoch, and every access that passed its check before the
 * freeze has finished. The fast path pays nothing for it: no fence, no counter.
 *
 * <p><b>Release.</b> A released slab leaves the table at once, but its mapping is unmapped only after
 * the next epoch ends, since a thread may still hold a view of it. Released indexes are reused oldest
 * first, and the slab that reuses an index starts its generations past every generation its
 * predecessor handed out, so a handle into a released slab stays detectably stale. An index some
 * moved block's handle still names is not reused until that block is gone.
 */
final class SlabDirectory {
  private static final int INITIAL_CAPACITY = 256;

  /** The current table; replaced (never resized in place) under the lock. */
  private volatile Slab[] table = new Slab[INITIAL_CAPACITY];
  private final ArrayDeque<long[]> released = new ArrayDeque<>();
  /** Released slabs whose mappings wait for the current epoch to end. */
  private final List<Slab> unmapAfterEpoch = new ArrayList<>();
  private int nextFresh;
  private Arena epoch = Arena.ofShared();
  /** Held by whoever moves blocks (a spill batch) or ends an epoch for released slabs. */
  private final ReentrantLock moves = new ReentrantLock();
  private long epochs;
  private boolean closed;

  /** The slab at {@code index}, or null. */
  Slab get(int index) {
    Slab[] t = table;
    return index < t.length ? t[index] : null;
  }

  /**
   * Maps a new slab of {@code slots} blocks of {@code blockSize} bytes. The mapping is made outside
   * the table's lock; on failure the index goes back and nothing is leaked.
   */
  Slab create(int classIndex, int blockSize, int slots, long bytes) {
    long[] reserved = reserve();
    int index = (int) reserved[0];
    Arena arena = Arena.ofShared();
    boolean ok = false;
    try {
      MemorySegment memory = PageMapper.map(bytes, arena);
      Slab slab = new Slab(index, classIndex, blockSize, slots, arena, memory, (int) reserved[1]);
      publish(slab);
      ok = true;
      return slab;
    } finally {
      if (!ok) {
        arena.close();
        unreserve(index, (int) reserved[1]);
      }
    }
  }

  /**
   * Removes {@code slab} from the table. Its memory goes back to the OS when the current epoch ends
   * ({@link #endEpoch()}, which the allocator calls after a batch of releases).
   */
  void release(Slab slab) {
    int seed = slab.nextSeed();
    synchronized (this) {
      table[slab.id] = null; // its view stays valid (over mapped memory) until the epoch ends
      slab.released = true;
      if (slab.movedCount() == 0) {
        released.addLast(new long[] {slab.id, seed});
      }
      unmapAfterEpoch.add(slab);
    }
  }

  /** Called when the last moved block naming {@code slab} is gone: a released slab's index is free. */
  synchronized void movedBlocksGone(Slab slab) {
    if (slab.released && slab.movedCount() == 0 && table[slab.id] == null) {
      released.addLast(new long[] {slab.id, slab.nextSeed()});
    }
  }

  /**
   * Ends the current access epoch: publishes every slab's view from a new arena, then closes the old
   * one (a handshake with every thread) and unmaps the slabs released meanwhile. Callers serialize
   * themselves; concurrent calls are safe but each pays a handshake.
   */
  void endEpoch() {
    Arena old;
    List<Slab> unmap;
    synchronized (this) {
      if (closed) {
        return;
      }
      old = epoch;
      epoch = Arena.ofShared();
      epochs++;
      for (Slab slab : table) {
        if (slab != null) {
          slab.view = slab.memory.reinterpret(epoch, null);
        }
      }
      unmap = new ArrayList<>(unmapAfterEpoch);
      unmapAfterEpoch.clear();
    }
    old.close();
    for (Slab slab : unmap) {
      slab.arena.close();
    }
  }

  /** Takes the move lock: one batch of moves (and their epoch ends) at a time. */
  void lockMoves() {
    moves.lock();
  }

  /** Releases the move lock, then ends an epoch if released slabs are waiting for one. */
  void unlockMoves() {
    moves.unlock();
    unmapReleased();
  }

  /**
   * Ends the epoch when released slabs wait for it, unless a move holds the lock: that holder ends one
   * itself when it unlocks, so released memory always goes back without waiting for a move to finish.
   */
  void unmapReleased() {
    while (hasPendingUnmaps() && moves.tryLock()) {
      try {
        if (hasPendingUnmaps()) {
          endEpoch();
        }
      } finally {
        moves.unlock();
      }
    }
  }

  /** Whether released slabs wait for an epoch to end before their memory goes back. */
  synchronized boolean hasPendingUnmaps() {
    return !unmapAfterEpoch.isEmpty();
  }

  /** Epochs ended so far. */
  synchronized long epochs() {
    return epochs;
  }

  /** Ends the last epoch and unmaps every released slab; the directory is unusable afterwards. */
  void close() {
    moves.lock();
    try {
      endEpoch();
    } finally {
      moves.unlock();
    }
    synchronized (this) {
      closed = true;
      epoch.close();
    }
  }

  /** Heap bytes of the table itself. */
  long metadataBytes() {
    return 16L + 4L * table.length;
  }

  private synchronized long[] reserve() {
    long[] reused = released.pollFirst();
    if (reused != null) {
      return reused;
    }
    if (nextFresh >= Handles.MAX_SLABS) {
      throw new OffHeapMemoryException("the slab table is full: " + Handles.MAX_SLABS
          + " slabs are live; raise spillway.memory.small-slab-size / large-slab-size so fewer,"
          + " larger slabs hold the same memory");
    }
    int index = nextFresh++;
    if (index >= table.length) {
      table = Arrays.copyOf(table, Math.min(Handles.MAX_SLABS, table.length * 2));
    }
    return new long[] {index, 0};
  }

  private synchronized void unreserve(int index, int seed) {
    released.addFirst(new long[] {index, seed});
  }

  private synchronized void publish(Slab slab) {
    if (closed) {
      throw new AllocatorClosedException();
    }
    slab.view = slab.memory.reinterpret(epoch, null);
    table[slab.id] = slab;
  }
}
