package dev.spillway.core.memory;

import dev.spillway.memory.AllocatorClosedException;
import dev.spillway.memory.BudgetExceededException;
import dev.spillway.memory.RestoreFailedException;
import dev.spillway.memory.SizeClasses;
import dev.spillway.memory.spi.RoomWaiter;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.LongAdder;

/**
 * Every access of a handle whose block moved: {@link #resolve} finds where the block can be accessed
 * now (aborting a spill in progress, or reading a spilled block back into RAM), {@link #readSpilled}
 * decodes a spilled block without bringing it back, {@link #free} frees a moved block.
 *
 * <p><b>Restore.</b> One thread restores a block (SPILLED to RESTORING, under the block's monitor);
 * others wait on the monitor. The block goes back into its home slot when that slot still has the
 * generation it got when the block left (the handle becomes direct again, the entry ends), and
 * otherwise into any slot of its class, where it is FORWARDED: its handle keeps taking the slow path,
 * which answers with the RAM slot. A restore that finds the budget full asks the control plane for
 * room ({@link RoomWaiter}) for as long as it says to wait.
 */
final class Restorer {
  /** Result of {@link #resolve} and {@link #free}: the handle had no entry. */
  static final long NOT_MOVED = 0;
  /** Result of {@link #free}: the free is done. */
  static final long FREED = -1;

  private final BlockMover mover;
  /** Told the duration of each restore (metrics); null: nobody listens. */
  volatile java.util.function.LongConsumer restoreListener;
  /** Asked for room when a restore finds the budget full; null: fail at once. */
  volatile RoomWaiter roomWaiter;

  final LongAdder restores = new LongAdder();
  final LongAdder restoresInPlace = new LongAdder();
  final LongAdder failedRestores = new LongAdder();

  Restorer(BlockMover mover) {
    this.mover = mover;
  }

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
      MovedBlock b = mover.entryOf(handle);
      if (b == null) {
        return NOT_MOVED;
      }
      synchronized (b) {
        while (b.state == MovedBlock.RESTORING) {
          awaitRestore(b);
        }
        switch (b.state) {
          case MovedBlock.SPILLING -> {
            mover.abortLocked(b);
            if (b.state == MovedBlock.GONE) {
              return handle;
            }
            return BlockMover.withSlack(b.ram, handle);
          }
          case MovedBlock.FORWARDED -> {
            return BlockMover.withSlack(b.ram, handle);
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
      return BlockMover.withSlack(restore(b), handle);
    }
  }

  /**
   * Decodes a spilled block's record into {@code dst} without restoring it; returns its size, or -1
   * when the handle is not spilled (resident, moving, freed, or restored meanwhile: the caller reads
   * it the ordinary way, which sorts those out).
   */
  long readSpilled(long handle, MemorySegment dst) {
    MovedBlock b = mover.entryOf(handle);
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
    long asked = BlockMover.requestedBy(handle, b);
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
      long n = mover.store.readInto(key, into);
      if (n == requested && asked != requested) { // into is the heap copy, not a slice of dst
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

  private long restore(MovedBlock b) {
    mover.observer.restoring(b.handle);
    long started = System.nanoTime();
    long target = 0;
    boolean inPlace = false;
    try {
      target = takeRoomForRestore(b);
      // In place only into the home slot at the generation the block left behind: a home slot another
      // block has used since carries a generation that stale handles of that block know, and rewinding
      // it would make them live again (the pool never hands it back so; this holds even if it did).
      inPlace = b.classIndex() != SizeClasses.HUGE
          && (target & Handles.LOCATION_MASK) == (b.handle & Handles.LOCATION_MASK)
          && Handles.generation(target) == b.homeGenerationAfter;
      Slab slab = mover.directory.get(Handles.slab(target));
      int slot = Handles.slot(target);
      long n = slab.view != null
          ? mover.store.readInto(b.recordKey, slab.view, (int) slab.offsetOf(slot), b.requested)
          : mover.store.readInto(b.recordKey, slab.memory.asSlice(slab.offsetOf(slot), b.requested));
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
        mover.forwards.put(MovedBlock.keyOf(target), b);
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
        mover.removeEntry(b);
        restoresInPlace.increment();
        result = b.handle;
      } else {
        b.ram = target;
        b.state = MovedBlock.FORWARDED;
        mover.forwarded.incrementAndGet();
        result = BlockMover.withSlack(target, b.handle);
      }
      b.notifyAll();
    }
    mover.tombstones.drop(b.recordKey);
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
          return mover.huge.allocateForRestore(b.requested);
        }
        return mover.pools[b.classIndex()].takeForRestore(b.home, Handles.slot(b.handle), b.homeGenerationAfter, b.requested);
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
    Slab slab = mover.directory.get(Handles.slab(target));
    if (slab == null) {
      return; // the allocator closed under us
    }
    if (slab.classIndex == SizeClasses.HUGE) {
      mover.huge.releaseSpilled(slab);
    } else {
      mover.pools[slab.classIndex].undoRestore(slab, Handles.slot(target), requested);
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
      MovedBlock b = mover.entryOf(handle);
      if (b == null) {
        return NOT_MOVED;
      }
      long key;
      synchronized (b) {
        while (b.state == MovedBlock.RESTORING) {
          awaitRestore(b);
        }
        mover.abortLocked(b);
        switch (b.state) {
          case MovedBlock.FORWARDED -> {
            Slab ram = mover.directory.get(Handles.slab(b.ram));
            if (ram.pinCount(Handles.slot(b.ram)) != 0) {
              throw HandleErrors.pinnedOnFree(handle, ram.pinCount(Handles.slot(b.ram)));
            }
            b.state = MovedBlock.GONE;
            mover.removeEntry(b);
            mover.forwarded.decrementAndGet();
            mover.forwards.remove(MovedBlock.keyOf(b.ram), b);
            ram.forwardTarget(Handles.slot(b.ram), false);
            return BlockMover.withSlack(b.ram, handle);
          }
          case MovedBlock.SPILLED -> {
            b.state = MovedBlock.GONE;
            mover.removeEntry(b);
            key = b.recordKey;
            if (b.classIndex() == SizeClasses.HUGE) {
              mover.huge.freeSpilled(b.requested);
            } else {
              // Spilled through a reference without slack, the block was counted at its class size;
              // the caller's handle says what it was counted at when allocated.
              long asked = BlockMover.requestedBy(handle, b);
              mover.pools[b.classIndex()].freeSpilled(b.requested, asked < 0 ? 0 : b.requested - asked);
            }
          }
          default -> {
            if (mover.entryOf(handle) == null) {
              return handle; // the abort made it direct again
            }
            continue;
          }
        }
      }
      mover.tombstones.drop(key); // the tombstone goes out with the next spill batch or maintenance pass
      return FREED;
    }
  }
}
