package dev.spillway.actors.metrics;

import java.util.ArrayList;
import java.util.List;
import kamon.Kamon;
import kamon.metric.Gauge;
import kamon.metric.Histogram;
import kamon.metric.Instrument;
import kamon.tag.TagSet;

/**
 * Creates Spillway's Kamon instruments and remembers each one, so that {@link #removeAll} takes every
 * series it created out of Kamon's registry: a closed {@link SpillwayMetrics} leaves nothing behind. Every metric is always registered with the same description and unit (from
 * {@link SpillwayMetric}), as Kamon expects of one name.
 */
final class InstrumentSet {
  private final List<Instrument<?, ?>> created = new ArrayList<>();

  synchronized Gauge gauge(SpillwayMetric metric, TagSet tags) {
    check(metric, SpillwayMetric.Kind.GAUGE);
    return remember(Kamon.gauge(metric.kamonName(), metric.description(), metric.unit()).withTags(tags));
  }

  synchronized CumulativeCounter counter(SpillwayMetric metric, TagSet tags) {
    check(metric, SpillwayMetric.Kind.COUNTER);
    return new CumulativeCounter(
        remember(Kamon.counter(metric.kamonName(), metric.description(), metric.unit()).withTags(tags)));
  }

  synchronized Histogram histogram(SpillwayMetric metric, TagSet tags) {
    check(metric, SpillwayMetric.Kind.HISTOGRAM);
    return remember(Kamon.histogram(metric.kamonName(), metric.description(), metric.unit()).withTags(tags));
  }

  /**
   * Removes every instrument created here from Kamon's registry. Kamon drops a removed instrument at
   * its next tick, after reporting its last values once; looking the same name and tags up before
   * then revives it.
   */
  synchronized void removeAll() {
    created.forEach(Instrument::remove);
    created.clear();
  }

  private <I extends Instrument<?, ?>> I remember(I instrument) {
    created.add(instrument);
    return instrument;
  }

  private static void check(SpillwayMetric metric, SpillwayMetric.Kind kind) {
    if (metric.kind() != kind) {
      throw new IllegalArgumentException(metric + " is a " + metric.kind() + ", not a " + kind);
    }
  }
}
