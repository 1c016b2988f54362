package dev.spillway.core.memory;

import dev.spillway.codec.Codec;
import dev.spillway.core.tier.EncodedRecord;
import dev.spillway.core.tier.RecordLocation;
import dev.spillway.core.tier.Write;
import dev.spillway.memory.SizeClasses;
import dev.spillway.memory.SpillFailedException;
import dev.spillway.memory.SpillOutcome;
import dev.spillway.memory.spi.SpillReport;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongFunction;

/**
 * Moves blocks from RAM to the tier. A spill runs in two stages, so that a pipeline can prepare several
 * groups while another is written: {@link #prepare} (freeze, wait out writers, encode) and
 * {@link #write} (append, commit).
 *
 * <ol>
 *   <li>Freeze each block: a {@link MovedBlock} entry (SPILLING) goes into the table, then the RAM
 *       slot's generation moves from {@code g} to {@code g + 1}. An even generation matches no handle,
 *       so from here on every access takes the slow path, and every slow-path access aborts the
 *       spill (the block stays resident, {@link BlockMover#abort}). A pin count read after the freeze
 *       catches a pin that raced it (both sides use sequentially consistent atomics).
 *   <li>Wait out the writers ({@link WriteGate#awaitWriters()}): after it, no write that checked the
 *       generation before the freeze is still running. Readers need no wait: they check the
 *       generation again after reading and retry when it changed.
 *   <li>Encode straight from the slots and append the batch; it returns once durable as configured.
 *   <li>Commit: each block still SPILLING becomes SPILLED and its slot goes back to its pool with a
 *       generation past the block's. A block that was touched meanwhile stays resident; its record,
 *       and every record of a batch that failed to write, is dropped ({@link TombstoneBatcher}).
 * </ol>
 *
 * <p>Writes (and the synchronous {@link #spill}) hold {@link BlockMover#spillLock}: one batch at a time.
 */
final class SpillProtocol {
  private final BlockMover mover;
  private final Codec codec;
  /** The store's raw codec, used instead of {@link #codec} while {@link #probe} says compression does not pay. */
  private final Codec raw;
  private final CompressionProbe probe = new CompressionProbe();
  private final WriteGate gate;
  private final AtomicLong nextRecordKey = new AtomicLong(1);

  final LongAdder spills = new LongAdder();
  final LongAdder busy = new LongAdder();
  final LongAdder failedSpills = new LongAdder();
  final LongAdder rawWritten = new LongAdder();
  final LongAdder storedWritten = new LongAdder();

  SpillProtocol(BlockMover mover, Codec codec, Codec raw, WriteGate gate) {
    this.mover = mover;
    this.codec = codec;
    this.raw = raw;
    this.gate = gate;
  }

  /**
   * Whether encoding a block costs about a copy of it: the codec is raw, or the {@link CompressionProbe}
   * has backed off because the last records did not compress. A pipeline then gains nothing from
   * encoding ahead of the writer and spills in place instead (see
   * {@link dev.spillway.memory.spi.AllocatorControl#prepareSpillInPlace}).
   */
  // Identity on purpose: the allocator's own raw codec instance stores without encoding.
  @SuppressWarnings("ReferenceEquality")
  boolean encodesCheaply() {
    return codec == raw || probe.backedOff();
  }

  /**
   * Spills the blocks of {@code handles[from, from + count)} as one batch, under the spill lock. An
   * invalid handle fails the whole call before anything is written (blocks frozen so far go back to
   * normal). Payloads stored raw are written straight from the slots: the lock and the freeze keep
   * them in place for the length of the call.
   */
  SpillReport spill(long[] handles, int from, int count, LongFunction<RuntimeException> invalid) {
    mover.spillLock.lock();
    try {
      SpillGroup prepared = prepare(handles, from, count, invalid, /* copy= */ false, /* strict= */ true);
      write(List.of(prepared));
      return prepared.report();
    } finally {
      mover.spillLock.unlock();
    }
  }

