package dev.spillway.actors.metrics;

import static dev.spillway.actors.metrics.MetricsTestSupport.awaitSample;
import static dev.spillway.actors.metrics.MetricsTestSupport.endpointOff;
import static dev.spillway.actors.metrics.MetricsTestSupport.endpointOnAnyPort;
import static dev.spillway.actors.metrics.MetricsTestSupport.gauge;
import static dev.spillway.actors.metrics.MetricsTestSupport.huge;
import static dev.spillway.actors.metrics.MetricsTestSupport.instrumentTags;
import static dev.spillway.actors.metrics.MetricsTestSupport.mapStats;
import static dev.spillway.actors.metrics.MetricsTestSupport.noSpills;
import static dev.spillway.actors.metrics.MetricsTestSupport.pipeline;
import static dev.spillway.actors.metrics.MetricsTestSupport.pool;
import static dev.spillway.actors.metrics.MetricsTestSupport.sample;
import static dev.spillway.actors.metrics.MetricsTestSupport.spill;
import static dev.spillway.actors.metrics.MetricsTestSupport.stats;
import static dev.spillway.actors.metrics.MetricsTestSupport.tier;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spillway.config.SpillwaySettings;
import dev.spillway.memory.AllocatorStats;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.SpillOutcome;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import kamon.tag.TagSet;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Values and tags after {@code update}, monotonic counters, accesses, latency, pressure, close. */
class SpillwayMetricsTest {

  private static final TagSet RAM = TagSet.of(MetricTags.TIER, MetricTags.RAM);
  private static final TagSet NVME = TagSet.of(MetricTags.TIER, MetricTags.NVME);

  @BeforeEach
  void noSeriesLeftByAnotherTest() {
    MetricsTestSupport.awaitNoSpillwaySeries();
  }

  private static TagSet poolTag(String name) {
    return TagSet.of(MetricTags.POOL, name);
  }

  @Test
  void gaugesCarryEveryPoolAndTierUnderTheirTags() {
    AllocatorStats s = stats(
        List.of(pool("64B", 64, 100, 10, 12, 2), pool("4KiB", 4096, 64, 3, 3, 0)),
        huge(2, 3L << 20, 2, 0),
        spill(0, 0, 0, 0, 0, 0, 0, 4, tier(1L << 20, 600L << 10)));
    try (SpillwayMetrics metrics = SpillwayMetrics.start(endpointOff())) {
      metrics.update(s, pipeline(7, 0));

      assertThat(instrumentTags(SpillwayMetric.POOL_RESIDENT)).containsExactlyInAnyOrder(
          Map.of("pool", "64B"), Map.of("pool", "4KiB"), Map.of("pool", "huge"));
      assertThat(instrumentTags(SpillwayMetric.TIER_USED)).containsExactlyInAnyOrder(
          Map.of("tier", "ram"), Map.of("tier", "nvme"));
      assertThat(instrumentTags(SpillwayMetric.TIER_LIVE)).containsExactly(Map.of("tier", "nvme"));
      assertThat(instrumentTags(SpillwayMetric.SPILL_QUEUE_DEPTH)).containsExactly(Map.of("tier", "nvme"));

      assertThat(gauge(SpillwayMetric.POOL_RESIDENT, poolTag("64B"))).isEqualTo(6400);
      assertThat(gauge(SpillwayMetric.POOL_RESIDENT, poolTag("4KiB"))).isEqualTo(64 * 4096);
      assertThat(gauge(SpillwayMetric.POOL_RESIDENT, poolTag("huge"))).isEqualTo(3 << 20);
      assertThat(gauge(SpillwayMetric.POOL_RESERVED, poolTag("64B"))).isEqualTo(640);
      assertThat(gauge(SpillwayMetric.POOL_RESERVED, poolTag("4KiB"))).isEqualTo(3 * 4096);
      assertThat(gauge(SpillwayMetric.POOL_CAPACITY_BLOCKS, poolTag("64B"))).isEqualTo(100);
      assertThat(gauge(SpillwayMetric.POOL_CAPACITY_BLOCKS, poolTag("4KiB"))).isEqualTo(64);
      assertThat(gauge(SpillwayMetric.POOL_BLOCKS_IN_USE, poolTag("64B"))).isEqualTo(10);
      assertThat(gauge(SpillwayMetric.POOL_BLOCKS_IN_USE, poolTag("4KiB"))).isEqualTo(3);
      assertThat(gauge(SpillwayMetric.POOL_BLOCKS_IN_USE, poolTag("huge"))).isEqualTo(2);

      assertThat(gauge(SpillwayMetric.TIER_USED, RAM)).isEqualTo((double) s.residentBytes());
      assertThat(gauge(SpillwayMetric.TIER_BLOCKS, RAM)).isEqualTo(10 + 3 + 2);
      assertThat(gauge(SpillwayMetric.TIER_USED, NVME)).isEqualTo(1 << 20);
      assertThat(gauge(SpillwayMetric.TIER_LIVE, NVME)).isEqualTo(600 << 10);
      assertThat(gauge(SpillwayMetric.TIER_BLOCKS, NVME)).isEqualTo(4);
      assertThat(gauge(SpillwayMetric.SPILL_QUEUE_DEPTH, NVME)).isEqualTo(7);
    }
  }

