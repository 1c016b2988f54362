package dev.spillway.actors.metrics;

import java.util.concurrent.atomic.LongAdder;
import kamon.metric.Gauge;
import kamon.metric.Histogram;
import kamon.tag.TagSet;

/**
 * Accesses as the caller reports them, the RAM hit ratio derived from them, and the restore latency.
 *
 * <p>The <b>RAM hit ratio</b> is {@code served from RAM / all accesses}, over the accesses reported
 * between two consecutive {@link #publish} calls (one per {@link SpillwayMetrics#update}): a windowed
 * figure, so it follows a change in the working set instead of converging on the lifetime average.
 * An interval without accesses leaves the gauge as it was, and the gauge does not exist before the
 * first access, so no made-up ratio is ever reported. Both counts also go out as the counter
 * {@code spillway_accesses_total{served=ram|restore}}, from which Prometheus computes the same ratio
 * over any window.
 *
 * <p>{@link #record} runs on the caller's access path: one {@code LongAdder} increment, no lock, no
 * allocation. The counters reach Kamon at the next publish.
 */
final class AccessInstruments {
  private final InstrumentSet instruments;
  private final LongAdder fromRam = new LongAdder();
  private final LongAdder restored = new LongAdder();
  private final CumulativeCounter ramAccesses;
  private final CumulativeCounter restoreAccesses;
  private final Histogram restoreLatency;
  private long lastFromRam;
  private long lastRestored;
  private Gauge hitRatio;

  AccessInstruments(InstrumentSet instruments) {
    this.instruments = instruments;
    ramAccesses = instruments.counter(SpillwayMetric.ACCESSES, TagSet.of(MetricTags.SERVED, MetricTags.RAM));
    restoreAccesses = instruments.counter(SpillwayMetric.ACCESSES, TagSet.of(MetricTags.SERVED, MetricTags.RESTORE));
    restoreLatency = instruments.histogram(SpillwayMetric.TIER_RESTORE_LATENCY,
        TagSet.of(MetricTags.TIER, MetricTags.NVME));
  }

  void record(boolean wasRestored) {
    (wasRestored ? restored : fromRam).increment();
  }

  void add(long ram, long restores) {
    fromRam.add(ram);
    restored.add(restores);
  }

  void recordRestoreNanos(long nanos) {
    restoreLatency.record(nanos);
  }

  /** Publishes the counts reported since the previous call; called by one owner at a time. */
  void publish() {
    // Sums of the adders rather than sumThenReset: a reset can drop an increment that races it.
    long ram = fromRam.sum();
    long restores = restored.sum();
    long ramDelta = ram - lastFromRam;
    long restoreDelta = restores - lastRestored;
    lastFromRam = ram;
    lastRestored = restores;
    ramAccesses.advanceTo(ram);
    restoreAccesses.advanceTo(restores);
    if (ramDelta + restoreDelta > 0) {
      if (hitRatio == null) {
        hitRatio = instruments.gauge(SpillwayMetric.RAM_HIT_RATIO, TagSet.Empty());
      }
      hitRatio.update((double) ramDelta / (ramDelta + restoreDelta));
    }
  }
}
