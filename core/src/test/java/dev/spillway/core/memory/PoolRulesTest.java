package dev.spillway.core.memory;

import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.PoolExhaustedException;
import dev.spillway.memory.PoolStats;
import dev.spillway.memory.spi.MaintenanceReport;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The grow / shrink rules, synchronous growth, limits and exhaustion of one pool. */
class PoolRulesTest extends AllocatorTestBase {
  // 4 KiB blocks in 64 KiB slabs: 16 blocks per slab; max 160 blocks, so 10% of max = one slab.
  private static final String POOL = "small-slab-size = 64 KiB, thread-cache.enabled = false,"
      + " pools.classes { \"4KiB\" { initial-blocks = 32, max-blocks = 160 } }";

  @Test
  void initialCapacityIsReservedAtStart() {
    PoolStats p = allocator(POOL).stats().pool("4KiB");
    assertThat(p.capacityBlocks()).isEqualTo(32);
    assertThat(p.slabs()).isEqualTo(2);
    assertThat(p.initialBlocks()).isEqualTo(32);
    assertThat(p.maxBlocks()).isEqualTo(160);
  }

  @Test
  void growsByTenPercentOfMaxWhenEightyPercentAreInUse() {
    BlockAllocator a = allocator(POOL);
    List<Long> live = allocate(a, 25); // 25 / 32 = 78%: no growth
    assertThat(a.control().maintain().blocksGrown()).isZero();
    assertThat(a.stats().pool("4KiB").capacityBlocks()).isEqualTo(32);
    live.addAll(allocate(a, 1)); // 26 / 32 = 81%
    MaintenanceReport report = a.control().maintain();
    assertThat(report.blocksGrown()).isEqualTo(16);
    assertThat(a.stats().pool("4KiB").capacityBlocks()).isEqualTo(48);
    freeAll(a, live);
  }

  @Test
  void growthStopsAtTheMaximumAndExhaustionNamesTheLimit() {
    BlockAllocator a = allocator(POOL);
    List<Long> live = allocate(a, 160); // synchronous growth, slab by slab, up to the maximum
    assertThat(a.stats().pool("4KiB").capacityBlocks()).isEqualTo(160);
    assertThat(a.control().maintain().blocksGrown()).isZero();
    assertThatThrownBy(() -> a.allocate(4000))
        .isInstanceOf(PoolExhaustedException.class)
        .hasMessageContaining("4 KiB").hasMessageContaining("160 blocks")
        .hasMessageContaining("spillway.memory.pools.classes.4KiB.max-blocks = 160");
    // Other classes are unaffected.
    long other = a.allocate(100);
    a.free(other);
    freeAll(a, live);
  }

  @Test
  void shrinksByTenPercentOfMaxWhenMoreThanHalfIsFreeNeverBelowInitial() {
    BlockAllocator a = allocator(POOL);
    List<Long> live = allocate(a, 96); // 6 slabs
    assertThat(a.stats().pool("4KiB").capacityBlocks()).isEqualTo(96);
    freeAll(a, live.subList(16, 96)); // 16 of 96 in use: 83% free
    assertThat(a.control().maintain().blocksShrunk()).isEqualTo(16);
    assertThat(a.stats().pool("4KiB").capacityBlocks()).isEqualTo(80);
    for (int i = 0; i < 10; i++) {
      a.control().maintain();
    }
    PoolStats p = a.stats().pool("4KiB");
    assertThat(p.capacityBlocks()).as("never below the initial 32").isEqualTo(32);
    assertThat(p.blocksInUse()).isEqualTo(16);
    freeAll(a, live.subList(0, 16));
    a.control().maintain();
    assertThat(a.stats().pool("4KiB").capacityBlocks()).isEqualTo(32);
  }

  @Test
  void shrinkingReleasesOnlyEmptySlabs() {
    BlockAllocator a = allocator(POOL);
    List<Long> live = allocate(a, 64); // 4 slabs of 16
    List<Long> keep = new ArrayList<>();
    List<Long> drop = new ArrayList<>();
    for (int i = 0; i < live.size(); i++) {
      (i % 16 == 0 ? keep : drop).add(live.get(i)); // one survivor in every slab
    }
    freeAll(a, drop);
    assertThat(a.control().maintain().blocksShrunk()).as("every slab still holds a block").isZero();
    for (long h : keep) {
      assertThat(a.isLive(h)).isTrue();
    }
    freeAll(a, keep);
  }

  @Test
  void aPoolThatStartsEmptyGrowsOnDemand() {
    BlockAllocator a = allocator("small-slab-size = 64 KiB");
    assertThat(a.stats().pools()).isEmpty();
    long h = a.allocate(4096);
    PoolStats p = a.stats().pool("4KiB");
    assertThat(p.slabs()).isEqualTo(1);
    assertThat(p.blocksInUse()).isEqualTo(1);
    a.free(h);
  }

  private static List<Long> allocate(BlockAllocator a, int n) {
    List<Long> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(a.allocate(4096));
    }
    return out;
  }

  private static void freeAll(BlockAllocator a, List<Long> handles) {
    for (long h : new ArrayList<>(handles)) {
      a.free(h);
    }
    handles.clear();
  }
}