  @Test
  void countersGrowByWhatTheCumulativeFiguresGrewAndNeverGoDown() {
    try (SpillwayMetrics metrics = SpillwayMetrics.start(endpointOnAnyPort())) {
      metrics.update(stats(List.of(pool("64B", 64, 100, 6, 10, 4)), huge(0, 0, 0, 0),
          spill(5, 2, 0, 0, 0, 0, 0, 3, tier(4096, 4096))), pipeline(0, 1));
      awaitSample(metrics, "spillway_pool_allocations_total{pool=\"64B\"}", 10);
      awaitSample(metrics, "spillway_tier_spills_total{tier=\"nvme\"}", 5);

      metrics.update(stats(List.of(pool("64B", 64, 100, 9, 25, 16)), huge(0, 0, 0, 0),
          spill(8, 2, 0, 0, 0, 0, 0, 6, tier(4096, 4096))), pipeline(0, 1));
      awaitSample(metrics, "spillway_pool_allocations_total{pool=\"64B\"}", 25);
      awaitSample(metrics, "spillway_pool_frees_total{pool=\"64B\"}", 16);
      awaitSample(metrics, "spillway_tier_spills_total{tier=\"nvme\"}", 8);

      // A new allocator (and pipeline) counts from zero again: its figures add on, never subtract.
      metrics.update(stats(List.of(pool("64B", 64, 100, 3, 3, 0)), huge(0, 0, 0, 0),
          spill(1, 0, 0, 0, 0, 0, 0, 1, tier(4096, 4096))), pipeline(0, 0));
      awaitSample(metrics, "spillway_pool_allocations_total{pool=\"64B\"}", 28);
      awaitSample(metrics, "spillway_pool_frees_total{pool=\"64B\"}", 16);
      awaitSample(metrics, "spillway_tier_spills_total{tier=\"nvme\"}", 9);
      awaitSample(metrics, "spillway_tier_restores_total{tier=\"nvme\"}", 2);
      awaitSample(metrics, "spillway_spill_queue_full_total{tier=\"nvme\"}", 1);
    }
  }

  @Test
  void everyTierCounterFollowsItsOwnFigure() {
    try (SpillwayMetrics metrics = SpillwayMetrics.start(endpointOnAnyPort())) {
      metrics.update(stats(List.of(), huge(0, 0, 0, 0),
          spill(11, 12, 13_000, 14_000, 15, 16, 17, 0, tier(0, 0))), pipeline(3, 18));
      awaitSample(metrics, "spillway_tier_spills_total{tier=\"nvme\"}", 11);
      awaitSample(metrics, "spillway_tier_restores_total{tier=\"nvme\"}", 12);
      awaitSample(metrics, "spillway_tier_spilled_bytes_total{tier=\"nvme\"}", 13_000);
      awaitSample(metrics, "spillway_tier_written_bytes_total{tier=\"nvme\"}", 14_000);
      awaitSample(metrics, "spillway_tier_failed_spills_total{tier=\"nvme\"}", 15);
      awaitSample(metrics, "spillway_tier_failed_restores_total{tier=\"nvme\"}", 16);
      awaitSample(metrics, "spillway_tier_busy_spills_total{tier=\"nvme\"}", 17);
      awaitSample(metrics, "spillway_spill_queue_full_total{tier=\"nvme\"}", 18);
      awaitSample(metrics, "spillway_spill_queue_depth{tier=\"nvme\"}", 3);
    }
  }

