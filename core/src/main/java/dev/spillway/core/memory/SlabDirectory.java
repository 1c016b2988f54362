package dev.spillway.core.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;

/**
 * The table from slab index (the middle bits of a handle) to {@link Slab}: two levels of 1024
 * entries, pages created on demand, so an idle allocator costs 8 KiB of table. Lookups are plain
 * array reads; a handle reaches another thread only through the application's own synchronization,
 * which also publishes the slab.
 *
 * <p>Released indexes are reused oldest first, and the slab that reuses an index starts its
 * generations past every generation its predecessor handed out, so a handle into a released slab stays
 * detectably stale.
 */
final class SlabDirectory {
  private static final int PAGE_BITS = 10;
  private static final int PAGE_SIZE = 1 << PAGE_BITS;
  private static final int PAGE_MASK = PAGE_SIZE - 1;

  /** Read directly by the allocator's fast path; see {@link #get}. */
  final Slab[][] pages = new Slab[Handles.MAX_SLABS >>> PAGE_BITS][];
  private final ArrayDeque<long[]> released = new ArrayDeque<>();
  private int nextFresh;
  private int live;
  private int pageCount;

  /** The slab at {@code index}, or null. */
  Slab get(int index) {
    return get(pages, index);
  }

  /** The slab at {@code index} of the table {@code pages}, or null. */
  static Slab get(Slab[][] pages, int index) {
    Slab[] page = pages[index >>> PAGE_BITS];
    return page == null ? null : page[index & PAGE_MASK];
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

  /** Removes {@code slab} from the table and returns its memory to the OS. */
  void release(Slab slab) {
    int seed = slab.nextSeed();
    synchronized (this) {
      pages[slab.id >>> PAGE_BITS][slab.id & PAGE_MASK] = null;
      live--;
      released.addLast(new long[] {slab.id, seed});
    }
    slab.arena.close();
  }

  synchronized int liveSlabs() {
    return live;
  }

  /** Heap bytes of the table itself. */
  synchronized long metadataBytes() {
    return 16L + 4L * pages.length + (long) pageCount * (16 + 4L * PAGE_SIZE);
  }

  private synchronized long[] reserve() {
    long[] reused = released.pollFirst();
    if (reused != null) {
      live++;
      return reused;
    }
    if (nextFresh >= Handles.MAX_SLABS) {
      throw new OffHeapMemoryException("the slab table is full: " + Handles.MAX_SLABS
          + " slabs are live; raise spillway.memory.small-slab-size / large-slab-size so fewer,"
          + " larger slabs hold the same memory");
    }
    int index = nextFresh++;
    if (pages[index >>> PAGE_BITS] == null) {
      pages[index >>> PAGE_BITS] = new Slab[PAGE_SIZE];
      pageCount++;
    }
    live++;
    return new long[] {index, 0};
  }

  private synchronized void unreserve(int index, int seed) {
    live--;
    released.addFirst(new long[] {index, seed});
  }

  private synchronized void publish(Slab slab) {
    pages[slab.id >>> PAGE_BITS][slab.id & PAGE_MASK] = slab;
  }
}
