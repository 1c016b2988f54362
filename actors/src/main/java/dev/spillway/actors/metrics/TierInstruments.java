package dev.spillway.actors.metrics;

import dev.spillway.memory.AllocatorStats;
import dev.spillway.memory.SpillStats;
import dev.spillway.memory.TierStats;
import dev.spillway.streams.spill.PipelineStats;
import kamon.metric.Gauge;
import kamon.tag.TagSet;

/**
 * The series of the two tiers, {@code tier=ram} (the allocator's off-heap memory) and
 * {@code tier=nvme} (the spill log), and of the spill pipeline that feeds the latter. An allocator
 * without a tier reports zeros for {@code nvme}; no pipeline means nothing is queued.
 */
final class TierInstruments {
  private final Gauge ramUsed;
  private final Gauge ramBlocks;
  private final Gauge nvmeUsed;
  private final Gauge nvmeBlocks;
  private final Gauge nvmeLive;
  private final CumulativeCounter spills;
  private final CumulativeCounter restores;
  private final CumulativeCounter spilledBytes;
  private final CumulativeCounter writtenBytes;
  private final CumulativeCounter failedSpills;
  private final CumulativeCounter failedRestores;
  private final CumulativeCounter busySpills;
  private final Gauge queueDepth;
  private final CumulativeCounter queueFull;

  TierInstruments(InstrumentSet instruments) {
    TagSet ram = TagSet.of(MetricTags.TIER, MetricTags.RAM);
    TagSet nvme = TagSet.of(MetricTags.TIER, MetricTags.NVME);
    ramUsed = instruments.gauge(SpillwayMetric.TIER_USED, ram);
    ramBlocks = instruments.gauge(SpillwayMetric.TIER_BLOCKS, ram);
    nvmeUsed = instruments.gauge(SpillwayMetric.TIER_USED, nvme);
    nvmeBlocks = instruments.gauge(SpillwayMetric.TIER_BLOCKS, nvme);
    nvmeLive = instruments.gauge(SpillwayMetric.TIER_LIVE, nvme);
    spills = instruments.counter(SpillwayMetric.TIER_SPILLS, nvme);
    restores = instruments.counter(SpillwayMetric.TIER_RESTORES, nvme);
    spilledBytes = instruments.counter(SpillwayMetric.TIER_SPILLED_BYTES, nvme);
    writtenBytes = instruments.counter(SpillwayMetric.TIER_WRITTEN_BYTES, nvme);
    failedSpills = instruments.counter(SpillwayMetric.TIER_FAILED_SPILLS, nvme);
    failedRestores = instruments.counter(SpillwayMetric.TIER_FAILED_RESTORES, nvme);
    busySpills = instruments.counter(SpillwayMetric.TIER_BUSY_SPILLS, nvme);
    queueDepth = instruments.gauge(SpillwayMetric.SPILL_QUEUE_DEPTH, nvme);
    queueFull = instruments.counter(SpillwayMetric.SPILL_QUEUE_FULL, nvme);
  }

  void update(AllocatorStats allocator, PipelineStats pipeline) {
    ramUsed.update((double) allocator.residentBytes());
    ramBlocks.update((double) allocator.blocksInUse());

    SpillStats spill = allocator.spill();
    TierStats log = spill.tier();
    nvmeUsed.update(log == null ? 0 : (double) log.bytesOnDisk());
    nvmeLive.update(log == null ? 0 : (double) log.liveBytes());
    nvmeBlocks.update((double) spill.spilledBlocks());
    spills.advanceTo(spill.spills());
    restores.advanceTo(spill.restores());
    spilledBytes.advanceTo(spill.rawBytesWritten());
    writtenBytes.advanceTo(spill.storedBytesWritten());
    failedSpills.advanceTo(spill.failedSpills());
    failedRestores.advanceTo(spill.failedRestores());
    busySpills.advanceTo(spill.busySpills());

    queueDepth.update(pipeline == null ? 0 : pipeline.inFlight());
    // Without a pipeline the counter keeps its total; a later pipeline counts from zero again, which
    // advanceTo reads as a restart.
    if (pipeline != null) {
      queueFull.advanceTo(pipeline.rejectedFull());
    }
  }
}
