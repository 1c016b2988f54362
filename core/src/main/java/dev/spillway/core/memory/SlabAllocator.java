package dev.spillway.core.memory;

import dev.spillway.memory.AllocatorClosedException;
import dev.spillway.memory.AllocatorStats;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.BlockBoundsException;
import dev.spillway.memory.InvalidHandleException;
import dev.spillway.memory.PoolStats;
import dev.spillway.memory.SizeClasses;
import dev.spillway.memory.SpillOutcome;
import dev.spillway.memory.SpillStats;
import dev.spillway.memory.spi.MaintenanceReport;
import dev.spillway.memory.spi.RoomWaiter;
import dev.spillway.memory.spi.AllocatorControl;
import dev.spillway.memory.spi.BlockRefs;
import dev.spillway.memory.spi.PreparedSpill;
import dev.spillway.memory.spi.SpillReport;
import dev.spillway.config.MemorySettings;
import dev.spillway.config.PoolSettings;
import dev.spillway.config.SettingsException;
import dev.spillway.config.Sizes;
import dev.spillway.codec.Codec;
import dev.spillway.core.tier.SegmentLog;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The slab allocator behind {@link BlockAllocator}: size-class pools of mmap-backed slabs, per-thread
 * magazines for the small classes, dedicated mappings for huge blocks, and the handle checks.
 */
final class SlabAllocator implements BlockAllocator, AllocatorControl {
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
  /** Spill and restore; null when the allocator has no tier. */
  private final BlockMover mover;
  /** Writes announce themselves here when blocks can move; null without a tier (nothing moves). */
  private final WriteGate gate;
  private final BlockMover.HandleChecker checker = new BlockMover.HandleChecker() {
    @Override
    public long requestedSize(long handle, Slab slab) {
      return SlabAllocator.requestedSize(handle, slab, Handles.slot(handle));
    }

    @Override
    public RuntimeException invalid(long handle) {
      return SlabAllocator.this.invalid(handle);
    }
  };
  private volatile boolean closed;

  /** The tier's directories (empty without a tier). */
  private final java.util.List<java.nio.file.Path> tierDirectories;
  /** The private tier directory this allocator made and deletes when it closes; null when none. */
  private final AutoCloseable ownedDirectory;

  SlabAllocator(MemorySettings settings) {
    this(settings, null, null, null);
  }

  SlabAllocator(MemorySettings settings, SegmentLog store, Codec codec, Codec raw) {
    this(settings, store, codec, raw, java.util.List.of(), null);
  }

