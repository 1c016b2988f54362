package dev.spillway.core.memory;

import dev.spillway.memory.AllocatorClosedException;
import dev.spillway.memory.BudgetExceededException;
import dev.spillway.memory.PoolExhaustedException;
import dev.spillway.memory.PoolStats;
import dev.spillway.memory.SizeClasses;
import dev.spillway.config.PoolSettings;
import dev.spillway.config.Sizes;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The shared pool of one size class: its slabs, sorted onto three lists by occupancy, and the grow /
 * shrink rules. Thread caches take and return slots here in batches; large classes (and small ones
 * when caching is off) take single slots. Every method takes the pool's lock: this is the slow path.
 *
 * <p>Allocation prefers partly used slabs over empty ones, so empty slabs stay empty and can go back
 * to the OS when the pool shrinks. Capacity changes in whole slabs: {@code maxBlocks} is rounded up
 * to a whole slab, and a pool never shrinks below its initial capacity.
 */
final class SizePool {
  private static final int PARTIAL = 0;
  private static final int EMPTY = 1;
  private static final int FULL = 2;

  final int classIndex;
  final int blockSize;
  /** The class's name in stats and settings ({@link Sizes#classKey}), made once. */
  final String name;
  final int slotsPerSlab;
  final long slabBytes;
  final long initialBlocks;
  final long maxBlocks;
  private final String limitSource;
  private final SlabDirectory directory;
  private final ReentrantLock lock = new ReentrantLock();
  private final SlabList partial = new SlabList(PARTIAL);
  private final SlabList empty = new SlabList(EMPTY);
  private final SlabList full = new SlabList(FULL);
  private final List<SlabList> lists = List.of(partial, empty, full);

  private int slabs;
  private long taken;
  private boolean closed;
  /** Allocations and frees that bypassed thread caches, plus those of retired caches. */
  private long allocs;
  private long frees;
  private long requestedBytes;
  /** Live blocks of this class whose bytes are on the NVMe tier, and what they were asked for. */
  private long spilled;
  private long spilledRequested;

  SizePool(int classIndex, int slotsPerSlab, long slabBytes, long initialBlocks, long maxBlocks,
      String limitSource, SlabDirectory directory) {
    this.classIndex = classIndex;
    this.blockSize = SizeClasses.sizeOf(classIndex);
    this.name = Sizes.classKey(blockSize);
    this.slotsPerSlab = slotsPerSlab;
    this.slabBytes = slabBytes;
    this.initialBlocks = roundToSlabs(initialBlocks);
    this.maxBlocks = Math.max(slotsPerSlab, roundToSlabs(maxBlocks));
    this.limitSource = limitSource;
    this.directory = directory;
    lock.lock();
    try {
      while ((long) slabs * slotsPerSlab < this.initialBlocks) {
        addSlab();
      }
    } finally {
      lock.unlock();
    }
  }

  private long roundToSlabs(long blocks) {
    return (blocks + slotsPerSlab - 1) / slotsPerSlab * slotsPerSlab;
  }

  long capacityBlocks() {
    return (long) slabs * slotsPerSlab;
  }

  // ---- slots -------------------------------------------------------------------------------------

  /**
   * Takes up to {@code max} free slots into {@code out} from index 0, each as the handle its next
   * block gets (generation and location, no slack), growing by a slab when none is free. Returns
   * how many were taken, at least one.
   */
  int takeBatch(long[] out, int max) {
    lock.lock();
    try {
      int n = 0;
      while (n < max) {
        Slab slab = partial.first();
        if (slab == null) {
          slab = empty.first();
        }
        if (slab == null) {
          if (n > 0 || !canGrow()) {
            break;
          }
          slab = addSlab();
        }
        while (n < max) {
          int slot = slab.take();
          if (slot < 0) {
            break;
          }
          out[n++] = Handles.make(slab.generation(slot), 0, slab.id, slot);
        }
        relist(slab);
      }
      if (n == 0) {
        throw exhausted();
      }
      taken += n;
      return n;
    } finally {
      lock.unlock();
    }
  }

