package dev.spillway.actors.metrics;

import dev.spillway.config.MetricsSettings;
import dev.spillway.map.MapStats;
import dev.spillway.memory.AllocatorStats;
import dev.spillway.memory.PoolStats;
import dev.spillway.streams.spill.PipelineStats;
import java.net.InetSocketAddress;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import kamon.metric.Gauge;
import kamon.tag.TagSet;

/**
 * Spillway's figures as Kamon instruments (every series is listed in {@link SpillwayMetric}), and,
 * when the settings ask for it, a Prometheus scrape endpoint on {@code 127.0.0.1} only.
 *
 * <p>The control plane calls {@link #update} with fresh {@code AllocatorStats} and
 * {@code PipelineStats} at a cadence of its choosing: gauges take the new values, and each counter
 * grows by what its cumulative figure grew since the previous update, so counters never go down, even
 * when a new allocator or pipeline starts counting from zero. {@link #updateMaps} does the same for
 * the keyed maps' {@code MapStats}, one set of series per map. The access path calls
 * {@link #recordAccess} and {@link #recordRestoreNanos}, which take no lock and allocate nothing; the
 * pressure monitor calls {@link #setPressureLevel}.
 *
 * <p>Kamon is process-wide: the first instance starts it without the Kanela agent and every instance
 * sets its tick. Two live instances would write the same series, so run one per allocator and process.
 * {@link #close} removes every series this instance created (Kamon drops a removed instrument at its
 * next tick, once its last values are reported) and stops the endpoint, releasing its port; after it,
 * {@code update} fails and the recording methods do nothing (an access racing shutdown must not fail).
 */
public final class SpillwayMetrics implements AutoCloseable {
  private final InstrumentSet instruments = new InstrumentSet();
  private final Map<String, PoolInstruments> pools = new LinkedHashMap<>();
  private final Map<String, MapInstruments> maps = new LinkedHashMap<>();
  private final TierInstruments tiers;
  private final AccessInstruments accesses;
  private final PrometheusEndpoint endpoint;
  private Gauge pressure;
  private volatile boolean closed;

  private SpillwayMetrics(MetricsSettings settings) {
    KamonRuntime.start(settings.tick());
    // The endpoint first: a port that cannot be bound then fails before any series exists.
    endpoint = settings.prometheus().enabled() ? PrometheusEndpoint.start(settings.prometheus()) : null;
    boolean started = false;
    try {
      tiers = new TierInstruments(instruments);
      accesses = new AccessInstruments(instruments);
      started = true;
    } finally {
      if (!started) {
        instruments.removeAll();
        if (endpoint != null) {
          endpoint.close();
        }
      }
    }
  }

  /**
   * Registers the instruments and, if {@code settings.prometheus().enabled()}, starts the endpoint.
   *
   * @throws java.io.UncheckedIOException if the endpoint's port cannot be bound (no series is created)
   */
  public static SpillwayMetrics start(MetricsSettings settings) {
    return new SpillwayMetrics(Objects.requireNonNull(settings, "settings"));
  }

  /**
   * Refreshes every gauge and adds the counters' growth since the previous update.
   *
   * @param allocator {@code BlockAllocator.stats()}
   * @param pipeline {@code SpillPipeline.stats()}, or null without a spill pipeline (nothing queued)
   * @throws IllegalStateException after {@link #close}
   */
  public synchronized void update(AllocatorStats allocator, PipelineStats pipeline) {
    Objects.requireNonNull(allocator, "allocator");
    if (closed) {
      throw new IllegalStateException("SpillwayMetrics is closed: no series is left to update");
    }
    Set<String> seen = new HashSet<>();
    for (PoolStats pool : allocator.pools()) {
      pool(pool.name()).update(pool);
      seen.add(pool.name());
    }
    pool(allocator.huge().name()).update(allocator.huge());
    seen.add(allocator.huge().name());
    pools.forEach((name, pool) -> {
      if (!seen.contains(name)) {
        pool.empty();
      }
    });
    tiers.update(allocator, pipeline);
    accesses.publish();
  }

