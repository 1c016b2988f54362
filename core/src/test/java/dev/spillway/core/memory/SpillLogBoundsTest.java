package dev.spillway.core.memory;

import dev.spillway.memory.BlockAllocator;
import static org.assertj.core.api.Assertions.assertThat;

import dev.spillway.memory.TierStats;
import dev.spillway.config.TierSettings;
import dev.spillway.config.TierSettings.Durability;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The spill log stays bounded under endless spill / restore churn: records of blocks that came back
 * leave the index at once (no tombstones: the log is never recovered), and maintenance compacts
 * their bytes away in bounded passes.
 */
class SpillLogBoundsTest extends AllocatorTestBase {
  @TempDir Path tmp;

  @Test
  void spillAndRestoreChurnKeepsTheIndexAndTheDiskBounded() {
    BlockAllocator a = tiered(tmp, "tier { durability = none, segment-size = 1 MiB }");
    int n = 32;
    long[] h = new long[n];
    for (int i = 0; i < n; i++) {
      h[i] = a.allocate(64 << 10);
      a.putLong(h[i], 0, i);
    }
    long maxDisk = 0;
    for (int round = 0; round < 60; round++) { // 60 x 2 MiB spilled: 120 MiB through a 1 MiB-segment log
      assertThat(a.control().spill(h, 0, n).spilled()).isEqualTo(n);
      for (int i = 0; i < n; i++) {
        assertThat(a.getLong(h[i], 0)).isEqualTo(i);
      }
      a.control().maintain();
      maxDisk = Math.max(maxDisk, a.stats().spill().tier().bytesOnDisk());
    }
    TierStats tier = a.stats().spill().tier();
    assertThat(tier.liveRecords()).as("every block came back: nothing is live on the tier").isZero();
    assertThat(tier.tombstones()).as("no tombstones in a spill log").isZero();
    assertThat(maxDisk).as("disk stays within a few segments, not 120 MiB").isLessThan(8L << 20);
    for (long x : h) {
      a.free(x);
    }
  }

  /** Spilled blocks die with the process: their log is never forced, whatever the durability says. */
  @Test
  void theSpillLogIsNeverForcedWhateverTheDurability() {
    for (Durability d : Durability.values()) {
      TierSettings tier = TierSettings.in(tmp).withDurability(d)
          .withSegmentSize(1L << 30);
      TierSettings spill = Allocators.spillLog(tier, List.of(tmp));
      assertThat(spill.durability()).as("spill log under durability " + d).isEqualTo(Durability.NONE);
      assertThat(spill.directories()).containsExactly(tmp.resolve("spill"));
      assertThat(spill.segmentSize()).isEqualTo(64L << 20);
    }
  }
}
