package dev.spillway.core.memory;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Both cores busy for a few seconds on the concurrent pieces, checked against models:
 *
 * <ul>
 *   <li>{@link MovedTable}: each of two threads owns its keys (spread over all stripes, sharing
 *       them with the other's) and checks every add, remove, put and get against a map of its own,
 *       while keeping one key in for good; a third thread looks those up all the time and must
 *       always find them (the lookup that read the entry count as 0 while an add was not counted
 *       yet, or a remove already was, missed them).
 *   <li>{@link WriteGate}: writers, platform and virtual threads (those share striped marks), store
 *       a stamp across a whole block whenever its generation is live; a mover freezes it, waits out
 *       the writers, and then must find the block untorn and unchanging until it thaws it again: no
 *       write may overlap a completed awaitWriters window.
 * </ul>
 *
 * The runs are bounded by time, not by a count, and nothing is asserted about timing. These are
 * guards against regressions under load, not the proofs of the bugs fixed in these classes: on two
 * cores neither old bug showed within the runs (each needs a thread descheduled inside a window of
 * a few instructions), which {@link MovedTableLincheckTest} and {@link WriteGateTest} force.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class MemoryConcurrencyStressTest {
  private static final long RUN_NANOS = 2_000_000_000L;

  /**
   * Runs each of {@code workers} on a thread of its own (virtual where {@code virtual[i]}) until they
   * return; rethrows the first failure.
   */
  private static void race(List<Runnable> workers, boolean... virtual) throws InterruptedException {
    AtomicReference<Throwable> failure = new AtomicReference<>();
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < workers.size(); i++) {
      Runnable w = workers.get(i);
      Runnable body = () -> {
        try {
          w.run();
        } catch (Throwable e) {
          synchronized (failure) {
            if (!failure.compareAndSet(null, e)) {
              failure.get().addSuppressed(e);
            }
          }
        }
      };
      boolean v = i < virtual.length && virtual[i];
      threads.add(v ? Thread.ofVirtual().start(body) : Thread.ofPlatform().start(body));
    }
    for (Thread t : threads) {
      assertThat(t.join(java.time.Duration.ofSeconds(60))).as("worker %s ended", t).isTrue();
    }
    if (failure.get() != null) {
      throw new AssertionError("a worker failed", failure.get());
    }
  }

  @Test
  void movedTableAgreesWithEachOwnersModelAndNeverHidesAnEntry() throws Exception {
    MovedTable table = new MovedTable();
    int owners = 2;
    int keysEach = 512;
    // Owner o's keys: slab o + 1, slots 0..keysEach-1, across every stripe.
    MovedBlock[][][] blocks = new MovedBlock[owners][keysEach][2];
    MovedBlock[] permanent = new MovedBlock[owners];
    for (int o = 0; o < owners; o++) {
      for (int k = 0; k < keysEach; k++) {
        blocks[o][k][0] = MovedTableTest.block(1, o + 1, k);
        blocks[o][k][1] = MovedTableTest.block(1, o + 1, k);
      }
      permanent[o] = MovedTableTest.block(3, o + 1, 0);
      assertThat(table.add(permanent[o])).isTrue();
    }
    long deadline = System.nanoTime() + RUN_NANOS;
    AtomicBoolean ownersDone = new AtomicBoolean();
    AtomicInteger ownersLeft = new AtomicInteger(owners);
    AtomicLong lookups = new AtomicLong();
    List<Map<Long, MovedBlock>> models = new ArrayList<>();
    List<Runnable> workers = new ArrayList<>();
    for (int o = 0; o < owners; o++) {
      int me = o;
      Map<Long, MovedBlock> model = new HashMap<>();
      model.put(permanent[me].key(), permanent[me]);
      models.add(model);
      workers.add(() -> {
        SplittableRandom r = new SplittableRandom(me);
        try {
          while (System.nanoTime() < deadline) {
            for (int i = 0; i < 1_000; i++) {
              MovedBlock b = blocks[me][r.nextInt(keysEach)][r.nextInt(2)];
              long key = b.key();
              switch (r.nextInt(8)) {
                case 0, 1, 2 -> assertThat(table.add(b)).as("add").isEqualTo(model.putIfAbsent(key, b) == null);
                case 3, 4, 5 -> assertThat(table.remove(b)).as("remove").isEqualTo(model.remove(key, b));
                case 6 -> {
                  table.put(key, b);
                  model.put(key, b);
                }
                default -> assertThat(table.get(key)).as("get").isSameAs(model.get(key));
              }
            }
          }
        } finally {
          if (ownersLeft.decrementAndGet() == 0) {
            ownersDone.set(true);
          }
        }
      });
    }
    workers.add(() -> {
      // Until the owners are done: the permanent entries (the owners never touch their keys) are
      // found every time, whatever the owners' other keys do to the count.
      while (!ownersDone.get()) {
        for (MovedBlock p : permanent) {
          assertThat(table.get(p.key())).as("an entry present all along").isSameAs(p);
        }
        lookups.incrementAndGet();
      }
    });
    race(workers);
    assertThat(lookups.get()).as("the reader ran").isPositive();
    int expected = models.stream().mapToInt(Map::size).sum();
    assertThat(table.size()).isEqualTo(expected);
    IdentityHashMap<MovedBlock, Boolean> seen = new IdentityHashMap<>();
    table.forEach(b -> assertThat(seen.put(b, Boolean.TRUE)).as("each entry once").isNull());
    List<MovedBlock> all = new ArrayList<>();
    models.forEach(m -> all.addAll(m.values()));
    assertThat(seen.keySet()).containsExactlyInAnyOrderElementsOf(all);
  }

  /**
   * The churning threads look the permanent entries up themselves, between their own adds and
   * removes of other keys (an add by one thread is often removed by the other): the narrowest
   * windows of the old count, where it had just been decremented past an add not yet counted.
   */
  @Test
  void anEntryAddedBeforeTheChurnIsNeverMissedWhileOtherKeysComeAndGo() throws Exception {
    MovedTable table = new MovedTable();
    MovedBlock[] permanent = new MovedBlock[64];
    for (int i = 0; i < permanent.length; i++) {
      permanent[i] = MovedTableTest.block(5, 9, i);
      assertThat(table.add(permanent[i])).isTrue();
    }
    long deadline = System.nanoTime() + RUN_NANOS;
    AtomicLong misses = new AtomicLong();
    List<Runnable> workers = new ArrayList<>();
    for (int t = 0; t < 2; t++) {
      int me = t;
      workers.add(() -> {
        // Adds and removes of other keys (an add by one thread, its remove by the other, too):
        // the count moves up and down all the time.
        MovedBlock[] churn = new MovedBlock[256];
        for (int i = 0; i < churn.length; i++) {
          churn[i] = MovedTableTest.block(7, 11, i);
        }
        SplittableRandom r = new SplittableRandom(me);
        while (System.nanoTime() < deadline) {
          MovedBlock b = churn[r.nextInt(churn.length)];
          if (r.nextBoolean()) {
            table.add(b);
          } else {
            table.remove(b);
          }
          MovedBlock p = permanent[r.nextInt(permanent.length)];
          if (table.get(p.key()) != p) {
            misses.incrementAndGet();
          }
        }
      });
    }
    race(workers);
    assertThat(misses.get()).as("lookups that missed an entry present all along").isZero();
    for (MovedBlock p : permanent) {
      assertThat(table.get(p.key())).isSameAs(p);
    }
  }

  @Test
  void noWriteOverlapsACompletedAwaitWritersWindow() throws Exception {
    WriteGate gate = new WriteGate();
    AtomicInteger generation = new AtomicInteger(1);
    long[] block = new long[64];
    long deadline = System.nanoTime() + RUN_NANOS;
    AtomicBoolean stop = new AtomicBoolean();
    AtomicLong windows = new AtomicLong();
    AtomicLong writes = new AtomicLong();
    AtomicReference<String> violation = new AtomicReference<>();
    List<Runnable> writers = new ArrayList<>();
    for (int w = 0; w < 32; w++) {
      int id = w + 1;
      writers.add(() -> {
        long stamp = (long) id << 40;
        long done = 0;
        while (!stop.get()) {
          WriteGate.Mark m = gate.mark();
          m.enter();
          try {
            if ((generation.get() & 1) == 1) { // live: the write goes in
              stamp++;
              for (int i = 0; i < block.length; i++) {
                block[i] = stamp;
              }
              done++;
            }
          } finally {
            m.exit();
          }
          if ((done & 63) == 0) {
            yieldCarrier(); // let the other virtual threads of the carrier in
          }
        }
        writes.addAndGet(done);
      });
    }
    Runnable mover = () -> {
      try {
        while (System.nanoTime() < deadline && violation.get() == null) {
          int gen = generation.get();
          assertThat(generation.compareAndSet(gen, gen + 1)).as("only the mover changes it").isTrue();
          gate.awaitWriters();
          // The copy a spill would take; writers racing each other before the freeze may have left
          // it mixed, but from here to the thaw nothing may change it.
          long[] copy = block.clone();
          for (int look = 0; look < 4; look++) {
            for (int i = 0; i < block.length; i++) {
              if (block[i] != copy[i]) {
                violation.compareAndSet(null, "window " + windows.get() + ", look " + look + ": cell " + i
                    + " changed from " + Long.toHexString(copy[i]) + " to " + Long.toHexString(block[i]));
              }
            }
          }
          windows.incrementAndGet();
          generation.set(gen + 2); // thaw: live again, at a new generation
        }
      } finally {
        stop.set(true);
      }
    };
    // The mover and two writers on platform threads (marks of their own), thirty writers on
    // virtual threads (sharing the sixteen striped marks, two to a stripe).
    List<Runnable> all = new ArrayList<>();
    all.add(mover);
    all.addAll(writers);
    boolean[] virtual = new boolean[all.size()];
    for (int i = 3; i < virtual.length; i++) {
      virtual[i] = true;
    }
    race(all, virtual);
    assertThat(violation.get()).as("a write landed inside a window awaitWriters had closed").isNull();
    assertThat(windows.get()).as("windows").isPositive();
    assertThat(writes.get()).as("writes").isPositive();
  }

  /**
   * A virtual thread gives its carrier to the others: without it, a writer that never blocks would keep
   * the carrier to itself and starve the rest of the stripe.
   */
  @SuppressWarnings("ThreadPriorityCheck") // deliberate: virtual threads are only scheduled at yields
  private static void yieldCarrier() {
    Thread.yield();
  }
}
