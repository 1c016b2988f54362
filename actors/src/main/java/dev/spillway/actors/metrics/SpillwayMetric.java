package dev.spillway.actors.metrics;

import kamon.metric.MeasurementUnit;

/**
 * Every series {@link SpillwayMetrics} exports: its Kamon name, the name Kamon's Prometheus reporter
 * turns it into (dots become underscores, byte units add {@code _bytes}, time units {@code _seconds},
 * counters {@code _total}), its kind, and the tags it carries ({@link MetricTags}).
 *
 * <pre>
 * Prometheus name                          kind       tags                 source
 * spillway_pool_resident_bytes             gauge      pool                 PoolStats.residentBytes
 * spillway_pool_reserved_bytes             gauge      pool                 PoolStats.reservedBytes
 * spillway_pool_capacity_blocks            gauge      pool                 PoolStats.capacityBlocks
 * spillway_pool_blocks_in_use              gauge      pool                 PoolStats.blocksInUse
 * spillway_pool_allocations_total          counter    pool                 PoolStats.allocations
 * spillway_pool_frees_total                counter    pool                 PoolStats.frees
 * spillway_tier_used_bytes                 gauge      tier=ram|nvme        residentBytes() | TierStats.bytesOnDisk
 * spillway_tier_blocks                     gauge      tier=ram|nvme        blocksInUse() | SpillStats.spilledBlocks
 * spillway_tier_live_bytes                 gauge      tier=nvme            TierStats.liveBytes
 * spillway_tier_spills_total               counter    tier=nvme            SpillStats.spills
 * spillway_tier_restores_total             counter    tier=nvme            SpillStats.restores
 * spillway_tier_spilled_bytes_total        counter    tier=nvme            SpillStats.rawBytesWritten
 * spillway_tier_written_bytes_total        counter    tier=nvme            SpillStats.storedBytesWritten
 * spillway_tier_failed_spills_total        counter    tier=nvme            SpillStats.failedSpills
 * spillway_tier_failed_restores_total      counter    tier=nvme            SpillStats.failedRestores
 * spillway_tier_busy_spills_total          counter    tier=nvme            SpillStats.busySpills
 * spillway_tier_restore_latency_seconds    histogram  tier=nvme            recordRestoreNanos
 * spillway_spill_queue_depth               gauge      tier=nvme            PipelineStats.inFlight
 * spillway_spill_queue_full_total          counter    tier=nvme            PipelineStats.rejectedFull
 * spillway_accesses_total                  counter    served=ram|restore   recordAccess(es): the facade's memory()
 * spillway_ram_hit_ratio                   gauge      (none)               recordAccess(es), per update
 * spillway_pressure_level                  gauge      (none)               setPressureLevel
 * spillway_map_entries                     gauge      map                  MapStats.entries
 * spillway_map_l1_entries                  gauge      map                  MapStats.l1Entries
 * spillway_map_index_bytes                 gauge      map                  MapStats.offHeapIndexBytes
 * spillway_map_hits_total                  counter    map, level=l1|l2|l3  MapStats.l1Hits | l2Hits | l3Hits
 * spillway_map_misses_total                counter    map                  MapStats.misses
 * spillway_map_puts_total                  counter    map                  MapStats.puts
 * spillway_map_removals_total              counter    map, cause=explicit|expired|evicted
 *                                                                          MapStats.removals | expirations | evictions
 * spillway_map_promotions_total            counter    map                  MapStats.promotions
 * spillway_map_demotions_total             counter    map                  MapStats.demotions
 * spillway_map_loads_total                 counter    map                  MapStats.loads
 * spillway_map_load_time_seconds_total     counter    map                  MapStats.loadNanos
 * spillway_map_hit_ratio                   gauge      map                  MapStats hits and misses, per update
 * </pre>
 *
 * The {@code map} series come from {@link SpillwayMetrics#updateMaps}; a map left out of an update
 * (closed) loses its series.
 */
