package dev.spillway.core.memory;

/**
 * Bit layout of a 64-bit block handle. A handle names a slot in a slab and the generation the slot
 * had when the block was handed out, so a stale handle (freed, or reused by a later block) is caught
 * by comparing generations instead of corrupting another block.
 *
 * <pre>
 *  63            48 47          35 34                 15 14           0
 * +----------------+--------------+---------------------+--------------+
 * |   generation   |    slack     |     slab index      |  slot index  |
 * |    16 bits     |   13 bits    |       20 bits       |   15 bits    |
 * +----------------+--------------+---------------------+--------------+
 * </pre>
 *
 * <ul>
 *   <li><b>generation</b>: the slot's generation when the block was handed out. Generations are
 *       always odd (so {@code 0} is never a handle) and every free advances the slot's by two, so
 *       every handle of a freed block is stale at once; a free slot already carries the generation
 *       its next block will get, so allocating writes nothing. Slots of classes under 128 B keep 8 bits (the
 *       upper byte of the field is then zero), all others 16 bits: the metadata of a 64 B block stays
 *       under 2%, at the price of detecting a stale handle only until its slot has been reused 128
 *       times (32768 times for 16-bit slots). A handle forged to equal the next handle of a free
 *       slot is not told apart from the real one, as a handle forged to equal a live block's cannot be
 *       in any handle scheme; the generations are there to catch stale handles.
 *   <li><b>slack</b>: for small classes, class size minus requested size, so {@code size(handle)} is
 *       exact without a lookup. Zero for large and huge blocks, whose requested size is kept per slot.
 *   <li><b>slab index</b>: entry in the {@link SlabDirectory}; up to 1,048,576 live slabs.
 *   <li><b>slot index</b>: block within the slab; up to 32,768 blocks per slab.
 * </ul>
 */
public final class Handles {
  static final int SLOT_BITS = 15;
  static final int SLAB_BITS = 20;
  static final int SLACK_BITS = 13;
  static final int GEN_BITS = 16;

  static final int SLAB_SHIFT = SLOT_BITS;
  static final int SLACK_SHIFT = SLAB_SHIFT + SLAB_BITS;
  static final int GEN_SHIFT = SLACK_SHIFT + SLACK_BITS;

  static final int MAX_SLOTS = 1 << SLOT_BITS;
  static final int MAX_SLABS = 1 << SLAB_BITS;
  static final int MAX_SLACK = (1 << SLACK_BITS) - 1;

  /** The slab and slot bits: where a block lives, without generation or slack. */
  static final long LOCATION_MASK = (1L << SLACK_SHIFT) - 1;

  private static final long SLOT_MASK = MAX_SLOTS - 1;
  private static final long SLAB_MASK = MAX_SLABS - 1;
  private static final long SLACK_MASK = MAX_SLACK;

  private Handles() {}

  static long make(int generation, int slack, int slab, int slot) {
    return ((long) generation << GEN_SHIFT) | ((long) slack << SLACK_SHIFT)
        | ((long) slab << SLAB_SHIFT) | slot;
  }

  static int slot(long handle) {
    return (int) (handle & SLOT_MASK);
  }

  static int slab(long handle) {
    return (int) ((handle >>> SLAB_SHIFT) & SLAB_MASK);
  }

  static int slack(long handle) {
    return (int) ((handle >>> SLACK_SHIFT) & SLACK_MASK);
  }

  static int generation(long handle) {
    return (int) (handle >>> GEN_SHIFT);
  }

  /** A handle in the form error messages use. */
  public static String format(long handle) {
    return String.format("0x%016x (slab %d, slot %d, generation %d)",
        handle, slab(handle), slot(handle), generation(handle));
  }
}
