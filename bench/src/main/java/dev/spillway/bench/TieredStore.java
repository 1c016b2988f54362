package dev.spillway.bench;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spillway.Spillway;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.SpillStats;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.ehcache.Cache;
import org.ehcache.PersistentCacheManager;
import org.ehcache.config.builders.CacheConfigurationBuilder;
import org.ehcache.config.builders.CacheManagerBuilder;
import org.ehcache.config.builders.ResourcePoolsBuilder;
import org.ehcache.config.units.EntryUnit;
import org.ehcache.config.units.MemoryUnit;
import org.ehcache.core.internal.statistics.DefaultStatisticsService;
import org.ehcache.core.statistics.TierStatistics;

/**
 * One side of {@link TieredWorkload}: a store of {@code int} keys to 4 KiB values that the workload
 * loads with {@link #put} and reads with {@link #get}, from several threads. Each side runs in a JVM
 * of its own, so one instance per process.
 */
interface TieredStore extends AutoCloseable {
  /** Stores the value of {@code key}; {@code value} is the caller's buffer, reused after the call. */
  void put(int key, byte[] value);

  /** The value of {@code key}: {@code scratch} filled with it, or the store's own array. */
  byte[] get(int key, byte[] scratch);

  /** Marks the start of the measured reads (stores keep counters from here). */
  default void readsStart() {}

  /** Figures of the store's own, as {@code name=value} pairs without spaces. */
  Map<String, String> figures();

  @Override
  void close();

  /** Opens the store of {@code side}. */
  static TieredStore open(String side, long totalBytes, long budgetBytes, Path dir, String spillwayConf,
      int maintainMillis, TieredValues.Kind kind) {
    return switch (side) {
      case "spillway" -> new SpillwayStore(totalBytes, budgetBytes, dir, spillwayConf, maintainMillis);
      case "spillmap" -> new KeyedStores.SpillMapStore(budgetBytes, dir, true);
      case "spillmap-get" -> new KeyedStores.SpillMapStore(budgetBytes, dir, false);
      case "ehcache" -> new EhcacheStore(totalBytes, budgetBytes, dir);
      case "mapdb" -> new KeyedStores.MapDbStore(budgetBytes, dir);
      case "ohc" -> new KeyedStores.OhcStore(budgetBytes, kind);
      case "caffeine" -> new KeyedStores.CaffeineStore(budgetBytes, kind);
      case "chm" -> new ChmStore(totalBytes);
      default -> throw new IllegalArgumentException("no side named '" + side + "': " + TieredWorkload.SIDES);
    };
  }

  /**
   * Spillway through its facade: keys index a {@code long[]} of handles; values are blocks of the
   * 4 KiB class. Allocations at the budget wait for the control plane to spill cold blocks; reads of
   * spilled blocks restore them on the reading thread. With {@code maintainMillis > 0} (a diagnostic,
   * off by default) a thread of its own calls {@link Spillway#maintainPoolsAsync()}, which runs the
   * allocator's {@code maintain()} pass (tombstones, tier compaction), at that interval.
   */
  final class SpillwayStore implements TieredStore {
    /** An allocation that took longer than this waited for room. */
    private static final long STALL_NANOS = 1_000_000L;

    private final Spillway spillway;
    private final BlockAllocator memory;
    private final long[] handles;
    private final LongAdder stalls = new LongAdder();
    private final LongAdder stallNanos = new LongAdder();
    private volatile SpillStats atReads;
    private volatile long pipelineAtReads;
    private final Thread maintainer;
    private final LongAdder maintainPasses = new LongAdder();

