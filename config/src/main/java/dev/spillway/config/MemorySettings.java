package dev.spillway.config;

/**
 * Settings of the off-heap allocator ({@code spillway.memory}).
 *
 * @param maxBlockSize largest block an application may allocate, 8 B to 1 GiB
 * @param smallSlabSize bytes of one slab chunk for the small classes (8 B to 32 KiB)
 * @param largeSlabSize bytes of one slab chunk for the large classes (40 KiB to 1 MiB)
 * @param pools per-class pool limits and the grow / shrink rules
 * @param threadCache per-thread magazine bounds
 */
public record MemorySettings(
    long maxBlockSize,
    long smallSlabSize,
    long largeSlabSize,
    PoolSettings pools,
    ThreadCacheSettings threadCache) {

  /** The largest block Spillway supports at all. */
  public static final long MAX_BLOCK_SIZE = 1L << 30;
  /** The smallest block (and size class). */
  public static final long MIN_BLOCK_SIZE = 8;
  /** Slab sizes are multiples of this (the common OS page size). */
  public static final long PAGE = 4096;

  /** The smallest {@link #smallSlabSize}. */
  public static final long MIN_SMALL_SLAB = 64L << 10;
  /** The smallest {@link #largeSlabSize} (the largest pooled class, 1 MiB, needs a slab of its own size). */
  public static final long MIN_LARGE_SLAB = 1L << 20;
  /** Under a budget, a large-class slab takes at most this share of it ({@link #forBudget}). */
  public static final int LARGE_SLABS_PER_BUDGET = 32;
  /** Under a budget, a small-class slab takes at most this share of it: there are 44 small classes. */
  public static final int SMALL_SLABS_PER_BUDGET = 256;

  /**
   * These settings with each large-class slab at most 1/{@value #LARGE_SLABS_PER_BUDGET} and each
   * small-class slab at most 1/{@value #SMALL_SLABS_PER_BUDGET} of {@code budgetBytes} (page
   * multiples, never below their minimum). Every size class holds at least one slab while it has a
   * block, so under a small budget large slabs would leave most of it mapped by a few partly used
   * slabs (four large classes of 4 MiB slabs hold 16 MiB with one block each; 44 small classes of
   * 256 KiB slabs, 11 MiB).
   */
  public MemorySettings forBudget(long budgetBytes) {
    long small = Math.max(PAGE, budgetBytes / SMALL_SLABS_PER_BUDGET / PAGE * PAGE);
    long large = Math.max(PAGE, budgetBytes / LARGE_SLABS_PER_BUDGET / PAGE * PAGE);
    return new MemorySettings(maxBlockSize, Math.max(MIN_SMALL_SLAB, Math.min(smallSlabSize, small)),
        Math.max(MIN_LARGE_SLAB, Math.min(largeSlabSize, large)), pools, threadCache);
  }

  static MemorySettings read(ConfigReader memory) {
    return new MemorySettings(
        memory.bytes("max-block-size", MIN_BLOCK_SIZE, MAX_BLOCK_SIZE),
        memory.alignedBytes("small-slab-size", MIN_SMALL_SLAB, 64L << 20, PAGE),
        memory.alignedBytes("large-slab-size", MIN_LARGE_SLAB, 1L << 30, PAGE),
        PoolSettings.read(memory.child("pools")),
        ThreadCacheSettings.read(memory.child("thread-cache")));
  }
}