  /** Returns {@code count} slots taken by {@link #takeBatch} (handles or locations). */
  void returnBatch(long[] locations, int from, int count) {
    lock.lock();
    try {
      if (closed) {
        throw new AllocatorClosedException();
      }
      for (int i = from; i < from + count; i++) {
        Slab slab = directory.get(Handles.slab(locations[i]));
        if (slab == null) {
          throw new AllocatorClosedException(); // close released it under a racing free
        }
        slab.release(Handles.slot(locations[i]));
        relist(slab);
      }
      taken -= count;
    } finally {
      lock.unlock();
    }
  }

  /** Allocates one block without a thread cache; returns its handle. */
  long allocate(int requested) {
    lock.lock();
    try {
      Slab slab = partial.first();
      if (slab == null) {
        slab = empty.first();
      }
      if (slab == null) {
        if (!canGrow()) {
          throw exhausted();
        }
        slab = addSlab();
      }
      int slot = slab.take();
      relist(slab);
      taken++;
      allocs++;
      requestedBytes += requested;
      slab.markAllocated(slot);
      int slack = 0;
      if (slab.requested != null) {
        slab.requested[slot] = requested;
      } else {
        slack = blockSize - requested;
      }
      return Handles.make(slab.generation(slot), slack, slab.id, slot);
    } finally {
      lock.unlock();
    }
  }

