package dev.spillway.core.memory;

import dev.spillway.codec.Codec;
import dev.spillway.core.tier.SegmentLog;
import dev.spillway.memory.SizeClasses;
import dev.spillway.memory.SpillStats;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Blocks that moved between RAM and the NVMe tier: their entries, the state changes both protocols
 * share, and the generations of slots that moved handles still name. The protocols themselves are
 * {@link SpillProtocol} (RAM to tier) and {@link Restorer} (every access of a moved handle, which
 * brings a spilled block back); dead records go out in batches through {@link TombstoneBatcher}.
 * The allocator's fast paths never come here: a handle whose generation no longer matches its slot
 * does.
 *
 * <p><b>Entries.</b> A block has an entry ({@link MovedBlock}, in {@link #table} by its handle's key)
 * from the moment a spill starts freezing it until it is back in its home slot or freed. A FORWARDED
 * block (restored into a slot other than its home) is also in {@link #forwards}, by the key of its RAM
 * slot, so that a spill naming that slot by reference finds it.
 *
 * <p><b>Generations of moved handles are never handed out again</b> while their entry lives: a slot of
 * a slab with moved blocks advances past every generation the table names for it
 * ({@link #nextGeneration}), so a wrapped generation can never make a moved handle look direct. A slot
 * with no free generation left is quarantined (kept taken) until {@link #maintain} finds it one.
 */
final class BlockMover {
  /** Live bytes one maintenance pass may copy while compacting (it holds appends up meanwhile). */
  static final long MAINTENANCE_COPY_BYTES = 32L << 20;

  final SlabDirectory directory;
  final SizePool[] pools;
  final HugeBlocks huge;
  final SegmentLog store;
  final MoveObserver observer;
  /** Moved blocks by the key of the handle the application holds. */
  final MovedTable table = new MovedTable();
  /** FORWARDED blocks by the key of their RAM slot, for spills through references of that slot. */
  final MovedTable forwards = new MovedTable();
  /** Blocks now FORWARDED. */
  final AtomicLong forwarded = new AtomicLong();
  /** One spill batch at a time; close waits for it. */
  final ReentrantLock spillLock = new ReentrantLock();
  final TombstoneBatcher tombstones;
  final SpillProtocol spiller;
  final Restorer restorer;
  /** Slots that could not get a free generation (every one named by a moved handle): {slab id, slot}. */
  private final List<long[]> quarantined = new ArrayList<>();

  BlockMover(SlabDirectory directory, SizePool[] pools, HugeBlocks huge, SegmentLog store, Codec codec,
      Codec raw, WriteGate gate, MoveObserver observer) {
    this.directory = directory;
    this.pools = pools;
    this.huge = huge;
    this.store = store;
    this.observer = observer;
    this.tombstones = new TombstoneBatcher(store);
    this.spiller = new SpillProtocol(this, codec, raw, gate);
    this.restorer = new Restorer(this);
  }

  // ---- entries -------------------------------------------------------------------------------------

  /**
   * The entry of {@code handle}'s block. The slack bits do not take part: a block of a small class may
   * have been spilled through a reference without them ({@code sweepIdle}), and is still the caller's
   * block. Large and huge handles carry no slack, so one with slack names nothing.
   */
  MovedBlock entryOf(long handle) {
    MovedBlock b = table.get(MovedBlock.keyOf(handle));
    if (b == null || (Handles.slack(handle) != 0 && !SizeClasses.isSmall(b.classIndex()))) {
      return null;
    }
    return b;
  }

  /**
   * The version of the moved-block table where {@code handle}'s entry would be
   * ({@link MovedTable#version}): read before and after a slow path's looks, it tells a handle of no
   * block from one whose entry a concurrent abort and re-freeze hid from both looks.
   */
  long movesVersion(long handle) {
    return table.version(MovedBlock.keyOf(handle));
  }

  /** Ends {@code b}'s entry; a released home slab whose last moved block this was goes back. */
  void removeEntry(MovedBlock b) {
    if (table.remove(b) && b.home.addMoved(-1) == 0 && b.home.released) {
      directory.movedBlocksGone(b.home);
    }
  }

  /** The bytes the caller of {@code handle} asked for: for small classes its slack says; -1 if malformed. */
  static long requestedBy(long handle, MovedBlock b) {
    if (!SizeClasses.isSmall(b.classIndex())) {
      return b.requested;
    }
    int blockSize = SizeClasses.sizeOf(b.classIndex());
    int slack = Handles.slack(handle);
    return slack < blockSize ? blockSize - slack : -1;
  }

  static long slackBits() {
    return ((long) Handles.MAX_SLACK) << Handles.SLACK_SHIFT;
  }

  /** The RAM slot {@code ram} with the slack bits of the caller's {@code handle}. */
  static long withSlack(long ram, long handle) {
    return (ram & ~slackBits()) | (handle & slackBits());
  }

  /** Whether the block of a moved handle is in RAM; null when the handle has no live entry. */
  Boolean isResident(long handle) {
    MovedBlock b = entryOf(handle);
    if (b == null) {
      return null;
    }
    synchronized (b) {
      return switch (b.state) {
        case MovedBlock.SPILLING, MovedBlock.FORWARDED -> Boolean.TRUE;
        case MovedBlock.SPILLED, MovedBlock.RESTORING -> Boolean.FALSE;
        default -> null;
      };
    }
  }

  /** The requested size of a moved block, or -1 when the handle has no live entry. */
  long requestedSize(long handle) {
    MovedBlock b = entryOf(handle);
    return b == null ? -1 : requestedBy(handle, b);
  }

  /** The class of a moved block, or -1 when the handle has no live entry. */
  int classIndex(long handle) {
    MovedBlock b = entryOf(handle);
    return b == null ? -1 : b.classIndex();
  }

  // ---- aborting a spill ----------------------------------------------------------------------------

  /** Aborts a spill in progress: the block stays (or is again) resident where it is. */
  void abort(MovedBlock b) {
    synchronized (b) {
      abortLocked(b);
    }
  }

  /** {@link #abort}, the caller holding {@code b}'s monitor; nothing happens unless it is SPILLING. */
  void abortLocked(MovedBlock b) {
    if (b.state != MovedBlock.SPILLING) {
      return;
    }
    Slab ram = directory.get(Handles.slab(b.ram));
    int gen = Handles.generation(b.ram);
    // Unfreeze only a slot this entry froze (g + 1 back to g). An entry found before its freeze (or
    // whose freeze failed because the block was freed) has nothing to unfreeze, and a plain store
    // would bring a freed slot's old generation back.
    ram.casGeneration(Handles.slot(b.ram), (gen + 1) & ram.generationMask, gen);
    if (b.ramIsHome) {
      b.state = MovedBlock.GONE;
      b.ram = 0;
      removeEntry(b);
    } else {
      b.state = MovedBlock.FORWARDED;
    }
    b.notifyAll();
  }

  // ---- generations ---------------------------------------------------------------------------------

  /**
   * The generation {@code slot} of {@code slab} gets when the block of generation {@code gen} leaves
   * it: the next one that no moved handle names; -1 if every generation is named.
   */
  int nextGeneration(Slab slab, int slot, int gen) {
    int next = slab.nextGeneration(gen);
    if (slab.movedCount() == 0 || slab.classIndex == SizeClasses.HUGE) {
      return next; // a huge slab's index is not reused while a moved handle names it
    }
    int generations = (slab.generationMask + 1) / 2;
    for (int i = 0; i < generations; i++) {
      if (table.get(Handles.make(next, 0, slab.id, slot)) == null) {
        return next;
      }
      next = slab.nextGeneration(next);
    }
    return -1;
  }

  /**
   * Frees a block whose slot has no free generation left (see {@link #nextGeneration}): the slot
   * stays frozen and taken until {@link #maintain} finds it one. False when the handle is not the
   * slot's live block.
   */
  boolean quarantineFree(Slab slab, int slot, int gen, long requested) {
    if (!slab.casGeneration(slot, gen, (gen + 1) & slab.generationMask)) {
      return false;
    }
    pools[slab.classIndex].freeKeepSlot(requested);
    quarantine(slab, slot);
    return true;
  }

  /** Keeps a frozen, taken slot aside until a generation of it is free. */
  void quarantine(Slab slab, int slot) {
    synchronized (quarantined) {
      quarantined.add(new long[] {slab.id, slot});
    }
  }

  /** Gives back every quarantined slot that has a free generation now. */
  private void releaseQuarantined() {
    List<long[]> retry;
    synchronized (quarantined) {
      retry = new ArrayList<>(quarantined);
      quarantined.clear();
    }
    for (long[] q : retry) {
      // A slot every generation of which moved handles named (8-bit generations, 128 moved blocks
      // from one slot) stayed frozen and taken; give it back once a generation is free.
      Slab slab = directory.get((int) q[0]);
      int slot = (int) q[1];
      int frozen = slab.generation(slot);
      int next = nextGeneration(slab, slot, (frozen - 1) & slab.generationMask);
      if (next < 0) {
        quarantine(slab, slot);
      } else {
        slab.setGeneration(slot, next);
        pools[slab.classIndex].releaseSlot(slab, slot);
      }
    }
  }

  // ---- housekeeping --------------------------------------------------------------------------------

  /**
   * Forgets dead records, returns quarantined slots that found a free generation, and compacts the
   * tier (a bounded pass).
   */
  void maintain() {
    tombstones.flush();
    releaseQuarantined();
    try {
      store.compact(MAINTENANCE_COPY_BYTES);
    } catch (IOException | RuntimeException e) {
      // Compaction is an optimization; the next pass tries again.
    }
  }

  /** Waits for a running spill, then closes the tier. */
  void close() {
    spillLock.lock();
    try {
      tombstones.flush();
      store.close();
    } catch (IOException e) {
      // Nothing of value is lost: spilled blocks die with the allocator.
    } finally {
      spillLock.unlock();
    }
  }

  SpillStats stats() {
    long blocks = 0;
    long bytes = 0;
    for (SizePool pool : pools) {
      long[] f = pool.spilledFigures();
      blocks += f[0];
      bytes += f[1];
    }
    long[] h = huge.spilledFigures();
    return new SpillStats(blocks + h[0], bytes + h[1], forwarded.get(), spiller.spills.sum(),
        restorer.restores.sum(), restorer.restoresInPlace.sum(), spiller.busy.sum(), spiller.failedSpills.sum(),
        restorer.failedRestores.sum(), spiller.rawWritten.sum(), spiller.storedWritten.sum(), store.stats());
  }
}
