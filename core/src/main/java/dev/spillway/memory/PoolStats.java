package dev.spillway.memory;

/**
 * A point-in-time view of one size class (or of the huge blocks). Read without stopping allocating
 * threads, so figures of a busy pool may be a few operations apart from each other.
 *
 * @param name the class as configuration names it ({@code 64B}, {@code 4KiB}) or {@code huge}
 * @param blockSize bytes per block (0 for huge: each is sized to its request)
 * @param slabs slab chunks (mappings) the class holds
 * @param capacityBlocks blocks the slabs have room for
 * @param blocksInUse blocks allocated, not yet freed, and resident (spilled blocks hold no slot)
 * @param cachedBlocks free blocks parked in thread caches (part of {@code freeBlocks})
 * @param freeBlocks {@code capacityBlocks - blocksInUse}
 * @param residentBytes bytes mapped for the class
 * @param requestedBytes bytes the live resident blocks were asked for
 * @param reservedBytes bytes the live blocks occupy ({@code blocksInUse * blockSize} for pooled classes)
 * @param metadataBytes heap bytes of bookkeeping: bitmaps, generations, requested sizes, slab objects
 * @param allocations allocations since start
 * @param frees frees since start
 * @param initialBlocks capacity the pool never shrinks below
 * @param maxBlocks capacity the pool never grows beyond
 */
public record PoolStats(
    String name,
    long blockSize,
    int slabs,
    long capacityBlocks,
    long blocksInUse,
    long cachedBlocks,
    long freeBlocks,
    long residentBytes,
    long requestedBytes,
    long reservedBytes,
    long metadataBytes,
    long allocations,
    long frees,
    long initialBlocks,
    long maxBlocks) {

  /** Share of reserved bytes not asked for: {@code 1 - requested / reserved}, 0 when empty. */
  public double internalFragmentation() {
    return reservedBytes == 0 ? 0.0 : 1.0 - (double) requestedBytes / reservedBytes;
  }

  /** Metadata as a share of the bytes mapped for blocks, 0 when empty. */
  public double metadataRatio() {
    return residentBytes == 0 ? 0.0 : (double) metadataBytes / residentBytes;
  }
}
