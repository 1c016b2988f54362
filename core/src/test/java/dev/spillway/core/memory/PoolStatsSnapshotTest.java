package dev.spillway.core.memory;

import static org.assertj.core.api.Assertions.assertThat;

import dev.spillway.memory.PoolStats;
import dev.spillway.memory.SizeClasses;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A pool's snapshot adds the thread caches' counters, read one after another while their threads
 * run: a free counted in one cache before the allocation it frees was counted in another's shows as
 * a negative sum for a moment. The snapshot must never report negative blocks or bytes in use, nor
 * more in use than there is room for.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PoolStatsSnapshotTest {
  @Test
  void cacheCountersAheadOfEachOtherNeverMakeFiguresNegative() {
    int cls = SizeClasses.indexOf(64);
    SizePool pool = new SizePool(cls, 128, 128 * 64, 0, 1024, "test", new SlabDirectory());
    try {
      // One cache has counted a free of 64 B whose allocation (by another thread) is not counted yet.
      PoolStats s = pool.stats(0, 1, -64, 0);
      assertThat(s.blocksInUse()).isZero();
      assertThat(s.requestedBytes()).isZero();
      assertThat(s.freeBlocks()).isEqualTo(s.capacityBlocks());
      // And the other way round: allocations counted whose slots the pool has not handed out yet.
      PoolStats ahead = pool.stats(s.capacityBlocks() + 5, 0, 64L * (s.capacityBlocks() + 5), 0);
      assertThat(ahead.freeBlocks()).isZero();
      assertThat(ahead.requestedBytes()).isPositive();
    } finally {
      pool.closeAll();
    }
  }
}