  /** Frees one block whose generation the caller already moved to free. */
  void free(Slab slab, int slot, long requested) {
    lock.lock();
    try {
      if (closed) {
        throw new AllocatorClosedException();
      }
      slab.release(slot);
      relist(slab);
      taken--;
      frees++;
      requestedBytes -= requested;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Returns the slot of a block that was just spilled: the block stays live but leaves RAM. The
   * caller already moved the slot's generation past the block's.
   */
  void releaseSpilled(Slab slab, int slot, long requested, boolean keepSlot) {
    lock.lock();
    try {
      if (closed) {
        throw new AllocatorClosedException();
      }
      if (!keepSlot) {
        slab.release(slot);
        relist(slab);
        taken--;
      }
      spilled++;
      spilledRequested += requested;
      requestedBytes -= requested;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Takes a slot for a block coming back from the tier: {@code home}'s {@code slot} when it is still
   * free and at generation {@code homeGeneration} (nothing used it since the block left), otherwise
   * any other free slot, growing if needed. Returns the taken slot as a handle (its current
   * generation and location, no slack).
   *
   * <p>The caller restores the block in place (rewinding the slot to the block's own generation)
   * when the handle returned names the home location, so the home slot is never returned at another
   * generation: a block that used it meanwhile had that generation, and once the rewound block was
   * freed the slot would hand the same generation out again, reviving every stale handle of the
   * blocks in between. When the home slot is the only free one and the pool cannot grow, this
   * throws {@link PoolExhaustedException} like a pool without any free slot.
   */
  long takeForRestore(Slab home, int slot, int homeGeneration, long requested) {
    lock.lock();
    try {
      long handle;
      boolean homeInPool = home != null && home.list >= 0 && !home.released;
      if (homeInPool && home.generation(slot) == homeGeneration && home.take(slot)) {
        relist(home);
        handle = Handles.make(homeGeneration, 0, home.id, slot);
      } else {
        // Used since the block left (or taken now): hold a free home slot back while another is found.
        boolean heldBack = homeInPool && home.take(slot);
        if (heldBack) {
          relist(home);
        }
        try {
          Slab slab = partial.first();
          if (slab == null) {
            slab = empty.first();
          }
          if (slab == null) {
            if (!canGrow()) {
              throw exhausted();
            }
            slab = addSlab(/* overdraw= */ true);
          }
          int s = slab.take();
          relist(slab);
          handle = Handles.make(slab.generation(s), 0, slab.id, s);
        } finally {
          if (heldBack) {
            home.release(slot);
            relist(home);
          }
        }
      }
      taken++;
      spilled--;
      spilledRequested -= requested;
      requestedBytes += requested;
      return handle;
    } finally {
      lock.unlock();
    }
  }

  /** Returns a slot kept out of the pool by {@code releaseSpilled(..., keepSlot = true)}. */
  void releaseSlot(Slab slab, int slot) {
    lock.lock();
    try {
      if (closed) {
        throw new AllocatorClosedException();
      }
      slab.release(slot);
      relist(slab);
      taken--;
    } finally {
      lock.unlock();
    }
  }

  /** Gives back a slot {@link #takeForRestore} took for a restore that failed. */
  void undoRestore(Slab slab, int slot, long requested) {
    lock.lock();
    try {
      if (closed) {
        return;
      }
      slab.release(slot);
      relist(slab);
      taken--;
      spilled++;
      spilledRequested += requested;
      requestedBytes -= requested;
    } finally {
      lock.unlock();
    }
  }

  /** Accounts the free of a block whose slot stays out of the pool (quarantined). */
  void freeKeepSlot(long requested) {
    lock.lock();
    try {
      frees++;
      requestedBytes -= requested;
    } finally {
      lock.unlock();
    }
  }

  /**
   * A spilled block is freed: {@code requested} is what it was counted at when it spilled, and
   * {@code correction} what that exceeds the size it was counted at when allocated.
   */
  void freeSpilled(long requested, long correction) {
    lock.lock();
    try {
      spilled--;
      spilledRequested -= requested;
      requestedBytes += correction;
      frees++;
    } finally {
      lock.unlock();
    }
  }

  /** Live blocks of this class on the tier, and the bytes they were asked for. */
  long[] spilledFigures() {
    lock.lock();
    try {
      return new long[] {spilled, spilledRequested};
    } finally {
      lock.unlock();
    }
  }

  /** Folds the counters of a thread cache that is going away. */
  void retire(long cacheAllocs, long cacheFrees, long cacheRequested) {
    lock.lock();
    try {
      allocs += cacheAllocs;
      frees += cacheFrees;
      requestedBytes += cacheRequested;
    } finally {
      lock.unlock();
    }
  }

  // ---- grow / shrink ---------------------------------------------------------------------------

  private boolean canGrow() {
    return capacityBlocks() + slotsPerSlab <= maxBlocks;
  }

  private Slab addSlab() {
    return addSlab(false);
  }

  /** Maps one more slab; {@code overdraw} lets a restore use the budget's slack. */
  private Slab addSlab(boolean overdraw) {
    if (closed) {
      throw new AllocatorClosedException();
    }
    Slab slab = directory.create(classIndex, blockSize, slotsPerSlab, slabBytes, overdraw);
    empty.add(slab);
    slabs++;
    return slab;
  }

  private void relist(Slab slab) {
    int target = slab.used() == 0 ? EMPTY : slab.used() == slab.slots ? FULL : PARTIAL;
    if (slab.list != target) {
      lists.get(slab.list).remove(slab);
      lists.get(target).add(slab);
    }
  }

  /**
   * Applies the grow and shrink rules once: grow by {@code growStep} of the maximum (at most
   * doubling, at least one slab) when at least {@code growWhenUsed} of capacity is taken; release
   * empty slabs worth up to {@code shrinkStep} of the maximum when more than {@code shrinkWhenFree} is
   * free, never below the initial capacity. When the memory budget has no room for another slab of
   * this class, every empty slab goes back first (down to the initial capacity), whatever the rules.
   * Returns the change in capacity, in blocks.
   */
  long maintain(PoolSettings rules) {
    lock.lock();
    try {
      long capacity = capacityBlocks();
      if (starved() && empty.first() != null && capacity > initialBlocks) {
        // At the budget an empty slab is memory another class may be waiting for: it goes back now,
        // whatever the shrink rule says (the control plane empties slabs on purpose to get here).
        List<Slab> victims = new ArrayList<>();
        while (empty.first() != null && capacityBlocks() - slotsPerSlab >= initialBlocks) {
          Slab slab = empty.first();
          empty.remove(slab);
          slabs--;
          victims.add(slab);
        }
        for (Slab slab : victims) {
          directory.release(slab);
        }
        return capacityBlocks() - capacity;
      }
      if (capacity > 0 && taken >= rules.growWhenUsed() * capacity && capacity < maxBlocks) {
        // The rule's step is a fraction of the maximum, but never more than doubling: a class using
        // a few KiB under a 1 GiB maximum must not map 100 MiB ahead of a demand it has not shown.
        long step = Math.min((long) Math.ceil(rules.growStep() * maxBlocks), capacity);
        long target = Math.min(maxBlocks, capacity + Math.max(slotsPerSlab, step));
        try {
          while (capacityBlocks() + slotsPerSlab <= target) {
            addSlab();
          }
        } catch (BudgetExceededException full) {
          // Growing ahead is an optimization: at the budget the pool simply stays as it is.
        }
        return capacityBlocks() - capacity;
      }
      if (capacity > initialBlocks && capacity - taken > rules.shrinkWhenFree() * capacity) {
        long step = Math.max(slotsPerSlab, (long) Math.floor(rules.shrinkStep() * maxBlocks));
        long floor = Math.max(initialBlocks, capacity - step);
        List<Slab> victims = new ArrayList<>();
        while (empty.first() != null && capacityBlocks() - slotsPerSlab >= floor) {
          Slab slab = empty.first();
          empty.remove(slab);
          slabs--;
          victims.add(slab);
        }
        for (Slab slab : victims) {
          directory.release(slab);
        }
        return capacityBlocks() - capacity;
      }
      return 0;
    } finally {
      lock.unlock();
    }
  }

  /** Whether the memory budget has no room left for one more slab of this pool. */
  private boolean starved() {
    return directory.budget.starved(slabBytes);
  }

  /** Releases every slab; the pool is unusable afterwards. */
  void closeAll() {
    lock.lock();
    try {
      for (SlabList list : lists) {
        for (Slab slab = list.first(); slab != null; slab = list.first()) {
          list.remove(slab);
          directory.release(slab);
        }
      }
      slabs = 0;
      closed = true;
    } finally {
      lock.unlock();
    }
  }

  // ---- statistics ------------------------------------------------------------------------------

  /** Pool-side figures; the allocator adds the thread caches' counters. */
  PoolStats stats(long cacheAllocs, long cacheFrees, long cacheRequested, long cachedBlocks) {
    lock.lock();
    try {
      long metadata = 0;
      for (SlabList list : lists) {
        for (Slab s = list.first(); s != null; s = s.next) {
          metadata += s.metadataBytes();
        }
      }
      // The caches' counters are read one after another while their threads run: a free counted in
      // one thread's cache before the allocation it frees was counted in another's makes the sums dip
      // below zero (or above capacity) for a moment. A snapshot never reports what cannot be.
      long inUse = Math.max(0, allocs + cacheAllocs - (frees + cacheFrees) - spilled);
      long capacity = capacityBlocks();
      return new PoolStats(name, blockSize, slabs, capacity, inUse, cachedBlocks,
          Math.max(0, capacity - inUse), (long) slabs * slabBytes, Math.max(0, requestedBytes + cacheRequested),
          inUse * blockSize, metadata, allocs + cacheAllocs, frees + cacheFrees, initialBlocks, maxBlocks);
    } finally {
      lock.unlock();
    }
  }

  PoolExhaustedException exhausted() {
    return new PoolExhaustedException("size class " + Sizes.format(blockSize) + " is exhausted: all "
        + capacityBlocks() + " blocks (" + Sizes.format(capacityBlocks() * blockSize)
        + ") are in use or held in thread caches, and the pool is at its maximum of " + maxBlocks
        + " blocks set by " + limitSource + "; raise that limit or free blocks");
  }
}
