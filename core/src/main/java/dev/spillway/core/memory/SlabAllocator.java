package dev.spillway.core.memory;

import dev.spillway.codec.Codec;
import dev.spillway.config.MemorySettings;
import dev.spillway.core.tier.SegmentLog;
import dev.spillway.memory.AllocatorClosedException;
import dev.spillway.memory.AllocatorStats;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.PoolStats;
import dev.spillway.memory.SizeClasses;
import dev.spillway.memory.SpillOutcome;
import dev.spillway.memory.SpillStats;
import dev.spillway.memory.spi.AllocatorControl;
import dev.spillway.memory.spi.BlockRefs;
import dev.spillway.memory.spi.MaintenanceReport;
import dev.spillway.memory.spi.PreparedSpill;
import dev.spillway.memory.spi.RoomWaiter;
import dev.spillway.memory.spi.SpillReport;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.LongFunction;

/**
 * The slab allocator behind {@link BlockAllocator} and its {@link AllocatorControl}: size-class pools
 * of mmap-backed slabs ({@link SizePool}), per-thread magazines for the small and large classes
 * ({@link ThreadCache}), dedicated mappings for huge blocks ({@link HugeBlocks}). Here: allocate and
 * free, the thread caches, and the control plane's entry points. Reads and writes are
 * {@link BlockAccess}; spill and restore {@link BlockMover}; victims {@link VictimScan}.
 */
final class SlabAllocator extends BlockAccess implements BlockAllocator, AllocatorControl {
  private final MemorySettings settings;
  private final long maxBlockSize;
  private final boolean cacheEnabled;
  private final SizePool[] pools;
  private final HugeBlocks huge;
  private final ThreadCacheTable caches = new ThreadCacheTable();
  private final VictimScan victims;
  private final MoveObserver observer;
  /** How the mover reports a handle of no live block. */
  private final LongFunction<RuntimeException> invalidHandle = this::invalid;
  /** The tier's directories (empty without a tier). */
  private final List<Path> tierDirectories;
  /** The private tier directory this allocator made and deletes when it closes; null when none. */
  private final AutoCloseable ownedDirectory;

  SlabAllocator(MemorySettings settings) {
    this(settings, null, null, null, List.of(), null, MoveObserver.NONE);
  }

  /**
   * An allocator that spills to {@code store} with {@code codec} ({@code raw}, the store's raw codec,
   * when compression keeps not paying); it closes the store, and then {@code ownedDirectory} (when not
   * null), when it closes. {@code observer} hears the protocol's racy moments (tests).
   */
  SlabAllocator(MemorySettings settings, SegmentLog store, Codec codec, Codec raw, List<Path> tierDirectories,
      AutoCloseable ownedDirectory, MoveObserver observer) {
    this(settings, Parts.make(settings, store, codec, raw, observer), tierDirectories, ownedDirectory, observer);
  }

  private SlabAllocator(MemorySettings settings, Parts parts, List<Path> tierDirectories, AutoCloseable ownedDirectory,
      MoveObserver observer) {
    super(parts.directory, parts.mover, parts.gate);
    this.settings = settings;
    this.pools = parts.pools;
    this.huge = parts.huge;
    this.victims = new VictimScan(directory);
    this.tierDirectories = List.copyOf(tierDirectories);
    this.ownedDirectory = ownedDirectory;
    this.observer = Objects.requireNonNull(observer, "observer");
    this.maxBlockSize = settings.maxBlockSize();
    this.cacheEnabled = settings.threadCache().enabled();
  }

  /** What the allocator is made of, made before it (the access layer it extends takes some of it). */
  // A carrier from make() to the constructors, never compared or hashed: the array's identity equality is moot.
  @SuppressWarnings("ArrayRecordComponent")
  private record Parts(SlabDirectory directory, SizePool[] pools, HugeBlocks huge, WriteGate gate, BlockMover mover) {
    static Parts make(MemorySettings settings, SegmentLog store, Codec codec, Codec raw, MoveObserver observer) {
      SlabDirectory directory = new SlabDirectory();
      SizePool[] pools = PoolLayout.newPools(settings, directory);
      HugeBlocks huge = new HugeBlocks(directory);
      WriteGate gate = store == null ? null : new WriteGate();
      try {
        BlockMover mover = store == null ? null : new BlockMover(directory, pools, huge, store, codec, raw, gate, observer);
        return new Parts(directory, pools, huge, gate, mover);
      } catch (RuntimeException e) {
        PoolLayout.closeAll(pools);
        throw e;
      }
    }
  }

  /** The calling thread's cache, registering one on first use; null where caches are off. */
  private ThreadCache cache() {
    Thread t = Thread.currentThread();
    ThreadCache c = caches.get(t.threadId());
    return c != null ? c : register(t);
  }