public enum SpillwayMetric {
  POOL_RESIDENT("spillway.pool.resident", "spillway_pool_resident_bytes", Kind.GAUGE, Unit.BYTES,
      "Bytes mapped for the size class (its slabs, or the huge blocks' own mappings)"),
  POOL_RESERVED("spillway.pool.reserved", "spillway_pool_reserved_bytes", Kind.GAUGE, Unit.BYTES,
      "Bytes the live resident blocks of the size class occupy"),
  POOL_CAPACITY_BLOCKS("spillway.pool.capacity-blocks", "spillway_pool_capacity_blocks", Kind.GAUGE, Unit.NONE,
      "Blocks the size class's slabs have room for"),
  POOL_BLOCKS_IN_USE("spillway.pool.blocks-in-use", "spillway_pool_blocks_in_use", Kind.GAUGE, Unit.NONE,
      "Blocks of the size class allocated, not freed and resident"),
  POOL_ALLOCATIONS("spillway.pool.allocations", "spillway_pool_allocations_total", Kind.COUNTER, Unit.NONE,
      "Allocations served by the size class"),
  POOL_FREES("spillway.pool.frees", "spillway_pool_frees_total", Kind.COUNTER, Unit.NONE,
      "Frees of blocks of the size class"),

  TIER_USED("spillway.tier.used", "spillway_tier_used_bytes", Kind.GAUGE, Unit.BYTES,
      "Bytes the tier holds: RAM mapped for blocks, or segment files on disk"),
  TIER_BLOCKS("spillway.tier.blocks", "spillway_tier_blocks", Kind.GAUGE, Unit.NONE,
      "Live blocks whose bytes are on the tier"),
  TIER_LIVE("spillway.tier.live", "spillway_tier_live_bytes", Kind.GAUGE, Unit.BYTES,
      "Bytes of the tier's records still referenced (the rest waits for compaction)"),
  TIER_SPILLS("spillway.tier.spills", "spillway_tier_spills_total", Kind.COUNTER, Unit.NONE,
      "Blocks spilled to the tier"),
  TIER_RESTORES("spillway.tier.restores", "spillway_tier_restores_total", Kind.COUNTER, Unit.NONE,
      "Blocks restored from the tier"),
  TIER_SPILLED_BYTES("spillway.tier.spilled", "spillway_tier_spilled_bytes_total", Kind.COUNTER, Unit.BYTES,
      "Bytes of blocks spilled to the tier, before encoding"),
  TIER_WRITTEN_BYTES("spillway.tier.written", "spillway_tier_written_bytes_total", Kind.COUNTER, Unit.BYTES,
      "Bytes the spilled records took on the tier, headers included"),
  TIER_FAILED_SPILLS("spillway.tier.failed-spills", "spillway_tier_failed_spills_total", Kind.COUNTER, Unit.NONE,
      "Spills that failed on I/O (the blocks stayed resident)"),
  TIER_FAILED_RESTORES("spillway.tier.failed-restores", "spillway_tier_failed_restores_total", Kind.COUNTER,
      Unit.NONE, "Restores that failed (the blocks stayed spilled)"),
  TIER_BUSY_SPILLS("spillway.tier.busy-spills", "spillway_tier_busy_spills_total", Kind.COUNTER, Unit.NONE,
      "Spills given up because the block was touched or pinned meanwhile"),
  TIER_RESTORE_LATENCY("spillway.tier.restore-latency", "spillway_tier_restore_latency_seconds", Kind.HISTOGRAM,
      Unit.NANOSECONDS, "Time to restore one block from the tier"),

  SPILL_QUEUE_DEPTH("spillway.spill.queue-depth", "spillway_spill_queue_depth", Kind.GAUGE, Unit.NONE,
      "Spill requests in flight in the spill pipeline"),
  SPILL_QUEUE_FULL("spillway.spill.queue-full", "spillway_spill_queue_full_total", Kind.COUNTER, Unit.NONE,
      "Spill requests answered full because queue-size requests were in flight"),

