package dev.spillway.core.memory;

import dev.spillway.memory.AllocatorClosedException;
import dev.spillway.memory.BudgetExceededException;
import dev.spillway.memory.RestoreFailedException;
import dev.spillway.memory.SizeClasses;
import dev.spillway.memory.SpillFailedException;
import dev.spillway.memory.SpillOutcome;
import dev.spillway.memory.SpillStats;
import dev.spillway.memory.spi.RoomWaiter;
import dev.spillway.memory.spi.SpillReport;
import dev.spillway.codec.Codec;
import dev.spillway.core.tier.EncodedRecord;
import dev.spillway.core.tier.RecordLocation;
import dev.spillway.core.tier.SegmentLog;
import dev.spillway.core.tier.Write;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Moves blocks between RAM and the NVMe tier: spill, transparent restore, and the slow paths of
 * handles whose block moved. The allocator's fast paths never come here; a handle whose generation
 * no longer matches its slot does.
 *
 * <p><b>Spilling a batch</b> (one batch at a time):
 * <ol>
 *   <li>Freeze each block: a {@link MovedBlock} entry (SPILLING) goes into the table, then the RAM
 *       slot's generation moves from {@code g} to {@code g + 1}. An even generation matches no handle,
 *       so from here on every access takes the slow path, and every slow-path access aborts the
 *       spill (the block stays resident, see {@link #abort}). A pin count read after the freeze
 *       catches a pin that raced it (both sides use sequentially consistent atomics).
 *   <li>Wait out the writers ({@link WriteGate#awaitWriters()}): after it, no write that checked the
 *       generation before the freeze is still running. Readers need no wait: they check the
 *       generation again after reading and retry when it changed.
 *   <li>Encode straight from the slots and append the batch; it returns once durable as configured.
 *   <li>Commit: each block still SPILLING becomes SPILLED and its slot goes back to its pool with a
 *       generation past the block's. A block that was touched meanwhile stays resident; its record,
 *       and every record of a batch that failed to write, gets a tombstone (written in batches).
 * </ol>
 *
 * <p><b>Generations of moved handles are never handed out again</b> while their entry lives: a slot
 * of a slab with moved blocks advances past every generation the table names for it
 * ({@link #nextGeneration}), so a wrapped generation can never make a moved handle look direct.
 */
final class BlockMover {
  /** Result of {@link #free}: the handle had no entry. */
  static final long NOT_MOVED = 0;
  /** Result of {@link #free}: the free is done. */
  static final long FREED = -1;
  /**
   * Tombstones of restored and freed blocks are written in batches of at least this many by spills
   * (and all of them by {@link #maintain}): a tombstone only lets compaction reclaim space, so it is
   * not worth an fsync of its own.
   */
  static final int TOMBSTONE_BATCH = 1024;
  /** Live bytes one maintenance pass may copy while compacting (it holds appends up meanwhile). */
  static final long MAINTENANCE_COPY_BYTES = 32L << 20;

  private final SlabDirectory directory;
  private final SizePool[] pools;
  private final HugeBlocks huge;
  private final SegmentLog store;
  private final Codec codec;
  /** The store's raw codec, used instead of {@link #codec} while {@link #probe} says compression does not pay. */
  private final Codec raw;
  private final CompressionProbe probe = new CompressionProbe();
  /** FORWARDED blocks by the key of their RAM slot, for spills through references of that slot. */
  private final MovedTable forwards = new MovedTable();
  /** Tests only: run by a freeze between adding its entry and freezing the slot. */
  volatile Runnable entryAddedHook;
  /** Told the duration of each restore (metrics); null: nobody listens. */
  volatile java.util.function.LongConsumer restoreListener;
  /** Asked for room when a restore finds the budget full; null: fail at once. */
  volatile RoomWaiter roomWaiter;
  private final MovedTable table = new MovedTable();
  private final WriteGate gate;
  /** One spill batch at a time. */
  private final java.util.concurrent.locks.ReentrantLock moveLock = new java.util.concurrent.locks.ReentrantLock();
  private final AtomicLong nextRecordKey = new AtomicLong(1);
  /**
   * Keys of records of blocks that came back or were dropped, waiting to be deleted in one batch:
   * {@code deadRecords[0, deadCount)}, guarded by {@link #deadLock}. Primitive, as a restore is frequent.
   */
  private long[] deadRecords = new long[TOMBSTONE_BATCH * 2];
  private int deadCount;
  private final Object deadLock = new Object();
  /** Slots that could not get a free generation (every one named by a moved handle); see quarantine. */
  private final List<long[]> quarantined = new ArrayList<>();

  private final LongAdder spills = new LongAdder();
  private final LongAdder restores = new LongAdder();
  private final LongAdder restoresInPlace = new LongAdder();
  private final LongAdder busy = new LongAdder();
  private final LongAdder failedSpills = new LongAdder();
  private final LongAdder failedRestores = new LongAdder();
  private final LongAdder rawWritten = new LongAdder();
  private final LongAdder storedWritten = new LongAdder();
  private final AtomicLong forwarded = new AtomicLong();

  BlockMover(SlabDirectory directory, SizePool[] pools, HugeBlocks huge, SegmentLog store, Codec codec,
      Codec raw, WriteGate gate) {
    this.raw = raw;
    this.directory = directory;
    this.gate = gate;
    this.pools = pools;
    this.huge = huge;
    this.store = store;
    this.codec = codec;
  }

  // ---- spill -------------------------------------------------------------------------------------

  /**
   * Spills the blocks of {@code handles[from, from + count)} as one batch, under the spill lock. An
   * invalid handle fails the whole call before anything is written (blocks frozen so far go back to
   * normal). Payloads stored raw are written straight from the slots: the lock and the freeze keep
   * them in place for the length of the call.
   */
  SpillReport spill(long[] handles, int from, int count, HandleChecker checker) {
    moveLock.lock();
    try {
      SpillGroup prepared = prepare(handles, from, count, checker, /* copy= */ false, /* strict= */ true);
      write(List.of(prepared));
      return prepared.report();
    } finally {
      moveLock.unlock();
    }
  }

  /**
   * Stage one of a pipelined spill: freezes each block, waits out the writes in flight, and encodes a
   * copy of each frozen block's bytes into memory the record owns. Runs without the spill lock, so
   * several groups prepare at once while another is written. With {@code strict} an invalid handle
   * throws (after unfreezing the group); otherwise it fails only its own request.
   */
  SpillGroup prepare(long[] handles, int from, int count, HandleChecker checker, boolean copy, boolean strict) {
    SpillGroup p = new SpillGroup(handles, from, count);
    p.mover = this;
    List<MovedBlock> frozen = new ArrayList<>(1);
    int busyNow = 0;
    for (int i = 0; i < count; i++) {
      frozen.clear();
      SpillOutcome o;
      try {
        o = freeze(p.handles[i], checker, frozen);
      } catch (RuntimeException e) {
        if (strict) {
          abandon(p);
          throw e;
        }
        p.fail(i, SpillGroup.INVALID, e);
        continue;
      }
      if (o == SpillOutcome.SPILLED) {
        p.outcomes[i] = SpillGroup.PENDING;
        p.frozen[p.frozenCount] = frozen.getFirst();
        p.frozenRequest[p.frozenCount++] = i;
      } else {
        p.outcome(i, o);
        if (o == SpillOutcome.PINNED || o == SpillOutcome.BUSY) {
          busyNow++;
        }
      }
    }
    busy.add(busyNow);
    if (p.frozenCount == 0) {
      return p;
    }
    gate.awaitWriters(); // the grace period: every write that passed its check has finished
    try {
      for (int k = 0; k < p.frozenCount; k++) {
        MovedBlock b = p.frozen[k];
        b.recordKey = nextRecordKey.getAndIncrement();
        try {
          Slab slab = directory.get(Handles.slab(b.ram));
          if (slab == null) {
            throw new IllegalStateException("slab " + Handles.slab(b.ram) + " of block " + Handles.format(b.handle)
                + " was released while the block was frozen for its spill (state " + b.state + ")");
          }
          long offset = slab.offsetOf(Handles.slot(b.ram));
          boolean attempt = codec != raw && probe.shouldTry();
          Codec with = attempt ? codec : raw;
          int generation = Handles.generation(b.handle);
          if (copy && slab.view != null) {
            // The slab's own view, addressed absolutely: no Write and no views per block.
            p.records[k] = store.encode(b.recordKey, generation, with, slab.view, (int) offset, b.requested);
          } else {
            MemorySegment bytes = slab.memory.asSlice(offset, b.requested);
            p.records[k] = store.encode(new Write(b.recordKey, generation, with, bytes), copy);
          }
          if (attempt) {
            probe.attempted(p.records[k].codecId() == codec.id());
          }
        } catch (IllegalStateException gone) {
          // The slab was unmapped under us: only possible once an access aborted the spill and the
          // block was freed. The block is not ours to write any more; anything else is a real failure.
          if (stillSpilling(b)) {
            throw gone;
          }
          continue;
        }
        p.rawBytes += b.requested;
        p.storedBytes += p.records[k].length();
      }
    } catch (RuntimeException e) {
      abandon(p);
      throw e;
    }
    return p;
  }

  private static boolean stillSpilling(MovedBlock b) {
    synchronized (b) {
      return b.state == MovedBlock.SPILLING;
    }
  }

  /**
   * Stage two: appends the records of every prepared group in one batch (one gathering write, fsync per
   * durability), then commits each block still untouched. Blocks touched meanwhile end BUSY, resident.
   *
   * @throws SpillFailedException when the append fails: every block of every group stays resident,
   *     and each of their requests carries the exception as its failure
   */
  void write(List<SpillGroup> batch) {
    moveLock.lock();
    try {
      List<EncodedRecord> records = new ArrayList<>();
      int blocks = 0;
      for (SpillGroup p : batch) {
        if (p.state != SpillGroup.State.PREPARED) {
          throw new IllegalStateException("a prepared spill can be written once, and not after abandon(): it is "
              + p.state);
        }
        for (int k = 0; k < p.frozenCount; k++) {
          if (p.records[k] != null) {
            records.add(p.records[k]);
            blocks++;
          }
        }
      }
      List<RecordLocation> locations;
      try {
        locations = records.isEmpty() ? List.of() : store.appendEncoded(records);
        if (!records.isEmpty()) {
          directory.budget.tierFailure(null);
        }
      } catch (IOException | RuntimeException e) {
        directory.budget.tierFailure(e); // names the cause when the budget then has no room
        failedSpills.add(blocks);
        SpillFailedException failure = new SpillFailedException(blocks, e);
        for (SpillGroup p : batch) {
          p.state = SpillGroup.State.FAILED;
          for (int k = 0; k < p.frozenCount; k++) {
            abort(p.frozen[k]);
            if (p.records[k] != null) {
              dropRecord(p.frozen[k].recordKey); // written before the failure, perhaps: a tombstone
            }
            p.fail(p.frozenRequest[k], SpillGroup.FAILED, failure);
          }
          p.releaseRecords();
        }
        flushDeadRecords();
        throw failure;
      }
      int next = 0;
      long spilled = 0;
      long raw = 0;
      long stored = 0;
      for (SpillGroup p : batch) {
        p.state = SpillGroup.State.WRITTEN;
        for (int k = 0; k < p.frozenCount; k++) {
          MovedBlock b = p.frozen[k];
          int request = p.frozenRequest[k];
          if (p.records[k] != null && commit(b)) {
            p.outcome(request, SpillOutcome.SPILLED);
            spilled++;
            raw += b.requested;
            stored += locations.get(next).length();
            p.writtenRaw += b.requested;
            p.writtenStored += locations.get(next).length();
          } else {
            p.outcome(request, SpillOutcome.BUSY);
            busy.increment();
            if (p.records[k] != null) {
              dropRecord(b.recordKey);
            }
          }
          if (p.records[k] != null) {
            next++;
          }
        }
        p.releaseRecords();
      }
      spills.add(spilled);
      rawWritten.add(raw);
      storedWritten.add(stored);
      if (deadRecordCount() >= TOMBSTONE_BATCH) {
        flushDeadRecords();
      }
    } finally {
      moveLock.unlock();
    }
  }

  /** Unfreezes every block of a group that will not be written, and releases its records. */
  void abandon(SpillGroup p) {
    p.state = SpillGroup.State.ABANDONED;
    for (int k = 0; k < p.frozenCount; k++) {
      abort(p.frozen[k]);
      p.outcome(p.frozenRequest[k], SpillOutcome.BUSY);
    }
    p.releaseRecords();
  }

  /** Freezes one block for spilling and adds it to {@code frozen}, or says why not. */
  private SpillOutcome freeze(long handle, HandleChecker checker, List<MovedBlock> frozen) {
    for (;;) {
      SpillOutcome outcome = tryFreeze(handle, checker, frozen);
      if (outcome != null) {
        return outcome;
      }
    }
  }

  /** One attempt of {@link #freeze}; null when the block changed place meanwhile (try again). */
  private SpillOutcome tryFreeze(long handle, HandleChecker checker, List<MovedBlock> frozen) {
    long version = movesVersion(handle);
    Slab slab = directory.get(Handles.slab(handle));
    if (slab != null && slab.holds(handle)) {
      int slot = Handles.slot(handle);
      if (slab.isForwardTarget(slot)) {
        return freezeByForwardTarget(handle, frozen);
      }
      if (slab.pinCount(slot) != 0) {
        return SpillOutcome.PINNED;
      }
      MovedBlock b = new MovedBlock(handle, slab, checker.requestedSize(handle, slab));
      b.state = MovedBlock.SPILLING;
      b.ram = handle & ~slackBits();
      b.ramIsHome = true;
      if (!table.add(b)) {
        return SpillOutcome.BUSY;
      }
      slab.addMoved(1);
      Runnable hook = entryAddedHook;
      if (hook != null) {
        hook.run();
      }
      int gen = Handles.generation(handle);
      // The freeze happens under the entry's monitor: an access that found the entry first (a reader
      // still on the slow path from an earlier spill of this block) has aborted it, and then the
      // slot must not be frozen, or it would stay frozen with no entry and the block be lost.
      synchronized (b) {
        if (b.state != MovedBlock.SPILLING) {
          return SpillOutcome.BUSY; // aborted (and removed) before the freeze: the block stays put
        }
        if (!slab.casGeneration(slot, gen, (gen + 1) & slab.generationMask)) {
          b.state = MovedBlock.GONE; // freed, or frozen by someone else, since the check
          removeEntry(b);
          return SpillOutcome.BUSY;
        }
        if (slab.pinCount(slot) != 0) {
          abortLocked(b);
          return SpillOutcome.PINNED;
        }
        if (slab.isForwardTarget(slot)) {
          abortLocked(b); // the slot's own handle: the block in it is known by its original handle only
          return SpillOutcome.BUSY;
        }
      }
      frozen.add(b);
      return SpillOutcome.SPILLED;
    }
    MovedBlock b = entryOf(handle);
    if (b == null) {
      if ((slab != null && slab.holds(handle)) || movesVersion(handle) != version) {
        return null; // back in its own slot since the check, or aborted and frozen again: look again
      }
      throw checker.invalid(handle);
    }
    synchronized (b) {
      switch (b.state) {
        case MovedBlock.SPILLED, MovedBlock.RESTORING -> {
          return SpillOutcome.ALREADY_SPILLED;
        }
        case MovedBlock.FORWARDED -> {
          return freezeForwarded(b, frozen);
        }
        case MovedBlock.SPILLING -> {
          return SpillOutcome.BUSY;
        }
        default -> {
          return null; // GONE: back in its own slot, or freed: look again
        }
      }
    }
  }

  /** Freezes a FORWARDED block in its RAM slot (the caller holds its monitor). */
  private SpillOutcome freezeForwarded(MovedBlock b, List<MovedBlock> frozen) {
    Slab ram = directory.get(Handles.slab(b.ram));
    int slot = Handles.slot(b.ram);
    int gen = Handles.generation(b.ram);
    if (ram.pinCount(slot) != 0) {
      return SpillOutcome.PINNED;
    }
    if (!ram.casGeneration(slot, gen, (gen + 1) & ram.generationMask)) {
      return SpillOutcome.BUSY;
    }
    if (ram.pinCount(slot) != 0) {
      ram.setGeneration(slot, gen);
      return SpillOutcome.PINNED;
    }
    b.state = MovedBlock.SPILLING;
    b.ramIsHome = false;
    frozen.add(b);
    return SpillOutcome.SPILLED;
  }

  /**
   * A reference names a slot that holds a forwarded block (the idle sweep saw only the slot): the
   * block is spilled through its own entry, found by its RAM location.
   */
  private SpillOutcome freezeByForwardTarget(long ref, List<MovedBlock> frozen) {
    MovedBlock f = forwards.get(MovedBlock.keyOf(ref));
    if (f == null) {
      return SpillOutcome.BUSY; // the flag is set a moment before the index entry, or cleared after
    }
    synchronized (f) {
      if (f.state == MovedBlock.FORWARDED && MovedBlock.keyOf(f.ram) == MovedBlock.keyOf(ref)) {
        return freezeForwarded(f, frozen);
      }
      return SpillOutcome.BUSY;
    }
  }

  /** SPILLING to SPILLED: releases the RAM slot. False when the spill was aborted meanwhile. */
  private boolean commit(MovedBlock b) {
    synchronized (b) {
      if (b.state != MovedBlock.SPILLING) {
        return false;
      }
      if (!b.ramIsHome) {
        forwards.remove(MovedBlock.keyOf(b.ram), b);
        directory.get(Handles.slab(b.ram)).forwardTarget(Handles.slot(b.ram), false);
      }
      int next = releaseRam(b.ram, b.requested);
      if (b.ramIsHome) {
        b.homeGenerationAfter = next;
      } else {
        forwarded.decrementAndGet();
      }
      b.state = MovedBlock.SPILLED;
      b.ram = 0;
      return true;
    }
  }

  /**
   * Gives a frozen RAM slot back to its pool (or unmaps a huge block) as spilled; returns the slot's
   * new generation, or -1 when it had to be quarantined.
   */
  private int releaseRam(long ram, long requested) {
    Slab slab = directory.get(Handles.slab(ram));
    int slot = Handles.slot(ram);
    slab.markFree(slot);
    int next = nextGeneration(slab, slot, Handles.generation(ram));
    if (slab.classIndex == SizeClasses.HUGE) {
      // A huge slab's index is not reused while a moved handle names it, so any generation will do.
      slab.setGeneration(slot, next < 0 ? slab.nextGeneration(Handles.generation(ram)) : next);
      huge.releaseSpilled(slab);
      return next;
    }
    SizePool pool = pools[slab.classIndex];
    if (next < 0) {
      pool.releaseSpilled(slab, slot, requested, /* keepSlot= */ true);
      synchronized (quarantined) {
        quarantined.add(new long[] {slab.id, slot});
      }
      return -1;
    }
    slab.setGeneration(slot, next);
    pool.releaseSpilled(slab, slot, requested, /* keepSlot= */ false);
    return next;
  }

  /** Aborts a spill in progress: the block stays (or is again) resident where it is. */
  private void abort(MovedBlock b) {
    synchronized (b) {
      abortLocked(b);
    }
  }

  private void abortLocked(MovedBlock b) {
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

  private void removeEntry(MovedBlock b) {
    if (table.remove(b) && b.home.addMoved(-1) == 0 && b.home.released) {
      directory.movedBlocksGone(b.home);
    }
  }

  // ---- access to moved blocks ---------------------------------------------------------------------

  /**
   * Where the block of {@code handle} can be accessed now: a handle of its RAM slot (the handle
   * itself when it is direct again, slack included), restoring the block first if it is on the tier
   * and aborting a spill in progress. {@link #NOT_MOVED} when the handle has no entry.
   */
  long resolve(long handle) {
    return resolve(handle, null);
  }

  /** {@link #resolve}; {@code restored[0]} (when given) says whether this call read the block back. */
  long resolve(long handle, boolean[] restored) {
    for (;;) {
      MovedBlock b = entryOf(handle);
      if (b == null) {
        return NOT_MOVED;
      }
      synchronized (b) {
        while (b.state == MovedBlock.RESTORING) {
          awaitRestore(b);
        }
        switch (b.state) {
          case MovedBlock.SPILLING -> {
            abortLocked(b);
            if (b.state == MovedBlock.GONE) {
              return handle;
            }
            return withSlack(b.ram, handle);
          }
          case MovedBlock.FORWARDED -> {
            return withSlack(b.ram, handle);
          }
          case MovedBlock.SPILLED -> b.state = MovedBlock.RESTORING;
          default -> {
            continue; // GONE: look again (it may be direct now, or freed)
          }
        }
      }
      if (restored != null) {
        restored[0] = true;
      }
      return withSlack(restore(b), handle);
    }
  }

  /**
   * Decodes a spilled block's record into {@code dst} without restoring it; returns its size, or -1
   * when the handle is not spilled (resident, moving, freed, or restored meanwhile: the caller reads
   * it the ordinary way, which sorts those out).
   */
  long readSpilled(long handle, MemorySegment dst) {
    MovedBlock b = entryOf(handle);
    if (b == null) {
      return -1;
    }
    long key;
    long requested;
    synchronized (b) {
      if (b.state != MovedBlock.SPILLED) {
        return -1;
      }
      key = b.recordKey;
      requested = b.requested;
    }
    long asked = requestedBy(handle, b);
    if (asked < 0) {
      return -1; // a malformed slack: the ordinary path reports it
    }
    if (dst.byteSize() < asked) {
      throw new IllegalArgumentException("destination holds " + dst.byteSize() + " bytes but block "
          + Handles.format(handle) + " has " + asked + ": allowed a destination of at least the block's size");
    }
    try {
      // A block spilled through a reference without slack was written whole (its class size).
      MemorySegment into = asked == requested ? dst.asSlice(0, requested) : MemorySegment.ofArray(new byte[(int) requested]);
      long n = store.readInto(key, into);
      if (n == requested && into != dst && asked != requested) {
        MemorySegment.copy(into, 0, dst, 0, asked);
        return asked;
      }
      if (n < 0) {
        return -1; // restored or freed since the look: its record got a tombstone
      }
      if (n != requested) {
        throw new IOException("the block's record holds " + n + " bytes, expected " + requested);
      }
      return n;
    } catch (IOException | RuntimeException e) {
      if (e instanceof IllegalArgumentException || e instanceof AllocatorClosedException) {
        throw (RuntimeException) e;
      }
      failedRestores.increment();
      throw new RestoreFailedException(handle, key, e);
    }
  }

  /**
   * The version of the moved-block table where {@code handle}'s entry would be
   * ({@link MovedTable#version}): read before and after a slow path's looks, it tells a handle of no
   * block from one whose entry a concurrent abort and re-freeze hid from both looks.
   */
  long movesVersion(long handle) {
    return table.version(MovedBlock.keyOf(handle));
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

  private long restore(MovedBlock b) {
    long started = System.nanoTime();
    long target = 0;
    boolean inPlace = false;
    try {
      target = takeRoomForRestore(b);
      inPlace = b.classIndex() != SizeClasses.HUGE
          && (target & Handles.LOCATION_MASK) == (b.handle & Handles.LOCATION_MASK);
      Slab slab = directory.get(Handles.slab(target));
      int slot = Handles.slot(target);
      long n = slab.view != null
          ? store.readInto(b.recordKey, slab.view, (int) slab.offsetOf(slot), b.requested)
          : store.readInto(b.recordKey, slab.memory.asSlice(slab.offsetOf(slot), b.requested));
      if (n != b.requested) {
        throw new IOException(n < 0 ? "the block's record is missing from the tier"
            : "the block's record holds " + n + " bytes, expected " + b.requested);
      }
      if (slab.requested != null) {
        slab.requested[slot] = b.requested;
      }
      // Out of the sweep's sight until the block's first access: before the in-place rewind the
      // slot carries a generation no block has, and a forwarded block is not published yet.
      slab.markRestored(slot);
      if (!inPlace) {
        slab.forwardTarget(slot, true);
        forwards.put(MovedBlock.keyOf(target), b);
      }
    } catch (IOException | RuntimeException e) {
      failedRestores.increment();
      if (target != 0) {
        undoRestore(target, b.requested);
      }
      synchronized (b) {
        b.state = MovedBlock.SPILLED;
        b.notifyAll();
      }
      if (e instanceof AllocatorClosedException closed) {
        throw closed;
      }
      if (e instanceof BudgetExceededException full) {
        throw new RestoreFailedException(b.handle, full);
      }
      throw new RestoreFailedException(b.handle, b.recordKey, e);
    }
    restores.increment();
    java.util.function.LongConsumer listener = restoreListener;
    if (listener != null) {
      listener.accept(System.nanoTime() - started);
    }
    long result;
    synchronized (b) {
      if (inPlace) {
        // The slot kept generation homeGenerationAfter since the block left: no handle of another
        // block names it, and rewinding makes this handle direct again.
        b.home.setGeneration(Handles.slot(b.handle), Handles.generation(b.handle));
        b.state = MovedBlock.GONE;
        removeEntry(b);
        restoresInPlace.increment();
        result = b.handle;
      } else {
        b.ram = target;
        b.state = MovedBlock.FORWARDED;
        forwarded.incrementAndGet();
        result = withSlack(target, b.handle);
      }
      b.notifyAll();
    }
    dropRecord(b.recordKey);
    return result;
  }

  /**
   * A RAM slot for a block coming back. When even the budget's slack is used up, the restore asks the
   * {@link #roomWaiter} (the control plane) for room and tries again for as long as it says to: an
   * access waits for memory rather than failing for lack of it.
   */
  private long takeRoomForRestore(MovedBlock b) {
    for (int attempt = 0; ; attempt++) {
      try {
        if (b.classIndex() == SizeClasses.HUGE) {
          return huge.allocateForRestore(b.requested);
        }
        return pools[b.classIndex()].takeForRestore(b.home, Handles.slot(b.handle), b.homeGenerationAfter, b.requested);
      } catch (BudgetExceededException full) {
        RoomWaiter waiter = roomWaiter;
        if (waiter == null || !waiter.awaitRoom(b.requested, attempt)) {
          throw full;
        }
      }
    }
  }

  /** Gives back the slot a failed restore took; the block counts as spilled again. */
  private void undoRestore(long target, long requested) {
    Slab slab = directory.get(Handles.slab(target));
    if (slab == null) {
      return; // the allocator closed under us
    }
    if (slab.classIndex == SizeClasses.HUGE) {
      huge.releaseSpilled(slab);
    } else {
      pools[slab.classIndex].undoRestore(slab, Handles.slot(target), requested);
    }
  }

  private static void awaitRestore(MovedBlock b) {
    try {
      b.wait();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for another thread to restore block "
          + Handles.format(b.handle), e);
    }
  }

  /**
   * The slow path of {@code free}: {@link #NOT_MOVED} when the handle has no entry, {@link #FREED}
   * when the block was on the tier (its record gets a tombstone), or a handle the caller frees the
   * ordinary way (the handle itself after an aborted spill, or the RAM slot of a forwarded block).
   */
  long free(long handle) {
    for (;;) {
      MovedBlock b = entryOf(handle);
      if (b == null) {
        return NOT_MOVED;
      }
      long key;
      synchronized (b) {
        while (b.state == MovedBlock.RESTORING) {
          awaitRestore(b);
        }
        abortLocked(b);
        switch (b.state) {
          case MovedBlock.FORWARDED -> {
            Slab ram = directory.get(Handles.slab(b.ram));
            if (ram.pinCount(Handles.slot(b.ram)) != 0) {
              throw SlabAllocator.pinnedOnFree(handle, ram.pinCount(Handles.slot(b.ram)));
            }
            b.state = MovedBlock.GONE;
            removeEntry(b);
            forwarded.decrementAndGet();
            forwards.remove(MovedBlock.keyOf(b.ram), b);
            ram.forwardTarget(Handles.slot(b.ram), false);
            return withSlack(b.ram, handle);
          }
          case MovedBlock.SPILLED -> {
            b.state = MovedBlock.GONE;
            removeEntry(b);
            key = b.recordKey;
            if (b.classIndex() == SizeClasses.HUGE) {
              huge.freeSpilled(b.requested);
            } else {
              // Spilled through a reference without slack, the block was counted at its class size;
              // the caller's handle says what it was counted at when allocated.
              long asked = requestedBy(handle, b);
              pools[b.classIndex()].freeSpilled(b.requested, asked < 0 ? 0 : b.requested - asked);
            }
          }
          default -> {
            if (entryOf(handle) == null) {
              return handle; // the abort made it direct again
            }
            continue;
          }
        }
      }
      dropRecord(key); // the tombstone goes out with the next spill batch or maintenance pass
      return FREED;
    }
  }

  /**
   * The entry of {@code handle}'s block. The slack bits do not take part: a block of a small class may
   * have been spilled through a reference without them ({@code sweepIdle}), and is still the caller's
   * block. Large and huge handles carry no slack, so one with slack names nothing.
   */
  private MovedBlock entryOf(long handle) {
    MovedBlock b = table.get(MovedBlock.keyOf(handle));
    if (b == null || (Handles.slack(handle) != 0 && !SizeClasses.isSmall(b.classIndex()))) {
      return null;
    }
    return b;
  }

  /** The bytes the caller of {@code handle} asked for: for small classes its slack says. */
  private static long requestedBy(long handle, MovedBlock b) {
    if (!SizeClasses.isSmall(b.classIndex())) {
      return b.requested;
    }
    int blockSize = SizeClasses.sizeOf(b.classIndex());
    int slack = Handles.slack(handle);
    return slack < blockSize ? blockSize - slack : -1;
  }

  private static long slackBits() {
    return ((long) Handles.MAX_SLACK) << Handles.SLACK_SHIFT;
  }

  private static long withSlack(long ram, long handle) {
    return (ram & ~slackBits()) | (handle & slackBits());
  }

  // ---- generations -------------------------------------------------------------------------------

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
    synchronized (quarantined) {
      quarantined.add(new long[] {slab.id, slot});
    }
    return true;
  }

  // ---- records -----------------------------------------------------------------------------------

  private int deadRecordCount() {
    synchronized (deadLock) {
      return deadCount;
    }
  }

  private void dropRecord(long key) {
    synchronized (deadLock) {
      if (deadCount == deadRecords.length) {
        deadRecords = java.util.Arrays.copyOf(deadRecords, deadCount * 2);
      }
      deadRecords[deadCount++] = key;
    }
  }

  /** Writes tombstones for every dropped record; a failure leaves them queued for the next try. */
  private void flushDeadRecords() {
    long[] keys;
    int count;
    synchronized (deadLock) {
      if (deadCount == 0) {
        return;
      }
      keys = deadRecords;
      count = deadCount;
      deadRecords = new long[Math.max(TOMBSTONE_BATCH * 2, count)];
      deadCount = 0;
    }
    try {
      // The spill log is never recovered (it starts empty at every open), so a dead record needs no
      // tombstone: dropping it from the index is enough, and compaction reclaims its bytes.
      store.forget(keys, count);
    } catch (RuntimeException e) {
      synchronized (deadLock) { // not data: an undeleted record only holds disk space until retried
        for (int i = 0; i < count; i++) {
          dropRecord(keys[i]);
        }
      }
    }
  }

  // ---- housekeeping --------------------------------------------------------------------------------

  /**
   * Flushes tombstones, returns quarantined slots that found a free generation, compacts the tier
   * and ends the epoch when released slabs wait for it (skipped while a spill holds the lock).
   */
  void maintain() {
    flushDeadRecords();
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
        synchronized (quarantined) {
          quarantined.add(q);
        }
      } else {
        slab.setGeneration(slot, next);
        pools[slab.classIndex].releaseSlot(slab, slot);
      }
    }
    try {
      store.compact(MAINTENANCE_COPY_BYTES);
    } catch (IOException | RuntimeException e) {
      // Compaction is an optimization; the next pass tries again.
    }
  }

  /** Waits for a running spill, then closes the tier. */
  void close() {
    moveLock.lock();
    try {
      flushDeadRecords();
      store.close();
    } catch (IOException e) {
      // Nothing of value is lost: spilled blocks die with the allocator.
    } finally {
      moveLock.unlock();
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
    return new SpillStats(blocks + h[0], bytes + h[1], forwarded.get(), spills.sum(), restores.sum(),
        restoresInPlace.sum(), busy.sum(), failedSpills.sum(), failedRestores.sum(), rawWritten.sum(),
        storedWritten.sum(), store.stats());
  }

  /** The allocator's handle checks, for the mover's error paths. */
  interface HandleChecker {
    /** The requested size of the direct block {@code handle} in {@code slab}. */
    long requestedSize(long handle, Slab slab);

    /** The exception an invalid (not live, not moved) handle raises. */
    RuntimeException invalid(long handle);
  }
}
