/**
 * Spillway's metrics as Kamon instruments, and an optional Prometheus scrape endpoint bound to
 * 127.0.0.1. {@link dev.spillway.actors.metrics.SpillwayMetrics} is the entry point;
 * {@link dev.spillway.actors.metrics.SpillwayMetric} lists every series with its names and source,
 * {@link dev.spillway.actors.metrics.MetricTags} its tags. Kamon stays in this package: core and
 * streams expose plain stats records ({@code AllocatorStats}, {@code PipelineStats}) and know nothing
 * of it.
 */
package dev.spillway.actors.metrics;
