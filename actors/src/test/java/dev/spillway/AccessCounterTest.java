package dev.spillway;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The facade's access counter: exact per thread, a close lower bound when threads share a cell. */
class AccessCounterTest {

  @Test
  void countsEveryIncrementOfOneThread() {
    AccessCounter c = new AccessCounter();
    assertThat(c.sum()).isZero();
    for (int i = 0; i < 1_000_000; i++) {
      c.increment();
    }
    assertThat(c.sum()).isEqualTo(1_000_000);
  }

  /** Both cores hard: threads in cells of their own lose nothing; a shared cell loses at most what it races. */
  @Test
  void threadsOfTheirOwnCellsLoseNothingUnderBothCores() throws Exception {
    AccessCounter c = new AccessCounter();
    int perThread = 5_000_000;
    Thread[] threads = new Thread[2];
    for (int t = 0; t < threads.length; t++) {
      threads[t] = Thread.ofPlatform().unstarted(() -> {
        for (int i = 0; i < perThread; i++) {
          c.increment();
        }
      });
    }
    boolean ownCells = ((threads[0].threadId() ^ threads[1].threadId()) & 31) != 0;
    for (Thread t : threads) {
      t.start();
    }
    long seen = 0;
    while (threads[0].isAlive() || threads[1].isAlive()) {
      long now = c.sum();
      if (ownCells) {
        assertThat(now).as("a reader's sums never go back").isGreaterThanOrEqualTo(seen);
      }
      seen = now;
    }
    for (Thread t : threads) {
      t.join();
    }
    long sum = c.sum();
    if (ownCells) {
      assertThat(sum).isEqualTo(2L * perThread);
    } else {
      assertThat(sum).isBetween((long) perThread, 2L * perThread);
    }
  }
}
