package dev.spillway.core.memory;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * The allocator's own map from thread id to {@link ThreadCache}: an open-addressed array probed
 * linearly, read without locks and replaced whole (copy-on-write) when a thread registers or caches are
 * removed. A hit is one multiply, one array load and one compare.
 *
 * <p>Why not {@link ThreadLocal}: its per-thread map is shared with every other library's thread
 * locals, and once our entry lands behind a collision each lookup walks the probe chain through
 * weak references; profiling the allocate/free loop showed most samples there. Thread ids are never
 * reused, so an id identifies its thread for the life of the process.
 */
final class ThreadCacheTable {
  private static final int MIN_CAPACITY = 64;

  private volatile ThreadCache[] table = new ThreadCache[MIN_CAPACITY];
  private int size;

  private static int slotOf(long threadId, int mask) {
    return (int) ((threadId * 0x9E3779B97F4A7C15L) >>> 40) & mask;
  }

  /** The cache of thread {@code threadId}, or null. */
  ThreadCache get(long threadId) {
    ThreadCache[] t = table;
    int mask = t.length - 1;
    for (int i = slotOf(threadId, mask); ; i = (i + 1) & mask) {
      ThreadCache c = t[i];
      if (c == null || c.threadId == threadId) {
        return c;
      }
    }
  }

  /** Adds a cache; caller holds the allocator's registry lock. */
  void add(ThreadCache cache) {
    List<ThreadCache> all = snapshot();
    all.add(cache);
    rebuild(all);
  }

  /** Removes every cache matching {@code filter}; caller holds the registry lock. */
  List<ThreadCache> removeIf(Predicate<ThreadCache> filter) {
    List<ThreadCache> all = snapshot();
    List<ThreadCache> removed = new ArrayList<>();
    all.removeIf(c -> filter.test(c) && removed.add(c));
    if (!removed.isEmpty()) {
      rebuild(all);
    }
    return removed;
  }

  /** Every registered cache. */
  List<ThreadCache> snapshot() {
    List<ThreadCache> all = new ArrayList<>(size + 1);
    for (ThreadCache c : table) {
      if (c != null) {
        all.add(c);
      }
    }
    return all;
  }

  int size() {
    return size;
  }

  private void rebuild(List<ThreadCache> all) {
    int capacity = MIN_CAPACITY;
    while (capacity < all.size() * 3) { // at most a third full: probe chains stay short
      capacity <<= 1;
    }
    ThreadCache[] t = new ThreadCache[capacity];
    int mask = capacity - 1;
    for (ThreadCache c : all) {
      int i = slotOf(c.threadId, mask);
      while (t[i] != null) {
        i = (i + 1) & mask;
      }
      t[i] = c;
    }
    size = all.size();
    table = t;
  }

  /** Heap bytes of the table. */
  long heapBytes() {
    return 16L + 4L * table.length;
  }
}
