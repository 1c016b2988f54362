package dev.spillway.memory;

import java.util.List;

/**
 * A point-in-time view of the whole allocator: one {@link PoolStats} per size class that has ever
 * held memory, the huge blocks, and totals.
 *
 * @param pools per-class figures, smallest class first
 * @param huge figures of the dedicated blocks over 1 MiB
 * @param threadCaches live per-thread caches
 * @param directoryBytes heap bytes of the slab table
 * @param threadCacheBytes heap bytes of the thread caches' magazines
 * @param spill figures of spilling and restoring (zeros without a tier)
 */
public record AllocatorStats(
    List<PoolStats> pools, PoolStats huge, int threadCaches, long directoryBytes, long threadCacheBytes,
    SpillStats spill) {

  public AllocatorStats {
    pools = List.copyOf(pools);
  }

  public long residentBytes() {
    return huge.residentBytes() + pools.stream().mapToLong(PoolStats::residentBytes).sum();
  }

  public long blocksInUse() {
    return huge.blocksInUse() + pools.stream().mapToLong(PoolStats::blocksInUse).sum();
  }

  public long requestedBytes() {
    return huge.requestedBytes() + pools.stream().mapToLong(PoolStats::requestedBytes).sum();
  }

  public long reservedBytes() {
    return huge.reservedBytes() + pools.stream().mapToLong(PoolStats::reservedBytes).sum();
  }

  public int slabs() {
    return huge.slabs() + pools.stream().mapToInt(PoolStats::slabs).sum();
  }

  /** All bookkeeping on the heap: per-slab metadata, the slab table and the thread caches. */
  public long metadataBytes() {
    return directoryBytes + threadCacheBytes + huge.metadataBytes()
        + pools.stream().mapToLong(PoolStats::metadataBytes).sum();
  }

  /** Share of reserved bytes not asked for, over all live blocks. */
  public double internalFragmentation() {
    long reserved = reservedBytes();
    return reserved == 0 ? 0.0 : 1.0 - (double) requestedBytes() / reserved;
  }

  /** The figures of the class whose name (as configuration writes it) is {@code name}. */
  public PoolStats pool(String name) {
    return pools.stream().filter(p -> p.name().equals(name)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no size class named '" + name + "' holds memory"));
  }
}
