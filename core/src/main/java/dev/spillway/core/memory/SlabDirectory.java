package dev.spillway.core.memory;

import dev.spillway.memory.BudgetExceededException;
import dev.spillway.memory.OffHeapMemoryException;
import dev.spillway.memory.SizeClasses;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.Arrays;

/**
 * The table from slab index (the middle bits of a handle) to {@link Slab}: one flat array, grown by
 * doubling and republished whole, so a lookup is one array load. Readers take the current array
 * without locks; a handle reaches another thread only through the application's own synchronization,
 * which also publishes the slab.
 *
 * <p>Released indexes are reused oldest first, and the slab that reuses an index starts its
 * generations past every generation its predecessor handed out, so a handle into a released slab stays
 * detectably stale. An index that a moved block's handle still names is not reused until that block
 * is gone ({@link #movedBlocksGone}).
 */
final class SlabDirectory {
  private static final int INITIAL_CAPACITY = 256;

  /** The current table; replaced (never resized in place) under the lock. */
  private volatile Slab[] table = new Slab[INITIAL_CAPACITY];
  private final ArrayDeque<long[]> released = new ArrayDeque<>();
  private int nextFresh;
  /** Every mapping is counted here. */
  final MemoryBudget budget = new MemoryBudget();

  /** One past the highest index a slab can have right now (for sweeps over every slab). */
  int indexLimit() {
    return table.length;
  }

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
    return create(classIndex, blockSize, slots, bytes, false);
  }

  /**
   * Maps a slab of {@code bytes} within the {@link #budget}; with {@code overdraw} (a block coming
   * back from the tier) the budget's slack may be used too.
   *
   * @throws BudgetExceededException when the budget has no room for it
   */
  Slab create(int classIndex, int blockSize, int slots, long bytes, boolean overdraw) {
    if (!budget.tryReserve(bytes, overdraw)) {
      throw budget.exceeded(bytes, classIndex == SizeClasses.HUGE ? "a huge block" : "a slab of " + blockSize
          + "-byte blocks");
    }
    boolean counted = false;
    try {
      Slab slab = map(classIndex, blockSize, slots, bytes);
      counted = true;
      return slab;
    } finally {
      if (!counted) {
        budget.release(bytes);
      }
    }
  }

  // The arena is the slab's: release() closes it with the slab, the finally block when mapping fails.
  @SuppressWarnings("MustBeClosedChecker")
  private Slab map(int classIndex, int blockSize, int slots, long bytes) {
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

  /** Removes {@code slab} from the table and returns its memory to the OS. */
  void release(Slab slab) {
    int seed = slab.nextSeed();
    synchronized (this) {
      table[slab.id] = null;
      slab.released = true;
      if (slab.movedCount() == 0) {
        released.addLast(new long[] {slab.id, seed});
      }
    }
    slab.arena.close();
    budget.release(slab.bytes());
  }

  /** Called when the last moved block naming {@code slab} is gone: a released slab's index is free. */
  synchronized void movedBlocksGone(Slab slab) {
    if (slab.released && slab.movedCount() == 0 && table[slab.id] == null) {
      released.addLast(new long[] {slab.id, slab.nextSeed()});
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
    table[slab.id] = slab;
  }
}