  /**
   * Refreshes the series of the keyed maps ({@code spillway_map_*{map=<name>}}) from their
   * statistics: gauges take the new values, counters grow by what the figures grew since the previous
   * update (a map opened again under a name counts from zero: its figures add on), and the hit ratio
   * is that of the reads in between. A map of an earlier update that {@code stats} leaves out (it was
   * closed) loses its series.
   *
   * @param stats {@code SpillMap.stats()} of every open map, at most one per name
   * @throws IllegalStateException after {@link #close}
   */
  public synchronized void updateMaps(Collection<MapStats> stats) {
    Objects.requireNonNull(stats, "stats");
    if (closed) {
      throw new IllegalStateException("SpillwayMetrics is closed: no series is left to update");
    }
    Set<String> seen = new HashSet<>();
    for (MapStats map : stats) {
      if (!seen.add(map.name())) {
        throw new IllegalArgumentException("map '" + map.name() + "' is listed twice");
      }
    }
    maps.entrySet().removeIf(e -> {
      if (seen.contains(e.getKey())) {
        return false;
      }
      e.getValue().remove();
      return true;
    });
    for (MapStats map : stats) {
      maps.computeIfAbsent(map.name(), MapInstruments::new).update(map);
    }
  }

  /**
   * Reports one block access: {@code restored} when the block had to be restored from the tier
   * first. Feeds {@code spillway_accesses_total{served=ram|restore}} and the RAM hit ratio, both
   * published at the next {@link #update}. The ratio is the share of the accesses reported between
   * two consecutive updates that were served without a restore; an interval without accesses leaves
   * it unchanged, and it is not reported before the first access.
   */
  public void recordAccess(boolean restored) {
    if (!closed) {
      accesses.record(restored);
    }
  }

  /**
   * {@link #recordAccess} in bulk: {@code fromRam} accesses served from RAM and {@code restored} that
   * had to restore their block first (the facade counts its accesses this way, once a tick).
   */
  public void recordAccesses(long fromRam, long restored) {
    if (fromRam < 0 || restored < 0) {
      throw new IllegalArgumentException("accesses from RAM = " + fromRam + ", restored = " + restored
          + ": both must be at least 0");
    }
    if (!closed) {
      accesses.add(fromRam, restored);
    }
  }

  /** Records how long one restore took, in nanoseconds. */
  public void recordRestoreNanos(long nanos) {
    if (nanos < 0) {
      throw new IllegalArgumentException("restore time = " + nanos + " ns: must be at least 0");
    }
    if (!closed) {
      accesses.recordRestoreNanos(nanos);
    }
  }

  /**
   * Sets the pressure level gauge: 0 for none, higher for worse (a pressure enum's {@code ordinal()}).
   * The series exists from the first call on, so no level is reported before one was measured.
   */
  public synchronized void setPressureLevel(int level) {
    if (level < 0) {
      throw new IllegalArgumentException("pressure level = " + level + ": must be at least 0");
    }
    if (closed) {
      return;
    }
    if (pressure == null) {
      pressure = instruments.gauge(SpillwayMetric.PRESSURE_LEVEL, TagSet.Empty());
    }
    pressure.update(level);
  }

  /** Where the Prometheus endpoint listens (always a 127.0.0.1 address), or empty when it is off or closed. */
  public Optional<InetSocketAddress> endpointAddress() {
    return endpoint == null || closed ? Optional.empty() : Optional.of(endpoint.address());
  }

  /** Removes this instance's series from Kamon and stops the endpoint, releasing its port; idempotent. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      if (endpoint != null) {
        endpoint.close();
      }
    } finally {
      maps.values().forEach(MapInstruments::remove);
      maps.clear();
      instruments.removeAll();
    }
  }

  /** The endpoint's current scrape text, for tests in this package; null when the endpoint is off. */
  String scrapeData() {
    return endpoint == null ? null : endpoint.scrapeData();
  }

  private PoolInstruments pool(String name) {
    return pools.computeIfAbsent(name, n -> new PoolInstruments(instruments, n));
  }
}
