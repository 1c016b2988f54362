package dev.spillway.core.memory;

import dev.spillway.config.MemorySettings;
import dev.spillway.config.PoolSettings;
import dev.spillway.config.SettingsException;
import dev.spillway.config.Sizes;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The slab allocator behind {@link BlockAllocator}: size-class pools of mmap-backed slabs, per-thread
 * magazines for the small classes, dedicated mappings for huge blocks, and the handle checks.
 */
final class SlabAllocator implements BlockAllocator {
  private static final ValueLayout.OfShort SHORT =
      ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfLong LONG =
      ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfDouble DOUBLE =
      ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  private final MemorySettings settings;
  private final long maxBlockSize;
  private final boolean cacheEnabled;
  private final SlabDirectory directory = new SlabDirectory();
  private final SizePool[] pools = new SizePool[SizeClasses.COUNT];
  private final HugeBlocks huge = new HugeBlocks(directory);
  private final ThreadCacheTable caches = new ThreadCacheTable();
  private volatile boolean closed;

  SlabAllocator(MemorySettings settings) {
    this.settings = settings;
    this.maxBlockSize = settings.maxBlockSize();
    this.cacheEnabled = settings.threadCache().enabled();
    checkOverrides(settings.pools());
    boolean ok = false;
    try {
      for (int cls = 0; cls < SizeClasses.COUNT; cls++) {
        pools[cls] = newPool(cls);
      }
      ok = true;
    } finally {
      if (!ok) {
        closePools();
      }
    }
  }

  // ---- construction ------------------------------------------------------------------------------

  private static void checkOverrides(PoolSettings pools) {
    for (var e : pools.classes().entrySet()) {
      if (SizeClasses.exactIndexOf(e.getKey()) < 0) {
        throw new SettingsException(e.getValue().key(), Sizes.format(e.getKey()) + " is not a size class;"
            + " allowed: " + SizeClasses.describeAll());
      }
    }
  }

