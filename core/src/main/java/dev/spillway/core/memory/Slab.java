package dev.spillway.core.memory;

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

  final int id;
  final int classIndex;
  final int blockSize;
  final int slots;
  final Arena arena;
  final MemorySegment memory;
  /** Requested size per slot for large and huge blocks; null for small classes (the handle has it). */
  final int[] requested;
  final int generationMask;

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

  Slab(int id, int classIndex, int blockSize, int slots, Arena arena, MemorySegment memory, int seed) {
    this.id = id;
    this.classIndex = classIndex;
    this.blockSize = blockSize;
    this.slots = slots;
    this.arena = arena;
    this.memory = memory;
    boolean wide = blockSize >= WIDE_GENERATION_FROM;
    this.generationMask = wide ? 0xFFFF : 0xFF;
    int start = (seed & generationMask) | 1;
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

  /** The generation after {@code generation}: the one the slot's next block gets. */
  int nextGeneration(int generation) {
    return (generation + 2) & generationMask;
  }

  /**
   * Frees the block of generation {@code expected} in {@code slot}: advances the slot to the next
   * generation. False when the slot is not at {@code expected} (a stale handle or a double free).
   */
  boolean markFreed(int slot, int expected) {
    int next = nextGeneration(expected);
    if (gen16 != null) {
      return GEN16.compareAndSet(gen16, slot, (short) expected, (short) next);
    }
    return GEN8.compareAndSet(gen8, slot, (byte) expected, (byte) next);
  }

  /** A generation past every one this slab handed out, to seed the slab that reuses its id. */
  int nextSeed() {
    int max = 0;
    for (int s = 0; s < slots; s++) {
      max = Math.max(max, generation(s));
    }
    return max + 2;
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
    return FIXED_OVERHEAD_BYTES + 8L * bits.length + gens + req;
  }
}