  @Test
  void ramHitRatioIsTheShareServedFromRamBetweenTwoUpdates() {
    AllocatorStats s = stats(List.of(), huge(0, 0, 0, 0), noSpills());
    try (SpillwayMetrics metrics = SpillwayMetrics.start(endpointOnAnyPort())) {
      metrics.update(s, null);
      assertThat(instrumentTags(SpillwayMetric.RAM_HIT_RATIO)).as("no access, no ratio").isEmpty();

      metrics.recordAccess(false);
      metrics.recordAccess(false);
      metrics.recordAccess(false);
      metrics.recordAccess(true);
      metrics.update(s, null);
      assertThat(gauge(SpillwayMetric.RAM_HIT_RATIO, TagSet.Empty())).isEqualTo(0.75);

      metrics.recordAccess(false);
      metrics.recordAccess(true);
      metrics.update(s, null);
      assertThat(gauge(SpillwayMetric.RAM_HIT_RATIO, TagSet.Empty())).as("this window, not 4 of 6").isEqualTo(0.5);

      metrics.update(s, null);
      assertThat(gauge(SpillwayMetric.RAM_HIT_RATIO, TagSet.Empty())).as("no access: unchanged").isEqualTo(0.5);

      awaitSample(metrics, "spillway_accesses_total{served=\"ram\"}", 4);
      awaitSample(metrics, "spillway_accesses_total{served=\"restore\"}", 2);
      awaitSample(metrics, "spillway_ram_hit_ratio", 0.5);
    }
  }

  @Test
  void restoreLatencyIsAHistogramInSeconds() {
    try (SpillwayMetrics metrics = SpillwayMetrics.start(endpointOnAnyPort())) {
      metrics.recordRestoreNanos(40_000);
      metrics.recordRestoreNanos(60_000);
      metrics.recordRestoreNanos(2_000_000);
      awaitSample(metrics, "spillway_tier_restore_latency_seconds_count{tier=\"nvme\"}", 3);

      String scrape = metrics.scrapeData();
      assertThat(bucket(scrape, "5.0E-5")).as("40 us").isEqualTo(1);
      assertThat(bucket(scrape, "1.0E-4")).as("40 and 60 us").isEqualTo(2);
      assertThat(bucket(scrape, "0.001")).isEqualTo(2);
      assertThat(bucket(scrape, "0.0025")).as("2 ms").isEqualTo(3);
      assertThat(bucket(scrape, "+Inf")).isEqualTo(3);
      assertThat(sample(scrape, "spillway_tier_restore_latency_seconds_sum{tier=\"nvme\"}").orElseThrow())
          .isCloseTo(0.0021, org.assertj.core.data.Offset.offset(0.0001));
      assertThatThrownBy(() -> metrics.recordRestoreNanos(-1))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("restore time = -1 ns");
    }
  }

  /** The cumulative count of the restore-latency bucket whose upper bound is {@code le}. */
  private static double bucket(String scrape, String le) {
    String line = Arrays.stream(scrape.split("\n"))
        .filter(l -> l.startsWith("spillway_tier_restore_latency_seconds_bucket{"))
        .filter(l -> l.contains("le=\"" + le + "\"") && l.contains("tier=\"nvme\""))
        .findFirst().orElseThrow(() -> new AssertionError("no bucket le=" + le + " in\n" + scrape));
    return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
  }