  private ThreadCache register(Thread t) {
    if (!cacheEnabled || t.isVirtual()) {
      return null; // millions of virtual threads must not each pin a cache
    }
    synchronized (caches) {
      if (isClosed()) {
        throw new AllocatorClosedException();
      }
      reapDeadCaches();
      ThreadCache c = new ThreadCache(t, pools, directory, settings.threadCache());
      caches.add(c);
      return c;
    }
  }

  // ---- allocate / free ---------------------------------------------------------------------------

  @Override
  public long allocate(long size) {
    if (size <= 0 || size > maxBlockSize) {
      throw HandleErrors.badSize(size, maxBlockSize);
    }
    if (isClosed()) {
      throw new AllocatorClosedException(); // magazines would still hand out released slots
    }
    if (size <= SizeClasses.MAX_SMALL) {
      ThreadCache c = cache();
      if (c != null) {
        return c.allocate(SizeClasses.smallIndexOf((int) size), (int) size);
      }
    } else if (size <= SizeClasses.MAX_LARGE) {
      ThreadCache c = cache();
      if (c != null) {
        return c.allocate(SizeClasses.indexOf(size), (int) size);
      }
    }
    ensureOpen();
    if (size <= SizeClasses.MAX_LARGE) {
      return pools[SizeClasses.indexOf(size)].allocate((int) size);
    }
    return huge.allocate(size);
  }

  @Override
  public long allocateZeroed(long size) {
    long handle = allocate(size);
    Slab slab = live(handle);
    slab.memory.asSlice(slab.offsetOf(Handles.slot(handle)), size).fill((byte) 0);
    return handle;
  }

  @Override
  public void free(long handle) {
    // h: the handle the block is known by now. It starts as the caller's; once a forwarded block's
    // entry is gone, it is the block's RAM slot, which a sweep may freeze by reference like any
    // other slot, so from then on the slow path works on that handle, not the caller's.
    long h = handle;
    long version = movesVersion(h);
    for (;;) {
      if (freeDirect(h)) {
        return;
      }
      long r = mover == null ? Restorer.NOT_MOVED : mover.restorer.free(h);
      if (r == Restorer.FREED) {
        return;
      }
      if (r == Restorer.NOT_MOVED) {
        if (freeDirect(h)) {
          return; // it came back to its own slot meanwhile
        }
        long now = movesVersion(h);
        if (now == version) {
          throw HandleErrors.freeError(handle, slabOf(handle));
        }
        version = now; // a spill was aborted and the block frozen again between the looks: again
        continue;
      }
      if (r != h) {
        h = r; // the block's RAM slot
        version = movesVersion(h);
        observer.ramSlotFound(handle, h);
      }
    }
  }

  /** Frees a block whose handle names its slot directly; false when the handle does not. */
  private boolean freeDirect(long handle) {
    Slab slab = directory.get(Handles.slab(handle));
    int slot = Handles.slot(handle);
    int gen = Handles.generation(handle);
    if (slab == null || slot >= slab.slots || (gen & 1) == 0 || gen > slab.generationMask) {
      return false;
    }
    if (slab.everPinned() && slab.pinCount(slot) != 0 && slab.generation(slot) == gen) {
      throw HandleErrors.pinnedOnFree(handle, slab.pinCount(slot));
    }
    long requested = HandleErrors.requestedSize(handle, slab, slot);
    int next = mover == null ? slab.nextGeneration(gen) : mover.nextGeneration(slab, slot, gen);
    if (next < 0) {
      return mover.quarantineFree(slab, slot, gen, requested);
    }
    if (!slab.markFreed(slot, gen, next)) {
      return false;
    }
    int cls = slab.classIndex;
    if (cls < SizeClasses.COUNT) {
      ThreadCache c = cache();
      if (c != null) {
        c.free(cls, (handle & Handles.LOCATION_MASK) | ((long) next << Handles.GEN_SHIFT), requested);
        return true;
      }
    }
    if (cls == SizeClasses.HUGE) {
      huge.free(slab);
    } else {
      pools[cls].free(slab, slot, requested);
    }
    return true;
  }

  @Override
  public void trimCurrentThreadCache() {
    ensureOpen();
    ThreadCache c = cache();
    if (c != null) {
      c.trim();
    }
  }

  // ---- access ------------------------------------------------------------------------------------

  @Override
  public boolean isLive(long handle) {
    return query(handle, LIVE) != 0;
  }

  @Override
  public boolean isResident(long handle) {
    return query(handle, RESIDENT) != 0;
  }

  @Override
  public long size(long handle) {
    return query(handle, SIZE);
  }

