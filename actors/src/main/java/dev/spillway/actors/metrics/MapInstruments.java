package dev.spillway.actors.metrics;

import dev.spillway.map.MapStats;
import kamon.metric.Gauge;
import kamon.tag.TagSet;

/**
 * The series of one keyed map, all tagged {@code map=<name>}, in an {@link InstrumentSet} of their own
 * so that a closed map's series can go while the others stay.
 *
 * <p>The <b>hit ratio</b> is {@code hits / (hits + misses)} over the reads between two consecutive
 * {@link #update} calls, as {@code spillway_ram_hit_ratio} is over accesses: an interval without reads
 * leaves it as it was, and it does not exist before the first read.
 */
final class MapInstruments {
  private final InstrumentSet instruments = new InstrumentSet();
  private final TagSet tags;
  private final Gauge entries;
  private final Gauge l1Entries;
  private final Gauge indexBytes;
  private final CumulativeCounter l1Hits;
  private final CumulativeCounter l2Hits;
  private final CumulativeCounter l3Hits;
  private final CumulativeCounter misses;
  private final CumulativeCounter puts;
  private final CumulativeCounter removals;
  private final CumulativeCounter expirations;
  private final CumulativeCounter evictions;
  private final CumulativeCounter promotions;
  private final CumulativeCounter demotions;
  private final CumulativeCounter loads;
  private final CumulativeCounter loadNanos;
  private long lastHits;
  private long lastMisses;
  private Gauge hitRatio;

  MapInstruments(String map) {
    tags = TagSet.of(MetricTags.MAP, map);
    boolean made = false;
    try {
      entries = instruments.gauge(SpillwayMetric.MAP_ENTRIES, tags);
      l1Entries = instruments.gauge(SpillwayMetric.MAP_L1_ENTRIES, tags);
      indexBytes = instruments.gauge(SpillwayMetric.MAP_INDEX, tags);
      l1Hits = instruments.counter(SpillwayMetric.MAP_HITS, tags.withTag(MetricTags.LEVEL, MetricTags.L1));
      l2Hits = instruments.counter(SpillwayMetric.MAP_HITS, tags.withTag(MetricTags.LEVEL, MetricTags.L2));
      l3Hits = instruments.counter(SpillwayMetric.MAP_HITS, tags.withTag(MetricTags.LEVEL, MetricTags.L3));
      misses = instruments.counter(SpillwayMetric.MAP_MISSES, tags);
      puts = instruments.counter(SpillwayMetric.MAP_PUTS, tags);
      removals = instruments.counter(SpillwayMetric.MAP_REMOVALS, tags.withTag(MetricTags.CAUSE, MetricTags.EXPLICIT));
      expirations = instruments.counter(SpillwayMetric.MAP_REMOVALS, tags.withTag(MetricTags.CAUSE, MetricTags.EXPIRED));
      evictions = instruments.counter(SpillwayMetric.MAP_REMOVALS, tags.withTag(MetricTags.CAUSE, MetricTags.EVICTED));
      promotions = instruments.counter(SpillwayMetric.MAP_PROMOTIONS, tags);
      demotions = instruments.counter(SpillwayMetric.MAP_DEMOTIONS, tags);
      loads = instruments.counter(SpillwayMetric.MAP_LOADS, tags);
      loadNanos = instruments.counter(SpillwayMetric.MAP_LOAD_TIME, tags);
      made = true;
    } finally {
      if (!made) {
        instruments.removeAll();
      }
    }
  }

  /** Takes the map's figures now; called by one owner at a time. */
  void update(MapStats stats) {
    entries.update((double) stats.entries());
    l1Entries.update((double) stats.l1Entries());
    indexBytes.update((double) stats.offHeapIndexBytes());
    l1Hits.advanceTo(stats.l1Hits());
    l2Hits.advanceTo(stats.l2Hits());
    l3Hits.advanceTo(stats.l3Hits());
    misses.advanceTo(stats.misses());
    puts.advanceTo(stats.puts());
    removals.advanceTo(stats.removals());
    expirations.advanceTo(stats.expirations());
    evictions.advanceTo(stats.evictions());
    promotions.advanceTo(stats.promotions());
    demotions.advanceTo(stats.demotions());
    loads.advanceTo(stats.loads());
    loadNanos.advanceTo(stats.loadNanos());
    // Figures below the previous ones come from a map opened again under the name: all of them are new.
    long hits = stats.hits();
    long hitDelta = hits >= lastHits ? hits - lastHits : hits;
    long missDelta = stats.misses() >= lastMisses ? stats.misses() - lastMisses : stats.misses();
    lastHits = hits;
    lastMisses = stats.misses();
    if (hitDelta + missDelta > 0) {
      if (hitRatio == null) {
        hitRatio = instruments.gauge(SpillwayMetric.MAP_HIT_RATIO, tags);
      }
      hitRatio.update((double) hitDelta / (hitDelta + missDelta));
    }
  }

  /** Takes every series of this map out of Kamon's registry. */
  void remove() {
    instruments.removeAll();
  }
}