  @Test
  void pressureLevelExistsFromItsFirstSetting() {
    try (SpillwayMetrics metrics = SpillwayMetrics.start(endpointOff())) {
      assertThat(instrumentTags(SpillwayMetric.PRESSURE_LEVEL)).as("not measured yet").isEmpty();
      metrics.setPressureLevel(2);
      assertThat(gauge(SpillwayMetric.PRESSURE_LEVEL, TagSet.Empty())).isEqualTo(2);
      metrics.setPressureLevel(0);
      assertThat(gauge(SpillwayMetric.PRESSURE_LEVEL, TagSet.Empty())).isZero();
      assertThatThrownBy(() -> metrics.setPressureLevel(-1))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("pressure level = -1");
    }
  }

  @Test
  void withoutAPipelineNothingIsQueued() {
    AllocatorStats s = stats(List.of(), huge(0, 0, 0, 0), noSpills());
    try (SpillwayMetrics metrics = SpillwayMetrics.start(endpointOnAnyPort())) {
      metrics.update(s, pipeline(5, 3));
      assertThat(gauge(SpillwayMetric.SPILL_QUEUE_DEPTH, NVME)).isEqualTo(5);
      metrics.update(s, null);
      assertThat(gauge(SpillwayMetric.SPILL_QUEUE_DEPTH, NVME)).isZero();
      awaitSample(metrics, "spillway_spill_queue_full_total{tier=\"nvme\"}", 3);
    }
  }

  @Test
  void aPoolMissingFromLaterStatsHoldsNothing() {
    try (SpillwayMetrics metrics = SpillwayMetrics.start(endpointOnAnyPort())) {
      metrics.update(stats(List.of(pool("64B", 64, 100, 6, 10, 4)), huge(0, 0, 0, 0), noSpills()), null);
      metrics.update(stats(List.of(), huge(0, 0, 0, 0), noSpills()), null);
      assertThat(gauge(SpillwayMetric.POOL_RESIDENT, poolTag("64B"))).isZero();
      assertThat(gauge(SpillwayMetric.POOL_BLOCKS_IN_USE, poolTag("64B"))).isZero();
      awaitSample(metrics, "spillway_pool_allocations_total{pool=\"64B\"}", 10);
    }
  }

  private static TagSet mapTag(String name) {
    return TagSet.of(MetricTags.MAP, name);
  }

  @Test
  void eachMapHasItsSeriesTaggedWithItsName() {
    try (SpillwayMetrics metrics = SpillwayMetrics.start(endpointOnAnyPort())) {
      metrics.updateMaps(List.of(mapStats("users", 10, 1, 2, 3, 4, 10), mapStats("sessions", 20, 0, 0, 0, 0, 100)));
      assertThat(instrumentTags(SpillwayMetric.MAP_ENTRIES)).containsExactlyInAnyOrder(
          Map.of("map", "users"), Map.of("map", "sessions"));
      assertThat(instrumentTags(SpillwayMetric.MAP_HITS)).containsExactlyInAnyOrder(
          Map.of("map", "users", "level", "l1"), Map.of("map", "users", "level", "l2"),
          Map.of("map", "users", "level", "l3"), Map.of("map", "sessions", "level", "l1"),
          Map.of("map", "sessions", "level", "l2"), Map.of("map", "sessions", "level", "l3"));
      assertThat(instrumentTags(SpillwayMetric.MAP_REMOVALS)).contains(Map.of("map", "users", "cause", "explicit"),
          Map.of("map", "users", "cause", "expired"), Map.of("map", "users", "cause", "evicted")).hasSize(6);
      assertThat(gauge(SpillwayMetric.MAP_ENTRIES, mapTag("users"))).isEqualTo(10);
      assertThat(gauge(SpillwayMetric.MAP_L1_ENTRIES, mapTag("sessions"))).isEqualTo(10);
      assertThat(gauge(SpillwayMetric.MAP_INDEX, mapTag("users"))).isEqualTo(40_960);
      assertThat(gauge(SpillwayMetric.MAP_HIT_RATIO, mapTag("users"))).isEqualTo(0.6);
      assertThat(instrumentTags(SpillwayMetric.MAP_HIT_RATIO)).as("no read, no ratio")
          .containsExactly(Map.of("map", "users"));

      awaitSample(metrics, "spillway_map_hits_total{map=\"users\",level=\"l1\"}", 1);
      awaitSample(metrics, "spillway_map_hits_total{map=\"users\",level=\"l2\"}", 2);
      awaitSample(metrics, "spillway_map_hits_total{map=\"users\",level=\"l3\"}", 3);
      awaitSample(metrics, "spillway_map_misses_total{map=\"users\"}", 4);
      awaitSample(metrics, "spillway_map_puts_total{map=\"users\"}", 11);
      awaitSample(metrics, "spillway_map_removals_total{map=\"users\",cause=\"explicit\"}", 12);
      awaitSample(metrics, "spillway_map_removals_total{map=\"users\",cause=\"evicted\"}", 13);
      awaitSample(metrics, "spillway_map_removals_total{map=\"users\",cause=\"expired\"}", 14);
      awaitSample(metrics, "spillway_map_promotions_total{map=\"users\"}", 15);
      awaitSample(metrics, "spillway_map_demotions_total{map=\"users\"}", 16);
      awaitSample(metrics, "spillway_map_loads_total{map=\"users\"}", 17);
      awaitSample(metrics, "spillway_map_load_time_seconds_total{map=\"users\"}", 18);
      awaitSample(metrics, "spillway_map_index_bytes{map=\"users\"}", 40_960);
    }
  }

