package dev.spillway.core.memory;

import dev.spillway.memory.SizeClasses;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One slab chunk: a single mapping carved into equal blocks, with an occupancy bitmap and a
 * generation per slot. A huge block is a slab of one slot.
 *
 * <p>Ownership: the bitmap, {@code used} and the list links belong to the owning {@link SizePool}
 * and change only under its lock. Generations are always odd. A slot's generation is the one its live
 * block's handle carries, or, while the slot is free, the one its next block will get: allocation
 * writes nothing. {@link #markFreed} advances it by two with a CAS, so of two racing frees exactly
 * one wins, and every handle of the freed block is stale from then on.
 *
 * <p>Metadata per block: one bitmap bit plus one generation byte (classes under 128 B) or two (all
 * others), plus four bytes of requested size for large and huge blocks.
 */
final class Slab {
  /** Estimated fixed heap cost of one slab: this object, its arrays' headers, segment and arena. */
  static final int FIXED_OVERHEAD_BYTES = 192;
  /** Classes with blocks under this size keep 8-bit generations. */
  static final int WIDE_GENERATION_FROM = 128;

  private static final VarHandle GEN8 = MethodHandles.arrayElementVarHandle(byte[].class);
  private static final VarHandle GEN16 = MethodHandles.arrayElementVarHandle(short[].class);
  private static final VarHandle PINS = MethodHandles.arrayElementVarHandle(int[].class);
  private static final VarHandle MOVED;

  static {
    try {
      MOVED = MethodHandles.lookup().findVarHandle(Slab.class, "moved", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  final int id;
  final int classIndex;
  final int blockSize;
  final int slots;
  final Arena arena;
  /** The whole mapping, tied to {@link #arena}: closed (and unmapped) when the slab is released. */
  final MemorySegment memory;
  /** Pin counts per slot, created on the first pin in this slab. */
  private volatile int[] pins;
  /** Moved blocks whose handles name this slab; their generations must not be handed out again. */
  @SuppressWarnings("unused") // through MOVED
  private volatile int moved;
  /** Set when the directory released the slab; its id waits until {@code moved} drops to zero. */
  volatile boolean released;
  /** Requested size per slot for large and huge blocks; null for small classes (the handle has it). */
  final int[] requested;
  final int generationMask;
  /** The generation every slot started at; slots only move on from it (modulo the mask). */
  private final int firstGeneration;

  private final byte[] gen8;
  private final short[] gen16;

  // Owned by the pool, under its lock.
  private final long[] bits;
  private int used;
  private int hint;
  /** Which of the pool's lists holds this slab; see {@link SizePool}. */
  int list = -1;
  Slab prev;
  Slab next;

  /** Blocks under this size get no idle clock: spilling them frees less than a record and an entry cost. */
  static final int IDLE_CLOCK_FROM = 1024;
  /** The bit of a pin word that marks a forwarding target ({@link #forwardTarget}). */
  private static final int FORWARD_TARGET = 1 << 30;
  private static final VarHandle AGES = MethodHandles.arrayElementVarHandle(byte[].class);

  /** Ages the slot's idle clock from {@code from} by one; false when an access or a free changed it meanwhile. */
  boolean age(int slot, int from) {
    return AGES.compareAndSet(ages, slot, (byte) from, (byte) (from + 1));
  }

  /** The idle clock of a free slot. */
  static final byte FREE = -1;
  /** The idle clock of a block restored and not accessed since (see {@link #markRestored}). */
  static final byte RESTORED = -3;
  /** Highest count of the idle clock: a block idle this many sweeps or more stays at it. */
  static final int MAX_AGE = 120;

  /**
   * Per slot, the idle clock (a CLOCK-style access bit widened to a count): an access sets it to 0,
   * each {@link dev.spillway.memory.spi.AllocatorControl#sweepIdle sweep} adds one, a free sets {@link #FREE}. Plain racy byte
   * stores on purpose: a lost update only makes a block look one sweep younger or older. Null for
   * classes under {@link #IDLE_CLOCK_FROM}.
   */
  final byte[] ages;
  /**
   * {@link #memory} as one buffer, made once, for codecs that address it absolutely (its position stays
   * 0 and its limit its capacity; nothing may move them): a spill or restore then needs no view of its
   * own. Null for a slab over 2 GiB.
   */
  final java.nio.ByteBuffer view;

  Slab(int id, int classIndex, int blockSize, int slots, Arena arena, MemorySegment memory, int seed) {
    this.id = id;
    this.classIndex = classIndex;
    this.blockSize = blockSize;
    this.slots = slots;
    this.arena = arena;
    this.memory = memory;
    this.view = memory.byteSize() <= Integer.MAX_VALUE ? memory.asByteBuffer() : null;
    boolean wide = blockSize >= WIDE_GENERATION_FROM;
    this.generationMask = wide ? 0xFFFF : 0xFF;
    int start = (seed & generationMask) | 1;
    this.firstGeneration = start;
    if (wide) {
      gen8 = null;
      gen16 = new short[slots];
      java.util.Arrays.fill(gen16, (short) start);
    } else {
      gen8 = new byte[slots];
      gen16 = null;
      java.util.Arrays.fill(gen8, (byte) start);
    }
    this.requested = SizeClasses.isSmall(classIndex) ? null : new int[slots];
    this.ages = blockSize >= IDLE_CLOCK_FROM ? new byte[slots] : null;
    if (ages != null) {
      java.util.Arrays.fill(ages, FREE);
    }
    this.bits = new long[(slots + 63) >>> 6];
    int tail = slots & 63;
    if (tail != 0) {
      bits[bits.length - 1] = -1L << tail; // slots past the end are never free
    }
  }

  long bytes() {
    return memory.byteSize();
  }

  long offsetOf(int slot) {
    return (long) slot * blockSize;
  }

  // ---- generations ----------------------------------------------------------------------------

  int generation(int slot) {
    return gen16 != null ? gen16[slot] & 0xFFFF : gen8[slot] & 0xFF;
  }

  /** {@link #generation} with acquire semantics (for sweeps that read other slot state after it). */
  int generationAcquire(int slot) {
    return gen16 != null ? (short) GEN16.getAcquire(gen16, slot) & 0xFFFF : (byte) GEN8.getAcquire(gen8, slot) & 0xFF;
  }

  /** The generation after {@code generation}: the one the slot's next block gets. */
  int nextGeneration(int generation) {
    return (generation + 2) & generationMask;
  }

  /**
   * Frees the block of generation {@code expected} in {@code slot}: moves the slot to {@code next}
   * (the generation its next block gets). False when the slot is not at {@code expected} (a stale
   * handle, a double free, or a block being moved).
   */
  boolean markFreed(int slot, int expected, int next) {
    // The clock says FREE before the generation moves on: a sweep that reads the new generation
    // (acquire) then sees FREE, so it never names a free slot by the generation its next block gets.
    // A free that fails leaves a live block marked FREE, which only hides it until its next access.
    markFree(slot);
    return casGeneration(slot, expected, next);
  }

  /** The slot holds no block (freed, or its block moved out): the idle sweep skips it. */
  void markFree(int slot) {
    if (ages != null) {
      ages[slot] = FREE;
    }
  }

  /**
   * The slot's block was just used: its idle clock starts again. Only an aged (or freshly restored)
   * clock is reset, by a CAS, so a free that marked the slot FREE meanwhile is never undone (a FREE
   * slot must never look live to a sweep: it would name the generation the slot's next block gets).
   */
  void touch(int slot) {
    byte[] a = ages;
    if (a != null) {
      byte age = a[slot];
      if (age > 0 || age == RESTORED) { // read first: a block in steady use costs a load, no store
        AGES.compareAndSet(a, slot, age, (byte) 0);
      }
    }
  }

  /** The slot's block was just allocated (the slot is the caller's alone): its idle clock starts. */
  void markAllocated(int slot) {
    if (ages != null) {
      ages[slot] = 0;
    }
  }

  /**
   * The slot is getting its block back from the tier, before the generation that makes the block
   * live again is set: the clock stays out of the sweep's sight until the block's first access.
   */
  void markRestored(int slot) {
    if (ages != null) {
      ages[slot] = RESTORED;
    }
  }

  /** Sets a slot's generation; used to freeze, unfreeze and rewind slots of moving blocks. */
  void setGeneration(int slot, int generation) {
    if (gen16 != null) {
      GEN16.setVolatile(gen16, slot, (short) generation);
    } else {
      GEN8.setVolatile(gen8, slot, (byte) generation);
    }
  }

  /** Moves a slot from {@code expected} to {@code update}; false when it was not at {@code expected}. */
  boolean casGeneration(int slot, int expected, int update) {
    if (gen16 != null) {
      return GEN16.compareAndSet(gen16, slot, (short) expected, (short) update);
    }
    return GEN8.compareAndSet(gen8, slot, (byte) expected, (byte) update);
  }

  /** Whether {@code handle}'s generation is odd and equals its slot's: the block lives here now. */
  boolean holds(long handle) {
    int gen = Handles.generation(handle);
    int slot = Handles.slot(handle);
    if (slot >= slots || (gen & 1) == 0) {
      return false;
    }
    // Acquire: a block restored in place publishes its bytes before its generation.
    int now = gen16 != null ? (short) GEN16.getAcquire(gen16, slot) & 0xFFFF : (byte) GEN8.getAcquire(gen8, slot) & 0xFF;
    if (now != gen) {
      return false;
    }
    touch(slot); // every call that names a live block counts as an access for the idle clock
    return true;
  }

  // ---- pins and moved blocks ------------------------------------------------------------------

  /**
   * Adds {@code delta} to a slot's pin count; returns the new count, negative when it went below
   * zero (the caller then adds it back). The count is the word's low 30 bits as a signed number: an
   * unpin below zero borrows across the forwarding bit (a target's word becomes 2^30 - 1, a plain
   * one all ones), and only sign-extending reads both as -1 and the add back as 0 again; masking the
   * bit off read the target's as 2^30 - 1 pins, so the misuse went unreported and the block stayed
   * pinned for good. Until the add back, the slot's forwarding bit reads wrong.
   */
  int addPin(int slot, int delta) {
    int word = (int) PINS.getAndAdd(pinWords(), slot, delta) + delta;
    return (word << 2) >> 2;
  }

  private int[] pinWords() {
    int[] p = pins;
    if (p == null) {
      synchronized (this) {
        p = pins;
        if (p == null) {
          pins = p = new int[slots];
        }
      }
    }
    return p;
  }

  /** A slot's pin count (a volatile read, ordered after a freeze by the caller's CAS). */
  int pinCount(int slot) {
    int[] p = pins;
    return p == null ? 0 : (int) PINS.getVolatile(p, slot) & ~FORWARD_TARGET;
  }

  /**
   * Marks (or unmarks) the slot as the RAM of a block forwarded here from its own slot: such a slot
   * must never be frozen through its own handle (only through the block's), or the forwarding entry
   * would point at a slot that moved. Kept beside the pin count so that a freeze reads both with the
   * same sequentially consistent load.
   */
  void forwardTarget(int slot, boolean on) {
    if (on) {
      PINS.getAndBitwiseOr(pinWords(), slot, FORWARD_TARGET);
    } else if (pins != null) {
      PINS.getAndBitwiseAnd(pins, slot, ~FORWARD_TARGET);
    }
  }

  /** Whether the slot holds a forwarded block (see {@link #forwardTarget}). */
  boolean isForwardTarget(int slot) {
    int[] p = pins;
    return p != null && ((int) PINS.getVolatile(p, slot) & FORWARD_TARGET) != 0;
  }

  /** Whether any slot of this slab has been pinned since the slab was created. */
  boolean everPinned() {
    return pins != null;
  }

  /** Adds {@code delta} to the count of moved blocks named by this slab; returns the new count. */
  int addMoved(int delta) {
    return (int) MOVED.getAndAdd(this, delta) + delta;
  }

  /** Moved blocks whose handles name this slab (plain read: a hint on the free path). */
  int movedCount() {
    return (int) MOVED.getOpaque(this);
  }

  /**
   * A generation past every one this slab handed out, to seed the slab that reuses its id. Slots
   * move on from {@link #firstGeneration} and wrap at the mask, so "past" is measured from there:
   * the largest plain value is not it once some slot wrapped (the successor of an 8-bit slab seeded
   * at 201 whose slot 0 went on to 5 and slot 1 to 221 must start at 7, not at 223, which slot 0
   * handed out a few blocks ago). Unmasked (263 there): a successor with wider generations starts
   * above every one of this slab. A slot reused more often than its generations go round is past
   * help, as the handle format documents.
   */
  int nextSeed() {
    int span = 0;
    for (int s = 0; s < slots; s++) {
      span = Math.max(span, (generation(s) - firstGeneration) & generationMask);
    }
    return firstGeneration + span + 2;
  }

  // ---- occupancy (pool lock) ------------------------------------------------------------------

  int used() {
    return used;
  }

  /** Takes a free slot, or returns -1 when the slab is full. */
  int take() {
    int words = bits.length;
    for (int i = 0; i < words; i++) {
      int w = hint + i;
      if (w >= words) {
        w -= words;
      }
      long word = bits[w];
      if (word != -1L) {
        int bit = Long.numberOfTrailingZeros(~word);
        bits[w] = word | (1L << bit);
        used++;
        hint = w;
        return (w << 6) | bit;
      }
    }
    return -1;
  }

  /** Takes {@code slot} if it is free; false when it is taken. */
  boolean take(int slot) {
    long mask = 1L << (slot & 63);
    int w = slot >>> 6;
    if ((bits[w] & mask) != 0) {
      return false;
    }
    bits[w] |= mask;
    used++;
    return true;
  }

  /** Returns a slot taken by {@link #take}. */
  void release(int slot) {
    long mask = 1L << (slot & 63);
    int w = slot >>> 6;
    if ((bits[w] & mask) == 0) {
      throw new IllegalStateException("slot " + slot + " of slab " + id + " released twice");
    }
    bits[w] &= ~mask;
    used--;
    if (w < hint) {
      hint = w;
    }
  }

  /** Heap bytes of this slab's bookkeeping. */
  long metadataBytes() {
    long gens = gen16 != null ? 2L * slots : slots;
    long req = requested != null ? 4L * slots : 0;
    long pinned = pins != null ? 4L * slots : 0;
    long clock = ages != null ? slots : 0;
    return FIXED_OVERHEAD_BYTES + 8L * bits.length + gens + req + pinned + clock;
  }
}