  private SizePool newPool(int cls) {
    int size = SizeClasses.sizeOf(cls);
    PoolSettings p = settings.pools();
    int slots;
    long slabBytes;
    if (SizeClasses.isSmall(cls)) {
      slots = (int) Math.min(settings.smallSlabSize() / size, Handles.MAX_SLOTS);
      slabBytes = SizeClasses.hugeCapacity((long) slots * size);
    } else {
      slots = (int) Math.max(1, Math.min(settings.largeSlabSize() / size, Handles.MAX_SLOTS));
      slabBytes = (long) slots * size;
    }
    long initial = (p.initialBytes() + size - 1) / size;
    long max = Math.max(1, p.maxBytes() / size);
    String source = "spillway.memory.pools.default.max-bytes = " + Sizes.format(p.maxBytes());
    String initialSource = "spillway.memory.pools.default.initial-bytes = " + Sizes.format(p.initialBytes());
    PoolSettings.ClassOverride o = p.classes().get((long) size);
    if (o != null) {
      if (o.initialBlocks().isPresent()) {
        initial = o.initialBlocks().get();
        initialSource = o.key() + ".initial-blocks = " + initial;
      }
      if (o.maxBlocks().isPresent()) {
        max = o.maxBlocks().get();
        source = o.key() + ".max-blocks = " + max;
      }
    }
    if (initial > max) {
      throw new SettingsException(o != null ? o.key() : "spillway.memory.pools.default",
          "class " + Sizes.format(size) + " would start with " + initial + " blocks (" + initialSource
              + ") but may hold at most " + max + " (" + source + "): allowed initial <= max");
    }
    return new SizePool(cls, slots, slabBytes, initial, max, source, directory);
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
      if (closed) {
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
      throw badSize(size);
    }
    if (closed) {
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

  private IllegalArgumentException badSize(long size) {
    String limit = maxBlockSize == MemorySettings.MAX_BLOCK_SIZE
        ? "1 B to 1 GiB"
        : "1 B to " + Sizes.format(maxBlockSize) + " (spillway.memory.max-block-size)";
    return new IllegalArgumentException("size = " + size + " bytes is invalid: allowed " + limit);
  }

  @Override
  public void free(long handle) {
    Slab slab = slabOf(handle);
    int slot = Handles.slot(handle);
    int gen = Handles.generation(handle);
    if ((gen & 1) == 0 || gen > slab.generationMask) {
      throw malformed(handle, slab);
    }
    long requested = requestedSize(handle, slab, slot);
    if (!slab.markFreed(slot, gen)) {
      throw staleOnFree(handle, slab, slot, gen);
    }
    int cls = slab.classIndex;
    if (cls < SizeClasses.COUNT) {
      ThreadCache c = cache();
      if (c != null) {
        long next = (handle & Handles.LOCATION_MASK)
            | ((long) slab.nextGeneration(gen) << Handles.GEN_SHIFT);
        c.free(cls, next, requested);
        return;
      }
    }
    if (cls == SizeClasses.HUGE) {
      huge.free(slab);
    } else {
      pools[cls].free(slab, slot, requested);
    }
  }

  @Override
  public void trimCurrentThreadCache() {
    ensureOpen();
    ThreadCache c = cache();
    if (c != null) {
      c.trim();
    }
  }

  // ---- handle checks -----------------------------------------------------------------------------

  private void ensureOpen() {
    if (closed) {
      throw new AllocatorClosedException();
    }
  }

  /** The slab a handle names, with the slot in range; generation not yet checked. */
  private Slab slabOf(long handle) {
    Slab slab = directory.get(Handles.slab(handle));
    if (slab == null) {
      ensureOpen(); // close empties the table: report that rather than a bad handle
      throw new InvalidHandleException(handle, InvalidHandleException.Problem.UNKNOWN_SLAB,
          "no live slab has index " + Handles.slab(handle)
              + " (the handle is stale and its slab was released, or it is not a handle)");
    }
    if (Handles.slot(handle) >= slab.slots) {
      throw new InvalidHandleException(handle, InvalidHandleException.Problem.SLOT_OUT_OF_RANGE,
          "slab " + slab.id + " has only " + slab.slots + " blocks (not a handle)");
    }
    return slab;
  }

  /** The slab of a live block, after every check. */
  private Slab live(long handle) {
    Slab slab = slabOf(handle);
    int gen = Handles.generation(handle);
    if (slab.generation(Handles.slot(handle)) != gen || (gen & 1) == 0) {
      throw stale(handle, slab);
    }
    return slab;
  }

  private InvalidHandleException malformed(long handle, Slab slab) {
    return new InvalidHandleException(handle, InvalidHandleException.Problem.MALFORMED,
        "generation " + Handles.generation(handle) + " cannot belong to any block (generations are"
            + " odd and at most " + slab.generationMask + " in this slab): not a handle");
  }

  private InvalidHandleException stale(long handle, Slab slab) {
    int gen = Handles.generation(handle);
    if ((gen & 1) == 0 || gen > slab.generationMask) {
      return malformed(handle, slab);
    }
    int now = slab.generation(Handles.slot(handle));
    return new InvalidHandleException(handle, InvalidHandleException.Problem.STALE,
        "the block was freed" + (now == slab.nextGeneration(gen) ? "" : " and its slot reused since")
            + " (slot generation is now " + now + "): use after free");
  }

  private InvalidHandleException staleOnFree(long handle, Slab slab, int slot, int gen) {
    int now = slab.generation(slot);
    if (now == slab.nextGeneration(gen)) {
      return new InvalidHandleException(handle, InvalidHandleException.Problem.DOUBLE_FREE,
          "the block is already free: double free");
    }
    return new InvalidHandleException(handle, InvalidHandleException.Problem.STALE,
        "the block was freed and its slot reused since (slot generation is now " + now
            + "): double free of a stale handle");
  }

  private static long requestedSize(long handle, Slab slab, int slot) {
    if (slab.requested != null) {
      if (Handles.slack(handle) != 0) {
        throw new InvalidHandleException(handle, InvalidHandleException.Problem.MALFORMED,
            "large and huge handles carry no slack bits: not a handle");
      }
      return slab.requested[slot];
    }
    int slack = Handles.slack(handle);
    if (slack >= slab.blockSize) {
      throw new InvalidHandleException(handle, InvalidHandleException.Problem.MALFORMED,
          "slack " + slack + " exceeds the block size " + slab.blockSize + ": not a handle");
    }
    return slab.blockSize - slack;
  }

  /** Offset of {@code [offset, offset + length)} of a live block within its slab, bounds checked. */
  private long address(long handle, Slab slab, long offset, long length) {
    int slot = Handles.slot(handle);
    long size = slab.requested != null ? slab.requested[slot] : slab.blockSize - Handles.slack(handle);
    if ((offset | length) < 0 || offset > size - length) {
      throw new BlockBoundsException(handle, offset, length, size);
    }
    return slab.offsetOf(slot) + offset;
  }

  // ---- access ------------------------------------------------------------------------------------

  @Override
  public boolean isLive(long handle) {
    if (closed) {
      return false;
    }
    Slab slab = directory.get(Handles.slab(handle));
    if (slab == null || Handles.slot(handle) >= slab.slots) {
      return false;
    }
    int gen = Handles.generation(handle);
    return (gen & 1) == 1 && slab.generation(Handles.slot(handle)) == gen;
  }

  @Override
  public long size(long handle) {
    Slab slab = live(handle);
    return requestedSize(handle, slab, Handles.slot(handle));
  }

  @Override
  public long capacity(long handle) {
    return live(handle).blockSize;
  }

  @Override
  public MemorySegment segment(long handle) {
    Slab slab = live(handle);
    int slot = Handles.slot(handle);
    return slab.memory.asSlice(slab.offsetOf(slot), requestedSize(handle, slab, slot));
  }

  @Override
  public byte getByte(long handle, long offset) {
    Slab slab = live(handle);
    return slab.memory.get(ValueLayout.JAVA_BYTE, address(handle, slab, offset, 1));
  }

  @Override
  public void putByte(long handle, long offset, byte value) {
    Slab slab = live(handle);
    slab.memory.set(ValueLayout.JAVA_BYTE, address(handle, slab, offset, 1), value);
  }

  @Override
  public short getShort(long handle, long offset) {
    Slab slab = live(handle);
    return slab.memory.get(SHORT, address(handle, slab, offset, 2));
  }

  @Override
  public void putShort(long handle, long offset, short value) {
    Slab slab = live(handle);
    slab.memory.set(SHORT, address(handle, slab, offset, 2), value);
  }

  @Override
  public int getInt(long handle, long offset) {
    Slab slab = live(handle);
    return slab.memory.get(INT, address(handle, slab, offset, 4));
  }

  @Override
  public void putInt(long handle, long offset, int value) {
    Slab slab = live(handle);
    slab.memory.set(INT, address(handle, slab, offset, 4), value);
  }

  @Override
  public long getLong(long handle, long offset) {
    Slab slab = live(handle);
    return slab.memory.get(LONG, address(handle, slab, offset, 8));
  }

  @Override
  public void putLong(long handle, long offset, long value) {
    Slab slab = live(handle);
    slab.memory.set(LONG, address(handle, slab, offset, 8), value);
  }

  @Override
  public double getDouble(long handle, long offset) {
    Slab slab = live(handle);
    return slab.memory.get(DOUBLE, address(handle, slab, offset, 8));
  }

  @Override
  public void putDouble(long handle, long offset, double value) {
    Slab slab = live(handle);
    slab.memory.set(DOUBLE, address(handle, slab, offset, 8), value);
  }

  @Override
  public void read(long handle, long offset, byte[] dst, int dstOffset, int length) {
    java.util.Objects.checkFromIndexSize(dstOffset, length, dst.length);
    Slab slab = live(handle);
    MemorySegment.copy(slab.memory, ValueLayout.JAVA_BYTE, address(handle, slab, offset, length),
        dst, dstOffset, length);
  }

  @Override
  public void write(long handle, long offset, byte[] src, int srcOffset, int length) {
    java.util.Objects.checkFromIndexSize(srcOffset, length, src.length);
    Slab slab = live(handle);
    MemorySegment.copy(src, srcOffset, slab.memory, ValueLayout.JAVA_BYTE,
        address(handle, slab, offset, length), length);
  }

  @Override
  public void read(long handle, long offset, MemorySegment dst, long dstOffset, long length) {
    Slab slab = live(handle);
    MemorySegment.copy(slab.memory, address(handle, slab, offset, length), dst, dstOffset, length);
  }

  @Override
  public void write(long handle, long offset, MemorySegment src, long srcOffset, long length) {
    Slab slab = live(handle);
    MemorySegment.copy(src, srcOffset, slab.memory, address(handle, slab, offset, length), length);
  }

  @Override
  public void fill(long handle, long offset, long length, byte value) {
    Slab slab = live(handle);
    slab.memory.asSlice(address(handle, slab, offset, length), length).fill(value);
  }

  // ---- control ---------------------------------------------------------------------------------

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
      for (ThreadCache c : caches.snapshot()) {
        long ops = c.ops();
        if (ops == c.opsAtLastPass && !c.trimRequested) {
          c.trimRequested = true;
          idle++;
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
    return new AllocatorStats(out, huge.stats(), cacheCount, directory.metadataBytes(), cacheBytes);
  }

  @Override
  public void close() {
    synchronized (caches) {
      if (closed) {
        return;
      }
      closed = true;
      caches.removeIf(c -> true);
    }
    closePools();
    huge.closeAll();
  }

  private void closePools() {
    for (SizePool pool : pools) {
      if (pool != null) {
        pool.closeAll();
      }
    }
  }
}