  /**
   * Stage one of a pipelined spill: freezes each block, waits out the writes in flight, and encodes
   * each frozen block's bytes. With {@code copy} a payload stored raw is copied into memory the record
   * owns, so the group may wait for its write; without it the record points at the block's slot, and
   * the group must be written at once by the same thread (as {@link #spill} does under the lock; the
   * pipeline's writer does so when encoding is cheap). Runs without the spill lock, so several groups
   * prepare at once while another is written. With {@code strict} an invalid handle throws (after
   * unfreezing the group); otherwise it fails only its own request.
   */
  SpillGroup prepare(long[] handles, int from, int count, LongFunction<RuntimeException> invalid, boolean copy, boolean strict) {
    SpillGroup p = new SpillGroup(handles, from, count);
    p.mover = mover;
    List<MovedBlock> frozen = new ArrayList<>(1);
    int busyNow = 0;
    for (int i = 0; i < count; i++) {
      frozen.clear();
      SpillOutcome o;
      try {
        o = freeze(p.handles[i], invalid, frozen);
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
          Slab slab = mover.directory.get(Handles.slab(b.ram));
          if (slab == null) {
            throw new IllegalStateException("slab " + Handles.slab(b.ram) + " of block " + Handles.format(b.handle)
                + " was released while the block was frozen for its spill (state " + b.state + ")");
          }
          long offset = slab.offsetOf(Handles.slot(b.ram));
          // Identity on purpose: the allocator's own raw codec instance stores without encoding.
          @SuppressWarnings("ReferenceEquality")
          boolean attempt = codec != raw && probe.shouldTry();
          Codec with = attempt ? codec : raw;
          int generation = Handles.generation(b.handle);
          if (copy && slab.view != null) {
            // The slab's own view, addressed absolutely: no Write and no views per block.
            p.records[k] = mover.store.encode(b.recordKey, generation, with, slab.view, (int) offset, b.requested);
          } else {
            MemorySegment bytes = slab.memory.asSlice(offset, b.requested);
            p.records[k] = mover.store.encode(new Write(b.recordKey, generation, with, bytes), copy);
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
    mover.spillLock.lock();
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
        locations = records.isEmpty() ? List.of() : mover.store.appendEncoded(records);
        if (!records.isEmpty()) {
          mover.directory.budget.tierFailure(null);
        }
      } catch (IOException | RuntimeException e) {
        mover.directory.budget.tierFailure(e); // names the cause when the budget then has no room
        failedSpills.add(blocks);
        SpillFailedException failure = new SpillFailedException(blocks, e);
        for (SpillGroup p : batch) {
          p.state = SpillGroup.State.FAILED;
          for (int k = 0; k < p.frozenCount; k++) {
            mover.abort(p.frozen[k]);
            if (p.records[k] != null) {
              mover.tombstones.drop(p.frozen[k].recordKey); // written before the failure, perhaps: a tombstone
            }
            p.fail(p.frozenRequest[k], SpillGroup.FAILED, failure);
          }
          p.releaseRecords();
        }
        mover.tombstones.flush();
        throw failure;
      }
      mover.observer.appended();
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
              mover.tombstones.drop(b.recordKey);
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
      if (mover.tombstones.due()) {
        mover.tombstones.flush();
      }
    } finally {
      mover.spillLock.unlock();
    }
  }

  /** Unfreezes every block of a group that will not be written, and releases its records. */
  void abandon(SpillGroup p) {
    p.state = SpillGroup.State.ABANDONED;
    for (int k = 0; k < p.frozenCount; k++) {
      mover.abort(p.frozen[k]);
      p.outcome(p.frozenRequest[k], SpillOutcome.BUSY);
    }
    p.releaseRecords();
  }

  /** Freezes one block for spilling and adds it to {@code frozen}, or says why not. */
  private SpillOutcome freeze(long handle, LongFunction<RuntimeException> invalid, List<MovedBlock> frozen) {
    for (;;) {
      SpillOutcome outcome = tryFreeze(handle, invalid, frozen);
      if (outcome != null) {
        return outcome;
      }
    }
  }

  /** One attempt of {@link #freeze}; null when the block changed place meanwhile (try again). */
  private SpillOutcome tryFreeze(long handle, LongFunction<RuntimeException> invalid, List<MovedBlock> frozen) {
    long version = mover.movesVersion(handle);
    Slab slab = mover.directory.get(Handles.slab(handle));
    if (slab != null && slab.holds(handle)) {
      int slot = Handles.slot(handle);
      if (slab.isForwardTarget(slot)) {
        return freezeByForwardTarget(handle, frozen);
      }
      if (slab.pinCount(slot) != 0) {
        return SpillOutcome.PINNED;
      }
      MovedBlock b = new MovedBlock(handle, slab, HandleErrors.requestedSize(handle, slab, Handles.slot(handle)));
      b.state = MovedBlock.SPILLING;
      b.ram = handle & ~BlockMover.slackBits();
      b.ramIsHome = true;
      if (!mover.table.add(b)) {
        return SpillOutcome.BUSY;
      }
      slab.addMoved(1);
      mover.observer.entryAdded(handle);
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
          mover.removeEntry(b);
          return SpillOutcome.BUSY;
        }
        if (slab.pinCount(slot) != 0) {
          mover.abortLocked(b);
          return SpillOutcome.PINNED;
        }
        if (slab.isForwardTarget(slot)) {
          mover.abortLocked(b); // the slot's own handle: the block in it is known by its original handle only
          return SpillOutcome.BUSY;
        }
      }
      frozen.add(b);
      return SpillOutcome.SPILLED;
    }
    MovedBlock b = mover.entryOf(handle);
    if (b == null) {
      if ((slab != null && slab.holds(handle)) || mover.movesVersion(handle) != version) {
        return null; // back in its own slot since the check, or aborted and frozen again: look again
      }
      throw invalid.apply(handle);
    }
    synchronized (b) {
      return switch (b.state) {
        case MovedBlock.SPILLED, MovedBlock.RESTORING -> SpillOutcome.ALREADY_SPILLED;
        case MovedBlock.FORWARDED -> freezeForwarded(b, frozen);
        case MovedBlock.SPILLING -> SpillOutcome.BUSY;
        default -> null; // GONE: back in its own slot, or freed: look again
      };
    }
  }

  /** Freezes a FORWARDED block in its RAM slot (the caller holds its monitor). */
  private SpillOutcome freezeForwarded(MovedBlock b, List<MovedBlock> frozen) {
    Slab ram = mover.directory.get(Handles.slab(b.ram));
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
    MovedBlock f = mover.forwards.get(MovedBlock.keyOf(ref));
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
        mover.forwards.remove(MovedBlock.keyOf(b.ram), b);
        mover.directory.get(Handles.slab(b.ram)).forwardTarget(Handles.slot(b.ram), false);
      }
      int next = releaseRam(b.ram, b.requested);
      if (b.ramIsHome) {
        b.homeGenerationAfter = next;
      } else {
        mover.forwarded.decrementAndGet();
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
    Slab slab = mover.directory.get(Handles.slab(ram));
    int slot = Handles.slot(ram);
    slab.markFree(slot);
    int next = mover.nextGeneration(slab, slot, Handles.generation(ram));
    if (slab.classIndex == SizeClasses.HUGE) {
      // A huge slab's index is not reused while a moved handle names it, so any generation will do.
      slab.setGeneration(slot, next < 0 ? slab.nextGeneration(Handles.generation(ram)) : next);
      mover.huge.releaseSpilled(slab);
      return next;
    }
    SizePool pool = mover.pools[slab.classIndex];
    if (next < 0) {
      pool.releaseSpilled(slab, slot, requested, /* keepSlot= */ true);
      mover.quarantine(slab, slot);
      return -1;
    }
    slab.setGeneration(slot, next);
    pool.releaseSpilled(slab, slot, requested, /* keepSlot= */ false);
    return next;
  }
}
