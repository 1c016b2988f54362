package dev.spillway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.testing.TestBytes;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The budget end to end: a workload allocating 4× the budget with skewed random access keeps mapped
 * memory within the budget plus its slack, spills the cold blocks, restores them on access and
 * reads the right bytes everywhere; when nothing can spill, allocation waits and then fails with
 * OutOfBudgetException.
 */
class BudgetEndToEndTest {
  @TempDir Path tmp;

  private static final long BUDGET = 8L << 20;

  private Spillway start(String extra) {
    return Spillway.create(ConfigFactory.parseString("spillway { tier.directories = [\"" + tmp.toAbsolutePath()
        + "\"], tier.durability = none, control { budget = 8 MiB, budget-slack = 0.125, allocate-timeout = 20 s,"
        + " pressure.interval = 5 ms, idle { sweep-interval = 5 ms, idle-after = 15 ms, shrink-after = 1 s } } "
        + extra + " }"));
  }

  /** Block {@code i}'s value at offset {@code k * 8}. */
  private static long value(int i, int version, int k) {
    return (long) i * 1_000_003L + (long) version * 7919L + k;
  }

  private static void fill(BlockAllocator m, long h, int i, int version) {
    for (int k = 0; k < 512; k++) {
      m.putLong(h, k * 8L, value(i, version, k));
    }
  }

  private static void check(BlockAllocator m, long h, int i, int version) {
    for (int k = 0; k < 512; k += 37) {
      long v = m.getLong(h, k * 8L);
      if (v != value(i, version, k)) {
        throw new AssertionError("block " + i + " offset " + k * 8 + ": " + v + ", expected " + value(i, version, k));
      }
    }
  }

  @Test
  void fourTimesTheBudgetWithSkewedAccessStaysWithinItAndReadsRightEverywhere() throws Exception {
    try (Spillway spillway = start("")) {
      BlockAllocator m = spillway.memory();
      int blocks = (int) (4 * BUDGET / 4096); // 8192 blocks of 4 KiB: 32 MiB
      long[] h = new long[blocks];
      int[] version = new int[blocks];
      SplittableRandom random = new SplittableRandom(42);
      long maxMapped = 0;
      for (int i = 0; i < blocks; i++) {
        h[i] = m.allocate(4096);
        fill(m, h[i], i, 0);
        // Skewed access: most reads go to the newest blocks, a few anywhere (an approximate Zipf).
        for (int r = 0; r < 4; r++) {
          int j = random.nextInt(8) == 0 ? random.nextInt(i + 1) : Math.max(0, i - random.nextInt(64));
          check(m, h[j], j, version[j]);
          if (random.nextInt(16) == 0) {
            fill(m, h[j], j, ++version[j]);
          }
        }
        maxMapped = Math.max(maxMapped, m.control().mappedBytes());
      }
      SpillwayStats stats = spillway.statsAsync().toCompletableFuture().get();
      assertThat(maxMapped).as("mapped memory stays within the budget plus its slack")
          .isLessThanOrEqualTo(BUDGET + BUDGET / 8);
      assertThat(stats.allocator().spill().spills()).as("the cold spilled").isGreaterThan(blocks / 2);
      assertThat(stats.allocator().spill().restores()).as("and came back on access").isPositive();
      for (int i = 0; i < blocks; i++) {
        check(m, h[i], i, version[i]);
        maxMapped = Math.max(maxMapped, m.control().mappedBytes());
      }
      assertThat(maxMapped).isLessThanOrEqualTo(BUDGET + BUDGET / 8);
      for (long x : h) {
        m.free(x);
      }
      assertThat(spillway.statsAsync().toCompletableFuture().get().allocator().blocksInUse()).isZero();
    }
  }

  @Test
  void whenNothingCanSpillAllocationWaitsThenFailsWithOutOfBudget() {
    try (Spillway spillway = start(", control.allocate-timeout = 300 ms")) {
      BlockAllocator m = spillway.memory();
      List<Long> pinned = new ArrayList<>();
      OutOfBudgetException out = null;
      long start = 0;
      try {
        for (int i = 0; i < 10_000; i++) {
          long h = m.allocate(64 << 10);
          m.pin(h); // a pinned block never spills
          pinned.add(h);
          start = System.nanoTime();
        }
      } catch (OutOfBudgetException e) {
        out = e;
      }
      assertThat(out).isNotNull();
      assertThat(System.nanoTime() - start).as("it waited for room first").isGreaterThan(250_000_000L);
      assertThat(out).hasMessageContaining("OutOfBudget").hasMessageContaining("spillway.control.budget")
          .hasMessageContaining("allocate-timeout");
      assertThat(out.size()).isEqualTo(64 << 10);
      assertThat(m.control().mappedBytes()).isLessThanOrEqualTo(BUDGET);
      for (long h : pinned) {
        m.unpin(h);
        m.free(h);
      }
      long h = m.allocate(64 << 10); // room again
      m.free(h);
    }
    assertThatThrownBy(() -> { throw new OutOfBudgetException(1, 2, 3, java.time.Duration.ZERO, null); })
        .hasMessageContaining("1 bytes");
  }

  /**
   * Sizes from 1 B to 64 KiB (about 36 size classes, each holding at least one slab while it has a
   * block) at 3x a 16 MiB budget: the budget is held by free slots of partly used slabs long before it
   * is held by live bytes, so the control plane must empty whole slabs to make room. Every allocation
   * succeeds and every block reads back.
   */
  @org.junit.jupiter.api.Timeout(value = 3, unit = java.util.concurrent.TimeUnit.MINUTES)
  @Test
  void mixedSizesAtThreeTimesASmallBudgetAllFitAndReadBack() throws Exception {
    try (Spillway spillway = Spillway.create(ConfigFactory.parseString("spillway { tier.directories = [\""
        + tmp.toAbsolutePath() + "\"], tier.durability = none, control.budget = 16 MiB }"))) {
      BlockAllocator m = spillway.memory();
      SplittableRandom random = new SplittableRandom(9);
      List<long[]> blocks = new ArrayList<>(); // handle, size, seed
      long total = 0;
      while (total < 3 * (16L << 20)) {
        int size = 1 + random.nextInt(64 << 10);
        long seed = random.nextLong();
        long h = m.allocate(size);
        m.write(h, 0, TestBytes.random(seed, size), 0, size);
        blocks.add(new long[] {h, size, seed});
        total += size;
        assertThat(m.control().mappedBytes()).isLessThanOrEqualTo((16L << 20) + (1L << 20)); // budget + slack
      }
      for (long[] b : blocks) {
        byte[] got = new byte[(int) b[1]];
        try {
          m.read(b[0], 0, got, 0, got.length);
        } catch (RuntimeException e) {
          var st = m.stats();
          StringBuilder sb = new StringBuilder("mapped " + m.control().mappedBytes() + " live " + st.requestedBytes() + " " + st.spill());
          for (var p : st.pools()) {
            sb.append("\n").append(p.name()).append(" slabs=").append(p.slabs()).append(" cap=").append(p.capacityBlocks())
                .append(" inUse=").append(p.blocksInUse()).append(" cached=").append(p.cachedBlocks());
          }
          throw new AssertionError(sb.toString(), e);
        }
        assertThat(got).as("block of %d bytes", b[1]).isEqualTo(TestBytes.random(b[2], (int) b[1]));
        m.free(b[0]);
      }
    }
  }
}