  ACCESSES("spillway.accesses", "spillway_accesses_total", Kind.COUNTER, Unit.NONE,
      "Block accesses reported by the caller, by where they were served"),
  RAM_HIT_RATIO("spillway.ram.hit-ratio", "spillway_ram_hit_ratio", Kind.GAUGE, Unit.NONE,
      "Share of the accesses reported between the last two updates served without a restore"),
  PRESSURE_LEVEL("spillway.pressure.level", "spillway_pressure_level", Kind.GAUGE, Unit.NONE,
      "Memory pressure level (0 = none; higher is worse)"),

  MAP_ENTRIES("spillway.map.entries", "spillway_map_entries", Kind.GAUGE, Unit.NONE,
      "Entries of the keyed map"),
  MAP_L1_ENTRIES("spillway.map.l1-entries", "spillway_map_l1_entries", Kind.GAUGE, Unit.NONE,
      "Decoded values the keyed map holds in its on-heap level"),
  MAP_INDEX("spillway.map.index", "spillway_map_index_bytes", Kind.GAUGE, Unit.BYTES,
      "Off-heap bytes of the keyed map's index"),
  MAP_HITS("spillway.map.hits", "spillway_map_hits_total", Kind.COUNTER, Unit.NONE,
      "Reads of the keyed map answered, by the level that answered (l3: brought back from NVMe)"),
  MAP_MISSES("spillway.map.misses", "spillway_map_misses_total", Kind.COUNTER, Unit.NONE,
      "Reads of absent or expired keys of the keyed map"),
  MAP_PUTS("spillway.map.puts", "spillway_map_puts_total", Kind.COUNTER, Unit.NONE,
      "Entries written into the keyed map (inserts and replacements)"),
  MAP_REMOVALS("spillway.map.removals", "spillway_map_removals_total", Kind.COUNTER, Unit.NONE,
      "Entries that left the keyed map, by cause"),
  MAP_PROMOTIONS("spillway.map.promotions", "spillway_map_promotions_total", Kind.COUNTER, Unit.NONE,
      "Values of the keyed map that moved up a level (restored from NVMe, or decoded on-heap)"),
  MAP_DEMOTIONS("spillway.map.demotions", "spillway_map_demotions_total", Kind.COUNTER, Unit.NONE,
      "Entries the keyed map sent to NVMe in its demotion order"),
  MAP_LOADS("spillway.map.loads", "spillway_map_loads_total", Kind.COUNTER, Unit.NONE,
      "Values computeIfAbsent computed for absent keys of the keyed map"),
  MAP_LOAD_TIME("spillway.map.load-time", "spillway_map_load_time_seconds_total", Kind.COUNTER, Unit.NANOSECONDS,
      "Time spent computing those values"),
  MAP_HIT_RATIO("spillway.map.hit-ratio", "spillway_map_hit_ratio", Kind.GAUGE, Unit.NONE,
      "Share of the keyed map's reads between the last two updates that found their key");

  /** The Kamon instrument type of a series. */
  public enum Kind { GAUGE, COUNTER, HISTOGRAM }

  private enum Unit { NONE, BYTES, NANOSECONDS }

  private final String kamonName;
  private final String prometheusName;
  private final Kind kind;
  private final Unit unit;
  private final String description;

  SpillwayMetric(String kamonName, String prometheusName, Kind kind, Unit unit, String description) {
    this.kamonName = kamonName;
    this.prometheusName = prometheusName;
    this.kind = kind;
    this.unit = unit;
    this.description = description;
  }

  /** The name registered with Kamon. */
  public String kamonName() {
    return kamonName;
  }

  /** The name in the Prometheus scrape data (histograms add {@code _bucket}, {@code _count}, {@code _sum}). */
  public String prometheusName() {
    return prometheusName;
  }

  public Kind kind() {
    return kind;
  }

  /** One line, served as the series' {@code # HELP}. */
  public String description() {
    return description;
  }

  /** Kamon's unit; the Prometheus reporter converts bytes and time to base units and names them. */
  MeasurementUnit unit() {
    return switch (unit) {
      case NONE -> MeasurementUnit.none();
      case BYTES -> MeasurementUnit.information().bytes();
      case NANOSECONDS -> MeasurementUnit.time().nanoseconds();
    };
  }
}