  @Override
  public long capacity(long handle) {
    return query(handle, CAPACITY);
  }




  @Override
  public byte getByte(long handle, long offset) {
    return (byte) load(handle, offset, 1);
  }

  @Override
  public void putByte(long handle, long offset, byte value) {
    store(handle, offset, 1, value);
  }

  @Override
  public short getShort(long handle, long offset) {
    return (short) load(handle, offset, 2);
  }

  @Override
  public void putShort(long handle, long offset, short value) {
    store(handle, offset, 2, value);
  }

  @Override
  public int getInt(long handle, long offset) {
    return (int) load(handle, offset, 4);
  }

  @Override
  public void putInt(long handle, long offset, int value) {
    store(handle, offset, 4, value);
  }

  @Override
  public long getLong(long handle, long offset) {
    return load(handle, offset, 8);
  }

  @Override
  public void putLong(long handle, long offset, long value) {
    store(handle, offset, 8, value);
  }

  @Override
  public double getDouble(long handle, long offset) {
    return Double.longBitsToDouble(load(handle, offset, 8));
  }

  @Override
  public void putDouble(long handle, long offset, double value) {
    store(handle, offset, 8, Double.doubleToRawLongBits(value));
  }

  @Override
  public void read(long handle, long offset, byte[] dst, int dstOffset, int length) {
    Objects.checkFromIndexSize(dstOffset, length, dst.length);
    copyOut(handle, offset, length, ARRAY, dst, dstOffset);
  }

  @Override
  public void read(long handle, long offset, MemorySegment dst, long dstOffset, long length) {
    Objects.checkFromIndexSize(dstOffset, length, dst.byteSize());
    copyOut(handle, offset, length, SEGMENT, dst, dstOffset);
  }

  @Override
  public void write(long handle, long offset, byte[] src, int srcOffset, int length) {
    Objects.checkFromIndexSize(srcOffset, length, src.length);
    copyIn(handle, offset, length, ARRAY, src, srcOffset, (byte) 0);
  }

  @Override
  public void write(long handle, long offset, MemorySegment src, long srcOffset, long length) {
    Objects.checkFromIndexSize(srcOffset, length, src.byteSize());
    copyIn(handle, offset, length, SEGMENT, src, srcOffset, (byte) 0);
  }

  @Override
  public void fill(long handle, long offset, long length, byte value) {
    copyIn(handle, offset, length, FILL, null, 0, value);
  }



  // ---- spill ---------------------------------------------------------------------------------------

  @Override
  public SpillOutcome spill(long handle) {
    return spill(new long[] {handle}, 0, 1).single();
  }

  /** The mover, for tests in this package (null without a tier). */
  BlockMover mover() {
    return mover;
  }

  @Override
  public SpillReport spill(long[] handles, int from, int count) {
    Objects.checkFromIndexSize(from, count, handles.length);
    ensureOpen();
    requireTier();
    return count == 0 ? SpillReport.EMPTY : mover.spiller.spill(handles, from, count, invalidHandle);
  }

  @Override
  public PreparedSpill prepareSpill(long[] handles, int from, int count) {
    Objects.checkFromIndexSize(from, count, handles.length);
    ensureOpen();
    requireTier();
    return mover.spiller.prepare(handles, from, count, invalidHandle, /* copy= */ true, /* strict= */ false);
  }

  @Override
  public PreparedSpill prepareSpillInPlace(long[] handles, int from, int count) {
    Objects.checkFromIndexSize(from, count, handles.length);
    ensureOpen();
    requireTier();
    return mover.spiller.prepare(handles, from, count, invalidHandle, /* copy= */ false, /* strict= */ false);
  }

  @Override
  public boolean spillEncodingIsCheap() {
    return mover != null && mover.spiller.encodesCheaply();
  }

  @Override
  public void writeSpills(List<PreparedSpill> batch) {
    Objects.requireNonNull(batch, "batch");
    ensureOpen();
    requireTier();
    List<SpillGroup> groups = new ArrayList<>(batch.size());
    for (PreparedSpill p : batch) {
      if (!(p instanceof SpillGroup g) || g.mover != mover) {
        throw new IllegalArgumentException("batch holds " + (p == null ? "null" : "a spill prepared by another"
            + " allocator") + ": only spills of this allocator's prepareSpill can be written here");
      }
      groups.add(g);
    }
    mover.spiller.write(groups);
  }

  // ---- victims -------------------------------------------------------------------------------------

  @Override
  public int sweepIdle(int idleSweeps, BlockRefs out) {
    ensureOpen();
    return victims.sweepIdle(idleSweeps, out);
  }

