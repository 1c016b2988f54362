package dev.spillway.core.memory;

import dev.spillway.memory.AllocatorClosedException;
import dev.spillway.memory.BlockBoundsException;
import dev.spillway.memory.InvalidHandleException;
import dev.spillway.memory.SizeClasses;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Reads and writes of blocks by handle, with the checks, retries and forwarding every access needs,
 * written once: the typed accessors of the allocator are one line each over {@link #load} and
 * {@link #store} (primitives) and {@link #copyOut} and {@link #copyIn} (bulk).
 *
 * <p><b>The fast path</b> finds the slab by the handle's index and checks the slot's generation
 * ({@link Slab#holds}); an access whose block moved (being spilled, on the tier, forwarded) or whose
 * handle is not live fails that check and takes the slow path, {@link #resolve}, which answers with a
 * handle that names the block's slot directly (restoring the block first when it is on the tier) or
 * throws. The loop then tries again with that handle.
 *
 * <p><b>Reads</b> need no lock: they check the generation again after reading, and a block that moved
 * under the read (its slab may even have gone back to the OS, which surfaces as an
 * {@link IllegalStateException} of the closed mapping) is read again where it is now. <b>Writes</b>
 * announce themselves in the {@link WriteGate} before they check the generation, so a spill that froze
 * the slot waits for them before it copies the bytes out; without a tier nothing moves and there is
 * no gate.
 *
 * <p>Also the queries that find a block direct or moved ({@link #query}), pins, and the open/closed
 * state every entry point checks.
 */
abstract class BlockAccess {
  private static final ValueLayout.OfShort SHORT =
      ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfLong LONG =
      ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  /** A bulk copy to or from a {@code byte[]}. */
  static final int ARRAY = 1;
  /** A bulk copy to or from a {@link MemorySegment}. */
  static final int SEGMENT = 2;
  /** A {@link #copyIn} filling the range with one byte. */
  static final int FILL = 3;

  /** What {@link #query} asks of a block: whether it is live, whether in RAM, its size, its capacity. */
  static final int LIVE = 0;
  static final int RESIDENT = 1;
  static final int SIZE = 2;
  static final int CAPACITY = 3;

  /** A {@link #query} answer meaning "no live block": {@code isLive} says false, the others throw. */
  private static final long NONE = Long.MIN_VALUE;

  final SlabDirectory directory;
  /** Spill and restore; null when the allocator has no tier (nothing moves). */
  final BlockMover mover;
  /** Writes announce themselves here when blocks can move; null without a tier. */
  final WriteGate gate;
  private volatile boolean closed;

  /**
   * The allocator is this class's subclass rather than its client: the typed accessors are the
   * hottest calls of the product, and a second object would cost them a dependent load each.
   */
  BlockAccess(SlabDirectory directory, BlockMover mover, WriteGate gate) {
    this.directory = directory;
    this.mover = mover;
    this.gate = gate;
  }

  // ---- open / closed -----------------------------------------------------------------------------

  boolean isClosed() {
    return closed;
  }

  /** From now on every entry point throws {@link AllocatorClosedException}. */
  void markClosed() {
    closed = true;
  }

  void ensureOpen() {
    if (closed) {
      throw new AllocatorClosedException();
    }
  }

  // ---- loads and stores --------------------------------------------------------------------------

  /**
   * Reads the little-endian primitive of {@code width} bytes (1, 2, 4 or 8) at {@code offset} of the
   * block of {@code handle}; returns its bits. Kept to primitives so that it stays small enough for the
   * JIT to inline into each typed accessor, where {@code width} is a constant and the switch folds.
   */
  long load(long handle, long offset, int width) {
    for (long h = handle; ; h = resolve(handle)) {
      Slab slab = directory.get(Handles.slab(h));
      if (slab != null && slab.holds(h)) {
        long bits;
        try {
          bits = get(slab.memory, address(h, slab, offset, width), width);
        } catch (IllegalStateException slabReleased) {
          continue; // the block moved and its slab went back to the OS under the read: look again
        }
        VarHandle.loadLoadFence();
        if (slab.holds(h)) { // the block did not move while it was read
          return bits;
        }
      }
    }
  }

  private static long get(MemorySegment m, long at, int width) {
    return switch (width) {
      case 1 -> m.get(ValueLayout.JAVA_BYTE, at);
      case 2 -> m.get(SHORT, at);
      case 4 -> m.get(INT, at);
      default -> m.get(LONG, at);
    };
  }

  /** Writes the low {@code width} bytes (1, 2, 4 or 8) of {@code bits}, little-endian, at {@code offset}. */
  void store(long handle, long offset, int width, long bits) {
    for (long h = handle; ; h = resolve(handle)) {
      Slab slab = directory.get(Handles.slab(h));
      if (slab == null) {
        continue;
      }
      if (gate == null) {
        if (slab.holds(h)) {
          set(slab.memory, address(h, slab, offset, width), width, bits);
          return;
        }
        continue;
      }
      WriteGate.Mark mark = gate.mark();
      mark.enter(); // before the generation check: see WriteGate
      try {
        if (slab.holds(h)) {
          set(slab.memory, address(h, slab, offset, width), width, bits);
          return;
        }
      } finally {
        mark.exit();
      }
    }
  }

  private static void set(MemorySegment m, long at, int width, long bits) {
    switch (width) {
      case 1 -> m.set(ValueLayout.JAVA_BYTE, at, (byte) bits);
      case 2 -> m.set(SHORT, at, (short) bits);
      case 4 -> m.set(INT, at, (int) bits);
      default -> m.set(LONG, at, bits);
    }
  }

  /**
   * Copies {@code [offset, offset + length)} of the block of {@code handle} into {@code dst} (a
   * {@code byte[]} for {@link #ARRAY}, a {@link MemorySegment} for {@link #SEGMENT}) at
   * {@code dstOffset}; validated like {@link #load}.
   */
  void copyOut(long handle, long offset, long length, int kind, Object dst, long dstOffset) {
    for (long h = handle; ; h = resolve(handle)) {
      Slab slab = directory.get(Handles.slab(h));
      if (slab != null && slab.holds(h)) {
        long at = address(h, slab, offset, length);
        try {
          if (kind == ARRAY) {
            MemorySegment.copy(slab.memory, ValueLayout.JAVA_BYTE, at, (byte[]) dst, (int) dstOffset, (int) length);
          } else {
            MemorySegment.copy(slab.memory, at, (MemorySegment) dst, dstOffset, length);
          }
        } catch (IllegalStateException e) {
          if (slab.memory.scope().isAlive()) {
            throw e; // not ours: the destination's own arena is closed
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

  /**
   * Writes {@code [offset, offset + length)} of the block of {@code handle}: a copy from {@code src}
   * at {@code srcOffset} ({@link #ARRAY}, {@link #SEGMENT}) or, for {@link #FILL}, {@code fill}
   * bytes; under the write gate like {@link #store}.
   */
  void copyIn(long handle, long offset, long length, int kind, Object src, long srcOffset, byte fill) {
    for (long h = handle; ; h = resolve(handle)) {
      Slab slab = directory.get(Handles.slab(h));
      if (slab == null) {
        continue;
      }
      WriteGate.Mark mark = gate == null ? null : gate.mark();
      if (mark != null) {
        mark.enter(); // before the generation check: see WriteGate
      }
      try {
        if (slab.holds(h)) {
          long at = address(h, slab, offset, length);
          switch (kind) {
            case ARRAY -> MemorySegment.copy((byte[]) src, (int) srcOffset, slab.memory, ValueLayout.JAVA_BYTE, at,
                (int) length);
            case SEGMENT -> MemorySegment.copy((MemorySegment) src, srcOffset, slab.memory, at, length);
            default -> slab.memory.asSlice(at, length).fill(fill);
          }
          return;
        }
      } finally {
        if (mark != null) {
          mark.exit();
        }
      }
    }
  }

  /** Offset of {@code [offset, offset + length)} of a live block within its slab, bounds checked. */
  private static long address(long handle, Slab slab, long offset, long length) {
    int slot = Handles.slot(handle);
    long size = slab.requested != null ? slab.requested[slot] : slab.blockSize - Handles.slack(handle);
    if ((offset | length) < 0 || offset > size - length) {
      throw new BlockBoundsException(handle, offset, length, size);
    }
    return slab.offsetOf(slot) + offset;
  }

  // ---- the slow path -------------------------------------------------------------------------------

  /**
   * The slow path of every access: a handle that names its block's slot directly (the handle itself,
   * or the RAM slot of a block that moved), restoring a spilled block first. Throws for a handle of no
   * live block.
   */
  long resolve(long handle) {
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
      long h = mover.restorer.resolve(handle);
      if (h != Restorer.NOT_MOVED) {
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

  /** The slab of a block that is live and direct, after every check; moved blocks come back first. */
  Slab live(long handle) {
    return directory.get(Handles.slab(resolve(handle)));
  }

  /** The slab a handle names, with the slot in range; generation not yet checked. */
  Slab slabOf(long handle) {
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

  /** The exception for a handle that names no live block (after close: the allocator is closed). */
  RuntimeException invalid(long handle) {
    return HandleErrors.stale(handle, slabOf(handle));
  }

  /**
   * {@link BlockMover#movesVersion} of {@code handle} (0 without a tier). Every slow path that may
   * conclude "no such block" reads it before its first look and again after its last, and looks again
   * when it changed: see {@link MovedTable#version}.
   */
  long movesVersion(long handle) {
    return mover == null ? 0 : mover.movesVersion(handle);
  }

  // ---- queries -------------------------------------------------------------------------------------

  /**
   * Asks {@code q} of the block of {@code handle}, wherever it is: the slab when the handle is direct,
   * the moved-block entry otherwise. The one look-again loop of every query: an entry that a concurrent
   * abort and re-freeze hid from both looks shows as a changed {@link #movesVersion}.
   *
   * @return the answer (booleans as 0 or 1)
   * @throws InvalidHandleException when no live block answers, except for {@link #LIVE}, which
   *     then answers 0
   */
  long query(long handle, int q) {
    if (q == LIVE && closed) {
      return 0;
    }
    Slab slab = directory.get(Handles.slab(handle));
    for (;;) {
      long version = movesVersion(handle);
      if (slab != null && slab.holds(handle)) {
        return switch (q) {
          case LIVE, RESIDENT -> 1;
          case SIZE -> HandleErrors.requestedSize(handle, slab, Handles.slot(handle));
          default -> slab.blockSize;
        };
      }
      long answer = mover == null ? NONE : moved(handle, q);
      if (answer != NONE) {
        return answer;
      }
      if (movesVersion(handle) == version) {
        if (q == LIVE) {
          return 0;
        }
        throw invalid(handle);
      }
    }
  }

  /** {@link #query} of a moved block; {@link #NONE} when the handle has no live entry. */
  private long moved(long handle, int q) {
    return switch (q) {
      case LIVE, RESIDENT -> {
        Boolean resident = mover.isResident(handle);
        yield resident == null ? NONE : (q == LIVE || resident) ? 1 : 0;
      }
      case SIZE -> {
        long size = mover.requestedSize(handle);
        yield size >= 0 ? size : NONE;
      }
      default -> {
        int cls = mover.classIndex(handle);
        if (cls == SizeClasses.HUGE) {
          long size = mover.requestedSize(handle);
          yield size >= 0 ? SizeClasses.hugeCapacity(size) : NONE;
        }
        yield cls >= 0 ? SizeClasses.sizeOf(cls) : NONE;
      }
    };
  }

  // ---- pins and views ------------------------------------------------------------------------------

  /** The block's bytes as a segment (restoring it first); valid while the block stays put. */
  public MemorySegment segment(long handle) {
    long h = resolve(handle);
    Slab slab = directory.get(Handles.slab(h));
    int slot = Handles.slot(h);
    return slab.memory.asSlice(slab.offsetOf(slot), HandleErrors.requestedSize(h, slab, slot));
  }

  public MemorySegment pin(long handle) {
    for (long h = handle; ; h = resolve(handle)) {
      Slab slab = directory.get(Handles.slab(h));
      if (slab != null && slab.holds(h)) {
        int slot = Handles.slot(h);
        // Pin, then check again: a spill freezes, then reads the pins, so one of us sees the other.
        slab.addPin(slot, 1);
        if (slab.holds(h)) {
          return slab.memory.asSlice(slab.offsetOf(slot), HandleErrors.requestedSize(h, slab, slot));
        }
        slab.addPin(slot, -1);
      }
    }
  }

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

  // ---- restore -------------------------------------------------------------------------------------

  /** Brings a spilled block back to RAM now; true when this call read it back (see BlockAllocator). */
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
      long ram = mover.restorer.resolve(handle, restored);
      if (ram != Restorer.NOT_MOVED) {
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

  /** Copies the whole block into {@code dst}, decoding a spilled one without restoring it; returns its size. */
  public long copyOut(long handle, MemorySegment dst) {
    java.util.Objects.requireNonNull(dst, "dst");
    ensureOpen();
    if (mover != null) {
      long n = mover.restorer.readSpilled(handle, dst);
      if (n >= 0) {
        return n;
      }
    }
    // Resident (or it changed state under us): an ordinary read, which restores it in the rare case
    // that it was spilled since the look above.
    long size = query(handle, SIZE);
    if (dst.byteSize() < size) {
      throw new IllegalArgumentException("destination holds " + dst.byteSize() + " bytes but block "
          + Handles.format(handle) + " has " + size + ": allowed a destination of at least the block's size");
    }
    copyOut(handle, 0, size, SEGMENT, dst, 0);
    return size;
  }
}
