package dev.spillway;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The tick's split of accesses into RAM hits and misses, under every order a tick can see the totals in. */
class MissAttributionTest {

  @Test
  void aRestoreSeenBeforeItsAccessIsAttributedWhenTheAccessArrives() {
    MissAttribution m = new MissAttribution();
    assertThat(m.next(1, 0, 0)).containsExactly(1, 0); // a put served from RAM
    assertThat(m.next(1, 1, 0)).as("restore done, its access not counted yet").containsExactly(0, 0);
    assertThat(m.next(2, 1, 0)).as("the access arrives").containsExactly(0, 1);
    assertThat(m.next(4, 1, 0)).containsExactly(2, 0);
  }

  @Test
  void prefetchesAreNoAccessesMisses() {
    MissAttribution m = new MissAttribution();
    assertThat(m.next(0, 1, 1)).containsExactly(0, 0);
    assertThat(m.next(2, 1, 1)).as("the prefetched block then served from RAM").containsExactly(2, 0);
    assertThat(m.next(3, 2, 1)).containsExactly(0, 1);
  }

  /** A prefetch counted before its restore is done, and taken back when there was none. */
  @Test
  void aPrefetchTakenBackLeavesNothingBehind() {
    MissAttribution m = new MissAttribution();
    assertThat(m.next(0, 0, 1)).containsExactly(0, 0);
    assertThat(m.next(1, 1, 0)).as("prefetch withdrawn; the access restored").containsExactly(0, 1);
  }

  /**
   * Random runs of accesses (some restoring) and prefetches, with ticks at random points that read
   * the totals in the facade's order: whatever the interleaving, at rest the sums are the truth.
   */
  @Test
  void atRestTheTotalsAreExactWhateverTheTicksSaw() {
    for (int seed = 0; seed < 200; seed++) {
      SplittableRandom r = new SplittableRandom(seed);
      MissAttribution m = new MissAttribution();
      long accesses = 0;
      long restores = 0;
      long prefetched = 0;
      long trueMisses = 0;
      long ram = 0;
      long missed = 0;
      boolean accessPending = false; // a restore done whose access is not counted yet
      for (int step = 0; step < 500; step++) {
        switch (r.nextInt(5)) {
          case 0 -> { // an access that restores: restore first, count later
            if (!accessPending) {
              restores++;
              trueMisses++;
              accessPending = true;
            }
          }
          case 1 -> {
            if (accessPending) {
              accesses++;
              accessPending = false;
            }
          }
          case 2 -> accesses++; // served from RAM
          case 3 -> { // a prefetch: counted, then restored
            prefetched++;
            restores++;
          }
          default -> {
            long[] split = m.next(accesses, restores, prefetched);
            assertThat(split[0]).isNotNegative();
            assertThat(split[1]).isNotNegative();
            ram += split[0];
            missed += split[1];
            assertThat(missed).as("never more misses than happened").isLessThanOrEqualTo(trueMisses);
          }
        }
      }
      if (accessPending) {
        accesses++;
      }
      long[] split = m.next(accesses, restores, prefetched);
      ram += split[0];
      missed += split[1];
      assertThat(missed).as("seed %d: misses", seed).isEqualTo(trueMisses);
      assertThat(ram).as("seed %d: from RAM", seed).isEqualTo(accesses - trueMisses);
    }
  }
}