    SpillwayStore(long totalBytes, long budgetBytes, Path dir, String extra, int maintainMillis) {
      // Durability none: a spilled block dies with the process anyway, and Ehcache's disk tier does not
      // fsync either; batch would add an fsync per 4 MiB batch to Spillway's side alone.
      Config config = ConfigFactory.parseString(extra == null ? "" : extra).withFallback(ConfigFactory.parseString(
          "spillway { control.budget = " + budgetBytes + " B, tier.directories = [\"" + dir.toAbsolutePath()
              + "\"], tier.durability = none }"));
      this.spillway = Spillway.create(config);
      this.memory = spillway.memory();
      this.handles = new long[Math.toIntExact(totalBytes / TieredValues.SIZE)];
      this.maintainer = maintainMillis <= 0 ? null
          : Thread.ofPlatform().daemon().name("spillway-maintain").start(() -> maintainEvery(maintainMillis));
    }

    private void maintainEvery(int millis) {
      try {
        while (!Thread.currentThread().isInterrupted()) {
          Thread.sleep(millis);
          spillway.maintainPoolsAsync().toCompletableFuture().join();
          maintainPasses.increment();
        }
      } catch (InterruptedException e) {
        // close() stops it
      }
    }

    @Override
    public void put(int key, byte[] value) {
      long t0 = System.nanoTime();
      long h = memory.allocate(TieredValues.SIZE);
      long waited = System.nanoTime() - t0;
      if (waited > STALL_NANOS) {
        stalls.increment();
        stallNanos.add(waited);
      }
      memory.write(h, 0, value, 0, TieredValues.SIZE);
      handles[key] = h;
    }

    @Override
    public byte[] get(int key, byte[] scratch) {
      memory.read(handles[key], 0, scratch, 0, TieredValues.SIZE);
      return scratch;
    }

    @Override
    public void readsStart() {
      atReads = memory.stats().spill();
      pipelineAtReads = spillwayPipelineSpilled();
    }

    private long spillwayPipelineSpilled() {
      return spillway.statsAsync().toCompletableFuture().join().pipeline().spilled();
    }

    @Override
    public Map<String, String> figures() {
      SpillStats now = memory.stats().spill();
      SpillStats before = atReads;
      Map<String, String> f = new LinkedHashMap<>();
      f.put("loadStalls", Long.toString(stalls.sum()));
      f.put("loadStallMs", Long.toString(stallNanos.sum() / 1_000_000));
      f.put("spillsAtReads", Long.toString(before.spills()));
      f.put("readRestores", Long.toString(now.restores() - before.restores()));
      f.put("readSpills", Long.toString(now.spills() - before.spills()));
      f.put("readFailedRestores", Long.toString(now.failedRestores() - before.failedRestores()));
      f.put("pipelineSpilledInReads", Long.toString(spillwayPipelineSpilled() - pipelineAtReads));
      f.put("spilledBlocksAtEnd", Long.toString(now.spilledBlocks()));
      f.put("forwardedAtEnd", Long.toString(now.forwardedBlocks()));
      f.put("storedToRaw", String.format(java.util.Locale.ROOT, "%.3f",
          now.rawBytesWritten() == 0 ? 0.0 : (double) now.storedBytesWritten() / now.rawBytesWritten()));
      f.put("mappedMiBAtEnd", Long.toString(memory.control().mappedBytes() >> 20));
      f.put("liveMiBAtEnd", Long.toString(memory.stats().requestedBytes() >> 20));
      if (now.tier() != null) {
        f.put("tierSegments", Integer.toString(now.tier().segments()));
        f.put("tierDiskMiB", Long.toString(now.tier().bytesOnDisk() >> 20));
        f.put("tierLiveMiB", Long.toString(now.tier().liveBytes() >> 20));
        f.put("tierLiveRecords", Long.toString(now.tier().liveRecords()));
        f.put("tierTombstones", Long.toString(now.tier().tombstones()));
      }
      f.put("maintainPasses", Long.toString(maintainPasses.sum()));
      return f;
    }

