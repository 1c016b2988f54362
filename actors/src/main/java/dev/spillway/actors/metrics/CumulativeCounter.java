package dev.spillway.actors.metrics;

import kamon.metric.Counter;

/**
 * Publishes a cumulative figure (allocations since start, spills since start, ...) as increments of a
 * Kamon counter, so that the counter never goes down: each {@link #advanceTo} adds what the figure
 * grew since the previous one. A figure below the previous one means its source started again from
 * zero (a new allocator or pipeline), so all of it is new. Not thread-safe: one owner calls it.
 */
final class CumulativeCounter {
  private final Counter counter;
  private long last;

  CumulativeCounter(Counter counter) {
    this.counter = counter;
  }

  /** Adds the growth from the previous figure to {@code cumulative}; returns what was added. */
  long advanceTo(long cumulative) {
    if (cumulative < 0) {
      throw new IllegalArgumentException("cumulative figure = " + cumulative + ": must be at least 0");
    }
    long delta = cumulative >= last ? cumulative - last : cumulative;
    if (delta > 0) {
      counter.increment(delta);
    }
    last = cumulative;
    return delta;
  }
}
