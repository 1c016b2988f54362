package dev.spillway.actors.metrics;

import dev.spillway.memory.PoolStats;
import kamon.metric.Gauge;
import kamon.tag.TagSet;

/** The series of one size class (or of the huge blocks), all tagged {@code pool=<name>}. */
final class PoolInstruments {
  private final Gauge resident;
  private final Gauge reserved;
  private final Gauge capacityBlocks;
  private final Gauge blocksInUse;
  private final CumulativeCounter allocations;
  private final CumulativeCounter frees;

  PoolInstruments(InstrumentSet instruments, String pool) {
    TagSet tags = TagSet.of(MetricTags.POOL, pool);
    resident = instruments.gauge(SpillwayMetric.POOL_RESIDENT, tags);
    reserved = instruments.gauge(SpillwayMetric.POOL_RESERVED, tags);
    capacityBlocks = instruments.gauge(SpillwayMetric.POOL_CAPACITY_BLOCKS, tags);
    blocksInUse = instruments.gauge(SpillwayMetric.POOL_BLOCKS_IN_USE, tags);
    allocations = instruments.counter(SpillwayMetric.POOL_ALLOCATIONS, tags);
    frees = instruments.counter(SpillwayMetric.POOL_FREES, tags);
  }

  void update(PoolStats stats) {
    resident.update((double) stats.residentBytes());
    reserved.update((double) stats.reservedBytes());
    capacityBlocks.update((double) stats.capacityBlocks());
    blocksInUse.update((double) stats.blocksInUse());
    allocations.advanceTo(stats.allocations());
    frees.advanceTo(stats.frees());
  }

  /**
   * The class is absent from the latest stats: the allocator lists only classes that hold memory or
   * ever allocated, so it holds nothing. Counters keep their totals.
   */
  void empty() {
    resident.update(0);
    reserved.update(0);
    capacityBlocks.update(0);
    blocksInUse.update(0);
  }
}