  @Test
  void aMapsHitRatioIsThatOfTheReadsBetweenTwoUpdatesAndCountersFollowAReopenedMap() {
    try (SpillwayMetrics metrics = SpillwayMetrics.start(endpointOnAnyPort())) {
      metrics.updateMaps(List.of(mapStats("m", 1, 0, 3, 0, 1, 0)));
      assertThat(gauge(SpillwayMetric.MAP_HIT_RATIO, mapTag("m"))).isEqualTo(0.75);
      metrics.updateMaps(List.of(mapStats("m", 1, 0, 4, 0, 4, 0)));
      assertThat(gauge(SpillwayMetric.MAP_HIT_RATIO, mapTag("m"))).as("1 hit and 3 misses since").isEqualTo(0.25);
      metrics.updateMaps(List.of(mapStats("m", 1, 0, 4, 0, 4, 0)));
      assertThat(gauge(SpillwayMetric.MAP_HIT_RATIO, mapTag("m"))).as("no read: unchanged").isEqualTo(0.25);
      awaitSample(metrics, "spillway_map_misses_total{map=\"m\"}", 4);
      // Opened again under the name: its figures start from zero and add on.
      metrics.updateMaps(List.of(mapStats("m", 1, 0, 2, 0, 0, 0)));
      assertThat(gauge(SpillwayMetric.MAP_HIT_RATIO, mapTag("m"))).isEqualTo(1.0);
      awaitSample(metrics, "spillway_map_hits_total{map=\"m\",level=\"l2\"}", 6);
      awaitSample(metrics, "spillway_map_misses_total{map=\"m\"}", 4);
      assertThatThrownBy(() -> metrics.updateMaps(List.of(mapStats("m", 1, 0, 0, 0, 0, 0),
          mapStats("m", 1, 0, 0, 0, 0, 0)))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("twice");
    }
  }

  @Test
  void aMapLeftOutOfAnUpdateLosesItsSeries() {
    try (SpillwayMetrics metrics = SpillwayMetrics.start(endpointOff())) {
      metrics.updateMaps(List.of(mapStats("a", 1, 0, 1, 0, 0, 0), mapStats("b", 1, 0, 1, 0, 0, 0)));
      metrics.updateMaps(List.of(mapStats("b", 2, 0, 1, 0, 0, 0)));
      // Kamon drops removed instruments at its next tick.
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).untilAsserted(() -> {
        for (SpillwayMetric metric : SpillwayMetric.values()) {
          assertThat(instrumentTags(metric)).as(metric.kamonName()).noneMatch(t -> "a".equals(t.get("map")));
        }
      });
      assertThat(gauge(SpillwayMetric.MAP_ENTRIES, mapTag("b"))).isEqualTo(2);
      metrics.updateMaps(List.of());
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).untilAsserted(() ->
          assertThat(instrumentTags(SpillwayMetric.MAP_ENTRIES)).isEmpty());
    }
  }

  @Test
  void closeRemovesEverySeriesAndEndsUpdates() {
    SpillwayMetrics metrics = SpillwayMetrics.start(endpointOff());
    metrics.update(stats(List.of(pool("64B", 64, 100, 6, 10, 4)), huge(0, 0, 0, 0), noSpills()), pipeline(1, 0));
    metrics.recordAccess(true);
    metrics.setPressureLevel(1);
    metrics.update(stats(List.of(), huge(0, 0, 0, 0), noSpills()), null);
    metrics.updateMaps(List.of(mapStats("m", 1, 0, 1, 0, 0, 0)));
    assertThat(instrumentTags(SpillwayMetric.RAM_HIT_RATIO)).hasSize(1);
    assertThat(instrumentTags(SpillwayMetric.MAP_HIT_RATIO)).hasSize(1);

    metrics.close();
    metrics.close();
    // Kamon drops removed instruments at its next tick.
    MetricsTestSupport.awaitNoSpillwaySeries();
    assertThatThrownBy(() -> metrics.update(stats(List.of(), huge(0, 0, 0, 0), noSpills()), null))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    assertThatThrownBy(() -> metrics.updateMaps(List.of())).isInstanceOf(IllegalStateException.class);
    metrics.recordAccess(false);
    metrics.recordRestoreNanos(1_000);
    metrics.setPressureLevel(3);
    assertThat(instrumentTags(SpillwayMetric.PRESSURE_LEVEL)).as("nothing comes back after close").isEmpty();
    assertThat(instrumentTags(SpillwayMetric.TIER_RESTORE_LATENCY)).isEmpty();
  }

  @Test
  void followsARealAllocatorWithATier(@TempDir Path dir) throws Exception {
    SpillwaySettings defaults = SpillwaySettings.defaults();
    SpillwaySettings settings = defaults.withTier(defaults.tier().withDirectories(List.of(dir)));
    try (BlockAllocator memory = BlockAllocator.open(settings);
         SpillwayMetrics metrics = SpillwayMetrics.start(endpointOnAnyPort())) {
      long a = memory.allocate(4096);
      memory.allocate(4096);
      memory.allocate(64);
      memory.putLong(a, 0, 42);
      assertThat(memory.spill(a)).isEqualTo(SpillOutcome.SPILLED);
      assertThat(memory.getLong(a, 0)).isEqualTo(42);
      metrics.recordAccess(true);

      AllocatorStats s = memory.stats();
      metrics.update(s, null);
      assertThat(gauge(SpillwayMetric.POOL_BLOCKS_IN_USE, poolTag("4KiB"))).isEqualTo((double) s.pool("4KiB").blocksInUse());
      assertThat(gauge(SpillwayMetric.POOL_RESIDENT, poolTag("64B"))).isEqualTo((double) s.pool("64B").residentBytes());
      assertThat(gauge(SpillwayMetric.TIER_USED, RAM)).isEqualTo((double) s.residentBytes());
      assertThat(gauge(SpillwayMetric.TIER_USED, NVME)).isEqualTo((double) s.spill().tier().bytesOnDisk()).isPositive();
      awaitSample(metrics, "spillway_tier_spills_total{tier=\"nvme\"}", 1);
      awaitSample(metrics, "spillway_tier_restores_total{tier=\"nvme\"}", 1);
      awaitSample(metrics, "spillway_pool_allocations_total{pool=\"4KiB\"}", (double) s.pool("4KiB").allocations());
      awaitSample(metrics, "spillway_ram_hit_ratio", 0.0);
    }
  }
}
