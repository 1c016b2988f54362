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

  static MemorySettings read(ConfigReader memory) {
    return new MemorySettings(
        memory.bytes("max-block-size", MIN_BLOCK_SIZE, MAX_BLOCK_SIZE),
        memory.alignedBytes("small-slab-size", 64L << 10, 64L << 20, PAGE),
        memory.alignedBytes("large-slab-size", 1L << 20, 1L << 30, PAGE),
        PoolSettings.read(memory.child("pools")),
        ThreadCacheSettings.read(memory.child("thread-cache")));
  }
}