  /**
   * An allocator that spills to {@code store} with {@code codec} ({@code raw}, the store's raw codec,
   * when compression keeps not paying); it closes the store, and then {@code ownedDirectory} (when not
   * null), when it closes.
   */
  SlabAllocator(MemorySettings settings, SegmentLog store, Codec codec, Codec raw,
      java.util.List<java.nio.file.Path> tierDirectories, AutoCloseable ownedDirectory) {
    this.settings = settings;
    this.tierDirectories = java.util.List.copyOf(tierDirectories);
    this.ownedDirectory = ownedDirectory;
    this.maxBlockSize = settings.maxBlockSize();
    this.cacheEnabled = settings.threadCache().enabled();
    checkOverrides(settings.pools());
    boolean ok = false;
    try {
      for (int cls = 0; cls < SizeClasses.COUNT; cls++) {
        pools[cls] = newPool(cls);
      }
      gate = store == null ? null : new WriteGate();
      mover = store == null ? null : new BlockMover(directory, pools, huge, store, codec, raw, gate);
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
    // h: the handle the block is known by now. It starts as the caller's; once a forwarded block's
    // entry is gone, it is the block's RAM slot, which a sweep may freeze by reference like any
    // other slot, so from then on the slow path works on that handle, not the caller's.
    long h = handle;
    long version = movesVersion(h);
    for (;;) {
      if (freeDirect(h)) {
        return;
      }
      long r = mover == null ? BlockMover.NOT_MOVED : mover.free(h);
      if (r == BlockMover.FREED) {
        return;
      }
      if (r == BlockMover.NOT_MOVED) {
        if (freeDirect(h)) {
          return; // it came back to its own slot meanwhile
        }
        long now = movesVersion(h);
        if (now == version) {
          throw freeError(handle);
        }
        version = now; // a spill was aborted and the block frozen again between the looks: again
        continue;
      }
      if (r != h) {
        h = r; // the block's RAM slot
        version = movesVersion(h);
        Runnable hook = ramSlotHook;
        if (hook != null) {
          hook.run();
        }
      }
    }
  }

  /**
   * {@link BlockMover#movesVersion} of {@code handle} (0 without a tier). Every slow path that may
   * conclude "no such block" reads it before its first look and again after its last, and looks again
   * when it changed: see {@link MovedTable#version}.
   */
  private long movesVersion(long handle) {
    return mover == null ? 0 : mover.movesVersion(handle);
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
      throw pinnedOnFree(handle, slab.pinCount(slot));
    }
    long requested = requestedSize(handle, slab, slot);
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

  static IllegalStateException pinnedOnFree(long handle, int pins) {
    return new IllegalStateException("block " + Handles.format(handle) + " is pinned (" + pins
        + " pin(s)): unpin it as often as it was pinned before freeing it");
  }

  /** Why {@code handle} could not be freed: closed, not a handle, stale, or a double free. */
  private RuntimeException freeError(long handle) {
    Slab slab = slabOf(handle);
    int slot = Handles.slot(handle);
    int gen = Handles.generation(handle);
    if ((gen & 1) == 0 || gen > slab.generationMask) {
      return malformed(handle, slab);
    }
    requestedSize(handle, slab, slot); // malformed slack
    return staleOnFree(handle, slab, slot, gen);
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

  /**
   * The slow path of every access: a handle that names its block's slot directly (the handle itself,
   * or the RAM slot of a block that moved), restoring a spilled block first. Throws for a handle of no
   * live block.
   */
  private long resolve(long handle) {
    Slab slab = directory.get(Handles.slab(handle));
    if (mover == null) {
      if (slab != null && slab.holds(handle)) {
        return handle; // an epoch ended under the caller's access: just retry
      }
      throw invalid(handle);
    }
    ensureOpen();
    for (;;) {
      long version = mover.movesVersion(handle);
      if (slab != null && slab.holds(handle)) {
        return handle; // an epoch ended under the caller's access, or the block is back: retry
      }
      long h = mover.resolve(handle);
      if (h != BlockMover.NOT_MOVED) {
        return h;
      }
      // A block coming back to its own slot gets its generation before its entry goes: look again.
      if (slab != null && slab.holds(handle)) {
        return handle;
      }
      if (mover.movesVersion(handle) == version) {
        throw invalid(handle);
      }
    }
  }

  /** The exception for a handle that names no live block (after close: the allocator is closed). */
  private RuntimeException invalid(long handle) {
    Slab slab = slabOf(handle);
    return stale(handle, slab);
  }

  /** The slab of a block that is live and direct, after every check; moved blocks come back first. */
  private Slab live(long handle) {
    return directory.get(Handles.slab(resolve(handle)));
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
    if (mover == null) {
      return slab != null && slab.holds(handle);
    }
    for (;;) {
      long version = mover.movesVersion(handle);
      if ((slab != null && slab.holds(handle)) || mover.isResident(handle) != null) {
        return true;
      }
      if (mover.movesVersion(handle) == version) {
        return false;
      }
    }
  }

  @Override
  public boolean isResident(long handle) {
    Slab slab = directory.get(Handles.slab(handle));
    for (;;) {
      long version = movesVersion(handle);
      if (slab != null && slab.holds(handle)) {
        return true;
      }
      Boolean resident = mover == null ? null : mover.isResident(handle);
      if (resident != null) {
        return resident;
      }
      if (movesVersion(handle) == version) {
        throw invalid(handle);
      }
    }
  }

  @Override
  public long size(long handle) {
    Slab slab = directory.get(Handles.slab(handle));
    for (;;) {
      long version = movesVersion(handle);
      if (slab != null && slab.holds(handle)) {
        return requestedSize(handle, slab, Handles.slot(handle));
      }
      long size = mover == null ? -1 : mover.requestedSize(handle);
      if (size >= 0) {
        return size;
      }
      if (movesVersion(handle) == version) {
        throw invalid(handle);
      }
    }
  }

  @Override
  public long capacity(long handle) {
    Slab slab = directory.get(Handles.slab(handle));
    for (;;) {
      long version = movesVersion(handle);
      if (slab != null && slab.holds(handle)) {
        return slab.blockSize;
      }
      int cls = mover == null ? -1 : mover.classIndex(handle);
      if (cls == SizeClasses.HUGE) {
        long size = mover.requestedSize(handle);
        if (size >= 0) {
          return SizeClasses.hugeCapacity(size);
        }
      } else if (cls >= 0) {
        return SizeClasses.sizeOf(cls);
      }
      if (movesVersion(handle) == version) {
        throw invalid(handle);
      }
    }
  }

  @Override
  public MemorySegment segment(long handle) {
    long h = resolve(handle);
    Slab slab = directory.get(Handles.slab(h));
    int slot = Handles.slot(h);
    return slab.memory.asSlice(slab.offsetOf(slot), requestedSize(h, slab, slot));
  }

  @Override
  public MemorySegment pin(long handle) {
    for (long h = handle; ; h = resolve(handle)) {
      Slab slab = directory.get(Handles.slab(h));
      if (slab != null && slab.holds(h)) {
        int slot = Handles.slot(h);
        // Pin, then check again: a spill freezes, then reads the pins, so one of us sees the other.
        slab.addPin(slot, 1);
        if (slab.holds(h)) {
          return slab.memory.asSlice(slab.offsetOf(slot), requestedSize(h, slab, slot));
        }
        slab.addPin(slot, -1);
      }
    }
  }

  @Override
  public void unpin(long handle) {
    for (long h = handle; ; h = resolve(handle)) {
      Slab slab = directory.get(Handles.slab(h));
      if (slab != null && slab.holds(h)) {
        int slot = Handles.slot(h);
        if (slab.addPin(slot, -1) < 0) {
          slab.addPin(slot, 1);
          throw new IllegalStateException("block " + Handles.format(handle)
              + " is not pinned: unpin must follow a pin of the same block");
        }
        return;
      }
    }
  }

  @Override
  public SpillOutcome spill(long handle) {
    return spill(new long[] {handle}, 0, 1).single();
  }

  /** Tests only: run by {@link #free} once a forwarded block is known by its RAM slot. */
  volatile Runnable ramSlotHook;

  /** The mover, for tests in this package (null without a tier). */
  BlockMover mover() {
    return mover;
  }

  @Override
  public SpillReport spill(long[] handles, int from, int count) {
    java.util.Objects.checkFromIndexSize(from, count, handles.length);
    ensureOpen();
    requireTier();
    return count == 0 ? SpillReport.EMPTY : mover.spill(handles, from, count, checker);
  }

  @Override
  public PreparedSpill prepareSpill(long[] handles, int from, int count) {
    java.util.Objects.checkFromIndexSize(from, count, handles.length);
    ensureOpen();
    requireTier();
    return mover.prepare(handles, from, count, checker, /* copy= */ true, /* strict= */ false);
  }

  @Override
  public void writeSpills(java.util.List<PreparedSpill> batch) {
    java.util.Objects.requireNonNull(batch, "batch");
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
    mover.write(groups);
  }

  @Override
  public boolean restore(long handle) {
    ensureOpen();
    Slab slab = directory.get(Handles.slab(handle));
    if (mover == null) {
      if (slab != null && slab.holds(handle)) {
        return false;
      }
      throw invalid(handle);
    }
    boolean[] restored = new boolean[1];
    for (;;) {
      long version = mover.movesVersion(handle);
      if (slab != null && slab.holds(handle)) {
        return false; // resident (or restored in place by another thread since a look)
      }
      long ram = mover.resolve(handle, restored);
      if (ram != BlockMover.NOT_MOVED) {
        Slab now = directory.get(Handles.slab(ram));
        if (now != null) {
          now.holds(ram); // a prefetch counts as an access: the idle clock starts
        }
        return restored[0];
      }
      if (slab != null && slab.holds(handle)) {
        return false;
      }
      if (mover.movesVersion(handle) == version) {
        throw invalid(handle);
      }
    }
  }

  @Override
  public long copyOut(long handle, MemorySegment dst) {
    java.util.Objects.requireNonNull(dst, "dst");
    ensureOpen();
    if (mover != null) {
      long n = mover.readSpilled(handle, dst);
      if (n >= 0) {
        return n;
      }
    }
    // Resident (or it changed state under us): an ordinary read, which restores it in the rare case
    // that it was spilled since the look above.
    long size = size(handle);
    if (dst.byteSize() < size) {
      throw new IllegalArgumentException("destination holds " + dst.byteSize() + " bytes but block "
          + Handles.format(handle) + " has " + size + ": allowed a destination of at least the block's size");
    }
    read(handle, 0, dst, 0, size);
    return size;
  }

  @Override
  public int sweepIdle(int idleSweeps, BlockRefs out) {
    if (idleSweeps < 1 || idleSweeps > Slab.MAX_AGE) {
      throw new IllegalArgumentException("idleSweeps = " + idleSweeps + ": allowed 1 to " + Slab.MAX_AGE);
    }
    java.util.Objects.requireNonNull(out, "out");
    ensureOpen();
    out.clear();
    for (int i = 0, limit = directory.indexLimit(); i < limit; i++) {
      Slab slab = directory.get(i);
      byte[] ages = slab == null ? null : slab.ages;
      if (ages == null || slab.released) {
        continue;
      }
      for (int slot = 0; slot < slab.slots; slot++) {
        // Generation, clock, generation again: a free marks the clock FREE before it moves the
        // generation, so a reference is only made for a generation that was live while the clock was
        // read, never for the one a free slot keeps for its next block.
        int gen = slab.generationAcquire(slot);
        VarHandle.loadLoadFence();
        int age = ages[slot];
        if (age < 0) {
          continue; // free, or restored and not accessed since (RESTORED)
        }
        if (age < Slab.MAX_AGE) {
          if (!slab.age(slot, age)) {
            continue; // touched, freed or forwarded right now: a CAS never overwrites that
          }
          age++;
        }
        if (age >= idleSweeps && !out.full() && (gen & 1) == 1) { // even: being moved now
          VarHandle.loadLoadFence();
          if (slab.generationAcquire(slot) == gen) {
            out.add(Handles.make(gen, 0, slab.id, slot), slab.blockSize);
          }
        }
      }
    }
    return out.size();
  }

  @Override
  public int coldest(BlockRefs out) {
    java.util.Objects.requireNonNull(out, "out");
    ensureOpen();
    out.clear();
    if (out.capacity() == 0) {
      return 0;
    }
    long[] byAge = new long[Slab.MAX_AGE + 1];
    forEachAgedSlot((slab, slot, age) -> byAge[age]++);
    int threshold = Slab.MAX_AGE;
    for (long sum = byAge[threshold]; threshold > 0 && sum < out.capacity(); sum += byAge[threshold]) {
      threshold--;
    }
    int t = threshold;
    // The oldest first: everything above the threshold, then the threshold's own age until full.
    for (int pass = 0; pass < 2 && !out.full(); pass++) {
      boolean above = pass == 0;
      forEachAgedSlot((slab, slot, age) -> {
        if ((above ? age > t : age == t) && !out.full()) {
          // As in sweepIdle: generation, clock, generation again, so a free slot is never named.
          int gen = slab.generationAcquire(slot);
          VarHandle.loadLoadFence();
          if ((gen & 1) == 1 && slab.ages[slot] >= 0) {
            VarHandle.loadLoadFence();
            if (slab.generationAcquire(slot) == gen) {
              out.add(Handles.make(gen, 0, slab.id, slot), slab.blockSize);
            }
          }
        }
      });
    }
    return out.size();
  }

  @Override
  public int sparsest(BlockRefs out, long bytes) {
    java.util.Objects.requireNonNull(out, "out");
    ensureOpen();
    out.clear();
    List<Slab> candidates = new ArrayList<>();
    for (int i = 0, limit = directory.indexLimit(); i < limit; i++) {
      Slab slab = directory.get(i);
      if (slab != null && slab.ages != null && !slab.released && slab.used() > 0
          && slab.classIndex != SizeClasses.HUGE) {
        candidates.add(slab);
      }
    }
    // Fewest live bytes per mapped byte first: the least to write for the most memory given back.
    candidates.sort(java.util.Comparator.comparingDouble(s -> (double) s.used() / s.slots));
    long freed = 0;
    for (Slab slab : candidates) {
      if (freed >= bytes && freed > 0) {
        break;
      }
      int start = out.size();
      boolean whole = true;
      for (int slot = 0; slot < slab.slots; slot++) {
        // As in coldest: generation, clock, generation again, so a free slot is never named.
        int gen = slab.generationAcquire(slot);
        VarHandle.loadLoadFence();
        if ((gen & 1) == 1 && slab.ages[slot] >= 0) {
          VarHandle.loadLoadFence();
          if (slab.generationAcquire(slot) == gen && !out.add(Handles.make(gen, 0, slab.id, slot), slab.blockSize)) {
            whole = false;
            break;
          }
        }
      }
      if (!whole) {
        out.truncate(start); // not all of it fits: naming part of a slab frees nothing
        break;
      }
      if (out.size() - start != slab.used()) {
        // Some of its taken slots are not live blocks this can name (parked in a thread's cache, or a
        // block mid-move): spilling the rest would not empty it.
        out.truncate(start);
        continue;
      }
      freed += slab.bytes();
    }
    return out.size();
  }

  private interface AgedSlot {
    void accept(Slab slab, int slot, int age);
  }

  /** Every live slot with an idle clock (age 0 and up), in slab order. */
  private void forEachAgedSlot(AgedSlot visitor) {
    for (int i = 0, limit = directory.indexLimit(); i < limit; i++) {
      Slab slab = directory.get(i);
      byte[] ages = slab == null ? null : slab.ages;
      if (ages == null || slab.released) {
        continue;
      }
      for (int slot = 0; slot < slab.slots; slot++) {
        int age = ages[slot];
        if (age >= 0) {
          visitor.accept(slab, slot, Math.min(age, Slab.MAX_AGE));
        }
      }
    }
  }

  @Override
  public long maintainPool(String name) {
    java.util.Objects.requireNonNull(name, "name");
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
    mover.roomWaiter = waiter;
  }

  @Override
  public void onRestore(java.util.function.LongConsumer nanos) {
    requireTier();
    mover.restoreListener = nanos;
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
  public byte getByte(long handle, long offset) {
    for (long h = handle; ; h = resolve(handle)) {
      Slab slab = directory.get(Handles.slab(h));
      if (slab != null && slab.holds(h)) {
        try {
          byte v = slab.memory.get(ValueLayout.JAVA_BYTE, address(h, slab, offset, 1));
          VarHandle.loadLoadFence();
          if (slab.holds(h)) { // the block did not move while it was read
            return v;
          }
        } catch (IllegalStateException slabReleased) {
          // the block moved and its slab went back to the OS under the read: look again
        }
      }
    }
  }

  @Override
  public void putByte(long handle, long offset, byte value) {
    for (long h = handle; ; h = resolve(handle)) {
      Slab slab = directory.get(Handles.slab(h));
      if (slab == null) {
        continue;
      }
      if (gate == null) {
        if (slab.holds(h)) {
          slab.memory.set(ValueLayout.JAVA_BYTE, address(h, slab, offset, 1), value);
          return;
        }
        continue;
      }
      WriteGate.Mark mark = gate.mark();
      mark.enter(); // before the generation check: see WriteGate
      try {
        if (slab.holds(h)) {
          slab.memory.set(ValueLayout.JAVA_BYTE, address(h, slab, offset, 1), value);
          return;
        }
      } finally {
        mark.exit();
      }
    }
  }

  @Override
  public short getShort(long handle, long offset) {
    for (long h = handle; ; h = resolve(handle)) {
      Slab slab = directory.get(Handles.slab(h));
      if (slab != null && slab.holds(h)) {
        try {
          short v = slab.memory.get(SHORT, address(h, slab, offset, 2));
          VarHandle.loadLoadFence();
          if (slab.holds(h)) { // the block did not move while it was read
            return v;
          }
        } catch (IllegalStateException slabReleased) {
          // the block moved and its slab went back to the OS under the read: look again
        }
      }
    }
  }

  @Override
  public void putShort(long handle, long offset, short value) {
    for (long h = handle; ; h = resolve(handle)) {
      Slab slab = directory.get(Handles.slab(h));
      if (slab == null) {
        continue;
      }
      if (gate == null) {
        if (slab.holds(h)) {
          slab.memory.set(SHORT, address(h, slab, offset, 2), value);
          return;
        }
        continue;
      }
      WriteGate.Mark mark = gate.mark();
      mark.enter(); // before the generation check: see WriteGate
      try {
        if (slab.holds(h)) {
          slab.memory.set(SHORT, address(h, slab, offset, 2), value);
          return;
        }
      } finally {
        mark.exit();
      }
    }
  }

  @Override
  public int getInt(long handle, long offset) {
    for (long h = handle; ; h = resolve(handle)) {
      Slab slab = directory.get(Handles.slab(h));
      if (slab != null && slab.holds(h)) {
        try {
          int v = slab.memory.get(INT, address(h, slab, offset, 4));
          VarHandle.loadLoadFence();
          if (slab.holds(h)) { // the block did not move while it was read
            return v;
          }
        } catch (IllegalStateException slabReleased) {
          // the block moved and its slab went back to the OS under the read: look again
        }
      }
    }
  }

  @Override
  public void putInt(long handle, long offset, int value) {
    for (long h = handle; ; h = resolve(handle)) {
      Slab slab = directory.get(Handles.slab(h));
      if (slab == null) {
        continue;
      }
      if (gate == null) {
        if (slab.holds(h)) {
          slab.memory.set(INT, address(h, slab, offset, 4), value);
          return;
        }
        continue;
      }
      WriteGate.Mark mark = gate.mark();
      mark.enter(); // before the generation check: see WriteGate
      try {
        if (slab.holds(h)) {
          slab.memory.set(INT, address(h, slab, offset, 4), value);
          return;
        }
      } finally {
        mark.exit();
      }
    }
  }

  @Override
  public long getLong(long handle, long offset) {
    for (long h = handle; ; h = resolve(handle)) {
      Slab slab = directory.get(Handles.slab(h));
      if (slab != null && slab.holds(h)) {
        try {
          long v = slab.memory.get(LONG, address(h, slab, offset, 8));
          VarHandle.loadLoadFence();
          if (slab.holds(h)) { // the block did not move while it was read
            return v;
          }
        } catch (IllegalStateException slabReleased) {
          // the block moved and its slab went back to the OS under the read: look again
        }
      }
    }
  }

  @Override
  public void putLong(long handle, long offset, long value) {
    for (long h = handle; ; h = resolve(handle)) {
      Slab slab = directory.get(Handles.slab(h));
      if (slab == null) {
        continue;
      }
      if (gate == null) {
        if (slab.holds(h)) {
          slab.memory.set(LONG, address(h, slab, offset, 8), value);
          return;
        }
        continue;
      }
      WriteGate.Mark mark = gate.mark();
      mark.enter(); // before the generation check: see WriteGate
      try {
        if (slab.holds(h)) {
          slab.memory.set(LONG, address(h, slab, offset, 8), value);
          return;
        }
      } finally {
        mark.exit();
      }
    }
  }

  @Override
  public double getDouble(long handle, long offset) {
    for (long h = handle; ; h = resolve(handle)) {
      Slab slab = directory.get(Handles.slab(h));
      if (slab != null && slab.holds(h)) {
        try {
          double v = slab.memory.get(DOUBLE, address(h, slab, offset, 8));
          VarHandle.loadLoadFence();
          if (slab.holds(h)) { // the block did not move while it was read
            return v;
          }
        } catch (IllegalStateException slabReleased) {
          // the block moved and its slab went back to the OS under the read: look again
        }
      }
    }
  }

  @Override
  public void putDouble(long handle, long offset, double value) {
    for (long h = handle; ; h = resolve(handle)) {
      Slab slab = directory.get(Handles.slab(h));
      if (slab == null) {
        continue;
      }
      if (gate == null) {
        if (slab.holds(h)) {
          slab.memory.set(DOUBLE, address(h, slab, offset, 8), value);
          return;
        }
        continue;
      }
      WriteGate.Mark mark = gate.mark();
      mark.enter(); // before the generation check: see WriteGate
      try {
        if (slab.holds(h)) {
          slab.memory.set(DOUBLE, address(h, slab, offset, 8), value);
          return;
        }
      } finally {
        mark.exit();
      }
    }
  }

  @Override
  public void read(long handle, long offset, byte[] dst, int dstOffset, int length) {
    java.util.Objects.checkFromIndexSize(dstOffset, length, dst.length);
    for (long h = handle; ; h = resolve(handle)) {
      Slab slab = directory.get(Handles.slab(h));
      if (slab != null && slab.holds(h)) {
        try {
          MemorySegment.copy(slab.memory, ValueLayout.JAVA_BYTE, address(h, slab, offset, length), dst, dstOffset, length);
          VarHandle.loadLoadFence();
          if (slab.holds(h)) { // the block did not move while it was read
            return;
          }
        } catch (IllegalStateException slabReleased) {
          // the block moved and its slab went back to the OS under the read: look again
        }
      }
    }
  }

  @Override
  public void read(long handle, long offset, MemorySegment dst, long dstOffset, long length) {
    java.util.Objects.checkFromIndexSize(dstOffset, length, dst.byteSize());
    readChecked(handle, offset, dst, dstOffset, length);
  }

  /** A bulk read, validated like the primitive ones: a read the block moved under is done again. */
  private void readChecked(long handle, long offset, MemorySegment dst, long dstOffset, long length) {
    for (long h = handle; ; h = resolve(handle)) {
      Slab slab = directory.get(Handles.slab(h));
      if (slab != null && slab.holds(h)) {
        long at = address(h, slab, offset, length);
        try {
          MemorySegment.copy(slab.memory, at, dst, dstOffset, length);
        } catch (IllegalStateException e) {
          if (slab.memory.scope().isAlive()) {
            throw e; // dst's own arena is closed: the caller's problem
          }
          continue; // the block moved and its slab went back to the OS under the read
        }
        VarHandle.loadLoadFence();
        if (slab.holds(h)) {
          return;
        }
      }
    }
  }

  @Override
  public void write(long handle, long offset, byte[] src, int srcOffset, int length) {
    java.util.Objects.checkFromIndexSize(srcOffset, length, src.length);
    for (long h = handle; ; h = resolve(handle)) {
      Slab slab = directory.get(Handles.slab(h));
      if (slab == null) {
        continue;
      }
      if (gate == null) {
        if (slab.holds(h)) {
          MemorySegment.copy(src, srcOffset, slab.memory, ValueLayout.JAVA_BYTE, address(h, slab, offset, length), length);
          return;
        }
        continue;
      }
      WriteGate.Mark mark = gate.mark();
      mark.enter(); // before the generation check: see WriteGate
      try {
        if (slab.holds(h)) {
          MemorySegment.copy(src, srcOffset, slab.memory, ValueLayout.JAVA_BYTE, address(h, slab, offset, length), length);
          return;
        }
      } finally {
        mark.exit();
      }
    }
  }

  @Override
  public void write(long handle, long offset, MemorySegment src, long srcOffset, long length) {
    for (long h = handle; ; h = resolve(handle)) {
      Slab slab = directory.get(Handles.slab(h));
      if (slab == null) {
        continue;
      }
      if (gate == null) {
        if (slab.holds(h)) {
          MemorySegment.copy(src, srcOffset, slab.memory, address(h, slab, offset, length), length);
          return;
        }
        continue;
      }
      WriteGate.Mark mark = gate.mark();
      mark.enter(); // before the generation check: see WriteGate
      try {
        if (slab.holds(h)) {
          MemorySegment.copy(src, srcOffset, slab.memory, address(h, slab, offset, length), length);
          return;
        }
      } finally {
        mark.exit();
      }
    }
  }

  @Override
  public void fill(long handle, long offset, long length, byte value) {
    for (long h = handle; ; h = resolve(handle)) {
      Slab slab = directory.get(Handles.slab(h));
      if (slab == null) {
        continue;
      }
      if (gate == null) {
        if (slab.holds(h)) {
          slab.memory.asSlice(address(h, slab, offset, length), length).fill(value);
          return;
        }
        continue;
      }
      WriteGate.Mark mark = gate.mark();
      mark.enter(); // before the generation check: see WriteGate
      try {
        if (slab.holds(h)) {
          slab.memory.asSlice(address(h, slab, offset, length), length).fill(value);
          return;
        }
      } finally {
        mark.exit();
      }
    }
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
      if (closed) {
        return;
      }
      closed = true;
      caches.removeIf(c -> true);
    }
    try {
      if (mover != null) {
        mover.close(); // waits for a spill in progress
      }
      closePools();
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
  public java.util.List<java.nio.file.Path> tierDirectories() {
    return tierDirectories;
  }

  private void closePools() {
    for (SizePool pool : pools) {
      if (pool != null) {
        pool.closeAll();
      }
    }
  }
}