  @Override
  public int coldest(BlockRefs out) {
    ensureOpen();
    return victims.coldest(out);
  }

  @Override
  public int sparsest(BlockRefs out, long bytes) {
    ensureOpen();
    return victims.sparsest(out, bytes);
  }

  // ---- control -------------------------------------------------------------------------------------


  @Override
  public long maintainPool(String name) {
    Objects.requireNonNull(name, "name");
    ensureOpen();
    for (SizePool pool : pools) {
      if (pool.name.equals(name)) {
        return pool.maintain(settings.pools());
      }
    }
    throw new IllegalArgumentException("no size class is named '" + name + "': allowed " + SizeClasses.describeAll());
  }

  @Override
  public void onBudgetFull(RoomWaiter waiter) {
    requireTier();
    mover.restorer.roomWaiter = waiter;
  }

  @Override
  public void onRestore(java.util.function.LongConsumer nanos) {
    requireTier();
    mover.restorer.restoreListener = nanos;
  }

  @Override
  public void budget(long bytes, long slack) {
    directory.budget.set(bytes, slack);
  }

  @Override
  public long mappedBytes() {
    return directory.budget.mapped();
  }

  @Override
  public long budgetBytes() {
    return directory.budget.limit();
  }

  private void requireTier() {
    if (mover == null) {
      throw new IllegalStateException("this allocator has no tier to spill to: open it with"
          + " BlockAllocator.open(settings), which opens the tier of spillway.tier.directories");
    }
  }

  @Override
  public long maxBlockSize() {
    return maxBlockSize;
  }

  /** Returns the slots of caches whose threads died. Caller holds {@code caches}. */
  private int reapDeadCaches() {
    List<ThreadCache> dead = caches.removeIf(c -> !c.ownerAlive());
    dead.forEach(ThreadCache::retire);
    return dead.size();
  }

  @Override
  public MaintenanceReport maintain() {
    ensureOpen();
    int dead;
    int idle = 0;
    synchronized (caches) {
      dead = reapDeadCaches();
      // At the budget, slots parked in busy threads' caches keep slabs from emptying (a slab goes back
      // only when every slot is free): every cache is asked to trim, not only the idle ones.
      boolean starved = directory.budget.starved(settings.largeSlabSize());
      for (ThreadCache c : caches.snapshot()) {
        long ops = c.ops();
        if (ops == c.opsAtLastPass && !c.trimRequested) {
          c.trimRequested = true;
          idle++;
        } else if (starved) {
          c.trimRequested = true;
        }
        c.opsAtLastPass = ops;
      }
    }
    long grown = 0;
    long shrunk = 0;
    for (SizePool pool : pools) {
      long delta = pool.maintain(settings.pools());
      if (delta > 0) {
        grown += delta;
      } else {
        shrunk -= delta;
      }
    }
    if (mover != null) {
      mover.maintain();
    }
    return new MaintenanceReport(dead, idle, grown, shrunk);
  }

  @Override
  public AllocatorStats stats() {
    ensureOpen();
    List<PoolStats> out = new ArrayList<>();
    long cacheBytes = 0;
    int cacheCount;
    synchronized (caches) {
      List<ThreadCache> all = caches.snapshot();
      cacheCount = all.size();
      cacheBytes = caches.heapBytes();
      for (ThreadCache c : all) {
        cacheBytes += c.heapBytes();
      }
      long[] counters = new long[4];
      for (SizePool pool : pools) {
        java.util.Arrays.fill(counters, 0);
        for (ThreadCache c : all) {
          c.addCounters(pool.classIndex, counters);
        }
        PoolStats s = pool.stats(counters[0], counters[1], counters[2], counters[3]);
        if (s.slabs() > 0 || s.allocations() > 0) {
          out.add(s);
        }
      }
    }
    SpillStats spill = mover != null ? mover.stats()
        : new SpillStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, null);
    return new AllocatorStats(out, huge.stats(), cacheCount, directory.metadataBytes(), cacheBytes, spill);
  }

  @Override
  public void close() {
    synchronized (caches) {
      if (isClosed()) {
        return;
      }
      markClosed();
      caches.removeIf(c -> true);
    }
    try {
      if (mover != null) {
        mover.close(); // waits for a spill in progress
      }
      PoolLayout.closeAll(pools);
      huge.closeAll();
    } finally {
      if (ownedDirectory != null) {
        try {
          ownedDirectory.close(); // after the log: its files are closed before they are deleted
        } catch (Exception e) {
          // Left behind: the next start in the same parent reclaims it once this process is gone.
        }
      }
    }
  }

  @Override
  public AllocatorControl control() {
    return this;
  }

  @Override
  public List<Path> tierDirectories() {
    return tierDirectories;
  }
}