    @Override
    public void close() {
      if (maintainer != null) {
        maintainer.interrupt();
        try {
          maintainer.join();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      spillway.close();
    }
  }

  /**
   * Ehcache 3: a 1-entry heap tier (Ehcache refuses off-heap plus disk without one), an off-heap tier
   * of the budget and a disk tier big enough for every value (~8.3 KiB of disk per 4 KiB value, so
   * three times the data), not persistent across restarts, in a persistence directory of its own.
   * Keys are {@code Long}, values {@code byte[]} (serialized by Ehcache's own byte[] serializer).
   */
  final class EhcacheStore implements TieredStore {
    private static final String CACHE = "tiered";

    private final DefaultStatisticsService statistics = new DefaultStatisticsService();
    private final PersistentCacheManager manager;
    private final Cache<Long, byte[]> cache;
    private final long diskMiB;
    private volatile Map<String, long[]> atReads;

    EhcacheStore(long totalBytes, long budgetBytes, Path dir) {
      this.diskMiB = Math.max(3 * (totalBytes >> 20), (budgetBytes >> 20) + 64);
      this.manager = CacheManagerBuilder.newCacheManagerBuilder()
          .using(statistics)
          .with(CacheManagerBuilder.persistence(dir.toFile()))
          .withCache(CACHE, CacheConfigurationBuilder.newCacheConfigurationBuilder(Long.class, byte[].class,
              ResourcePoolsBuilder.newResourcePoolsBuilder()
                  .heap(1, EntryUnit.ENTRIES)
                  .offheap(budgetBytes >> 20, MemoryUnit.MB) // Ehcache's MB is 2^20 bytes
                  .disk(diskMiB, MemoryUnit.MB, /* persistent= */ false)))
          .build(/* init= */ true);
      this.cache = manager.getCache(CACHE, Long.class, byte[].class);
    }

    @Override
    public void put(int key, byte[] value) {
      // A copy: the heap tier keeps values by reference, and the caller reuses its buffer.
      cache.put((long) key, value.clone());
    }

    @Override
    public byte[] get(int key, byte[] scratch) {
      return cache.get((long) key);
    }

    @Override
    public void readsStart() {
      atReads = tierCounts();
    }

    private Map<String, long[]> tierCounts() {
      Map<String, long[]> out = new LinkedHashMap<>();
      for (Map.Entry<String, TierStatistics> e : statistics.getCacheStatistics(CACHE).getTierStatistics().entrySet()) {
        TierStatistics t = e.getValue();
        out.put(e.getKey(), new long[] {t.getHits(), t.getMisses(), t.getEvictions(), t.getMappings(),
            t.getOccupiedByteSize()});
      }
      return out;
    }

    @Override
    public Map<String, String> figures() {
      Map<String, long[]> now = tierCounts();
      Map<String, String> f = new LinkedHashMap<>();
      f.put("diskMiB", Long.toString(diskMiB));
      for (Map.Entry<String, long[]> e : now.entrySet()) {
        long[] b = atReads.getOrDefault(e.getKey(), new long[5]);
        long[] n = e.getValue();
        String tier = e.getKey();
        f.put(tier + "ReadHits", Long.toString(n[0] - b[0]));
        f.put(tier + "ReadMisses", Long.toString(n[1] - b[1]));
        f.put(tier + "Evictions", Long.toString(n[2]));
        f.put(tier + "Mappings", Long.toString(n[3]));
        f.put(tier + "OccupiedMiB", Long.toString(n[4] >> 20));
      }
      return f;
    }

    @Override
    public void close() {
      manager.close();
    }
  }

  /** The on-heap baseline: every value a {@code byte[]} in a {@link ConcurrentHashMap}, no budget. */
  final class ChmStore implements TieredStore {
    private final ConcurrentHashMap<Long, byte[]> map;

    ChmStore(long totalBytes) {
      this.map = new ConcurrentHashMap<>(Math.toIntExact(totalBytes / TieredValues.SIZE) * 2);
    }

    @Override
    public void put(int key, byte[] value) {
      map.put((long) key, value.clone());
    }

    @Override
    public byte[] get(int key, byte[] scratch) {
      return map.get((long) key);
    }

    @Override
    public Map<String, String> figures() {
      return Map.of("entries", Integer.toString(map.size()));
    }

    @Override
    public void close() {
      map.clear();
    }
  }
}
