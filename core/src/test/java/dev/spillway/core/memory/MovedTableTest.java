package dev.spillway.core.memory;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.LongPredicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link MovedTable} alone: each operation and its edge cases (a key taken once, removal of the given
 * block only, replacement, the per-stripe version, stripes that grow and shrink through long probe
 * runs with backward-shift deletion, slack bits that are not part of a key), and interleavings of two
 * threads driven step by step: a lookup that missed with an unchanged version really missed, and
 * {@link MovedTable#forEach} holds no stripe lock while it calls its action. The race that made a
 * lookup miss a present entry ({@code size} counted outside the stripe locks) needs a thread to stop
 * between a stripe's unlock and the count, which only a scheduler controls: {@link
 * MovedTableLincheckTest} finds it by model checking, and {@link MemoryConcurrencyStressTest}
 * hammers it.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class MovedTableTest {

  private final MovedTable table = new MovedTable();
  private final ExecutorService pool = Executors.newFixedThreadPool(2);

  @AfterEach
  void stopThreads() throws InterruptedException {
    pool.shutdownNow();
    assertThat(pool.awaitTermination(30, TimeUnit.SECONDS)).as("test threads ended").isTrue();
  }

  /** A block whose handle has generation {@code gen} and names {@code slot} of slab {@code slab}. */
  static MovedBlock block(int gen, int slab, int slot) {
    return new MovedBlock(Handles.make(gen, 0, slab, slot), null, 8);
  }

  static int stripeOf(long key) {
    return (int) (MovedTable.mix(key) >>> 58);
  }

  /** The first {@code n} keys (generation 1, slot varying) that {@code accept} takes, as blocks. */
  static List<MovedBlock> blocks(int n, LongPredicate accept) {
    List<MovedBlock> out = new ArrayList<>();
    for (int i = 0; out.size() < n; i++) {
      MovedBlock b = block(1 + 2 * (i >>> 15), 3, i & (Handles.MAX_SLOTS - 1));
      if (accept.test(b.key())) {
        out.add(b);
      }
    }
    return out;
  }

  @Test
  void anEmptyTableHoldsNothing() {
    MovedBlock b = block(1, 0, 0);
    assertThat(table.size()).isZero();
    assertThat(table.get(b.key())).isNull();
    assertThat(table.remove(b)).isFalse();
    assertThat(table.size()).as("a failed remove counts nothing").isZero();
    assertThat(table.version(b.key())).isZero();
    List<MovedBlock> seen = new ArrayList<>();
    table.forEach(seen::add);
    assertThat(seen).isEmpty();
  }

  @Test
  void addGetAndRemoveOneBlock() {
    MovedBlock b = block(5, 7, 9);
    assertThat(table.add(b)).isTrue();
    assertThat(table.size()).isEqualTo(1);
    assertThat(table.get(b.key())).isSameAs(b);
    assertThat(table.get(block(7, 7, 9).key())).as("another generation of the slot").isNull();
    assertThat(table.get(block(5, 7, 10).key())).as("another slot").isNull();
    assertThat(table.remove(b)).isTrue();
    assertThat(table.size()).isZero();
    assertThat(table.get(b.key())).isNull();
    assertThat(table.remove(b)).as("removed once").isFalse();
  }

  @Test
  void aKeyIsTakenByTheFirstAddOnly() {
    MovedBlock first = block(3, 1, 1);
    MovedBlock second = block(3, 1, 1);
    assertThat(table.add(first)).isTrue();
    long version = table.version(first.key());
    assertThat(table.add(second)).isFalse();
    assertThat(table.get(first.key())).isSameAs(first);
    assertThat(table.size()).isEqualTo(1);
    assertThat(table.version(first.key())).as("a refused add changes nothing").isEqualTo(version);
  }

  /** Small blocks may be spilled through a reference without slack: the key leaves slack out. */
  @Test
  void theSlackBitsAreNotPartOfTheKey() {
    long withSlack = Handles.make(9, 100, 2, 3);
    long without = Handles.make(9, 0, 2, 3);
    assertThat(MovedBlock.keyOf(withSlack)).isEqualTo(MovedBlock.keyOf(without));
    MovedBlock b = new MovedBlock(withSlack, null, 8);
    assertThat(table.add(b)).isTrue();
    assertThat(table.get(MovedBlock.keyOf(without))).isSameAs(b);
    assertThat(table.add(new MovedBlock(without, null, 8))).isFalse();
  }

  @Test
  void removeTakesOutOnlyTheGivenBlock() {
    MovedBlock in = block(1, 4, 4);
    MovedBlock sameKey = block(1, 4, 4);
    assertThat(table.add(in)).isTrue();
    long version = table.version(in.key());
    assertThat(table.remove(sameKey)).as("another block of the same key").isFalse();
    assertThat(table.remove(in.key(), null)).as("null is never an entry").isFalse();
    assertThat(table.get(in.key())).isSameAs(in);
    assertThat(table.size()).isEqualTo(1);
    assertThat(table.version(in.key())).as("failed removes change nothing").isEqualTo(version);
    assertThat(table.remove(in.key(), in)).isTrue();
    assertThat(table.size()).isZero();
  }

  @Test
  void putReplacesAnEntryAndCountsANewKeyOnce() {
    MovedBlock a = block(11, 6, 2);
    MovedBlock b = block(11, 6, 2);
    long key = a.key();
    table.put(key, a);
    assertThat(table.size()).isEqualTo(1);
    table.put(key, b);
    assertThat(table.size()).as("a replacement adds no entry").isEqualTo(1);
    assertThat(table.get(key)).isSameAs(b);
    assertThat(table.remove(key, a)).as("the replaced block is no entry any more").isFalse();
    assertThat(table.remove(key, b)).isTrue();
    assertThat(table.size()).isZero();
    // put also works under a key other than the block's own (the forwarding index does that)
    table.put(block(1, 0, 0).key(), a);
    assertThat(table.get(block(1, 0, 0).key())).isSameAs(a);
    assertThat(table.get(key)).isNull();
  }

  /**
   * The slow paths rely on the version of a key's stripe: every add, remove and replacement in the
   * stripe counts, nothing in other stripes does.
   */
  @Test
  void theVersionCountsEveryChangeOfItsStripeAndNoOther() {
    MovedBlock probe = block(1, 9, 0);
    int stripe = stripeOf(probe.key());
    List<MovedBlock> same = blocks(2, k -> stripeOf(k) == stripe && k != probe.key());
    List<MovedBlock> other = blocks(1, k -> stripeOf(k) != stripe);
    long v0 = table.version(probe.key());
    assertThat(table.add(same.get(0))).isTrue();
    assertThat(table.version(probe.key())).isEqualTo(v0 + 1);
    table.put(same.get(0).key(), same.get(1)); // replacement
    assertThat(table.version(probe.key())).isEqualTo(v0 + 2);
    assertThat(table.remove(same.get(0).key(), same.get(1))).isTrue();
    assertThat(table.version(probe.key())).isEqualTo(v0 + 3);
    assertThat(table.add(other.get(0))).isTrue();
    assertThat(table.remove(other.get(0))).isTrue();
    assertThat(table.version(probe.key())).as("changes of another stripe").isEqualTo(v0 + 3);
  }

  /**
   * Hundreds of keys in one stripe, many with the same home slot: the stripe grows past half full,
   * and removals in random order pull later entries of each probe run back (backward shift) and
   * shrink it again; every entry stays findable, and removed ones stay gone.
   */
  @Test
  void oneStripeGrowsAndShrinksAndKeepsEveryEntryFindable() {
    int stripe = 17;
    // Half of them share home slot 0 of the stripe's smallest table: long runs that wrap around.
    List<MovedBlock> run = blocks(150, k -> stripeOf(k) == stripe && (MovedTable.mix(k) & 15) == 0);
    List<MovedBlock> spread = blocks(150, k -> stripeOf(k) == stripe && (MovedTable.mix(k) & 15) != 0);
    List<MovedBlock> all = new ArrayList<>(run);
    all.addAll(spread);
    SplittableRandom r = new SplittableRandom(42);
    shuffle(all, r);
    Map<Long, MovedBlock> model = new HashMap<>();
    for (MovedBlock b : all) {
      assertThat(table.add(b)).isTrue();
      model.put(b.key(), b);
    }
    assertThat(table.size()).isEqualTo(all.size());
    for (int round = 0; round < 3; round++) {
      shuffle(all, r);
      for (MovedBlock b : all) {
        if (model.containsKey(b.key())) {
          assertThat(table.remove(b)).isTrue();
          model.remove(b.key());
        } else {
          assertThat(table.add(b)).isTrue();
          model.put(b.key(), b);
        }
        if (r.nextInt(8) == 0) {
          for (MovedBlock c : all) {
            assertThat(table.get(c.key())).as("key %x", c.key()).isSameAs(model.get(c.key()));
          }
        }
      }
      assertThat(table.size()).isEqualTo(model.size());
    }
    for (MovedBlock b : all) {
      assertThat(table.get(b.key())).isSameAs(model.get(b.key()));
    }
  }

  /** Random operations on a few hundred keys over all stripes agree with a map, forEach included. */
  @Test
  void randomOperationsAgreeWithAMap() {
    SplittableRandom r = new SplittableRandom(7);
    MovedBlock[][] blocks = new MovedBlock[400][2];
    for (int k = 0; k < blocks.length; k++) {
      blocks[k][0] = block(1 + 2 * (k % 5), k % 13, k);
      blocks[k][1] = block(1 + 2 * (k % 5), k % 13, k);
    }
    Map<Long, MovedBlock> model = new HashMap<>();
    for (int i = 0; i < 200_000; i++) {
      MovedBlock b = blocks[r.nextInt(blocks.length)][r.nextInt(2)];
      long key = b.key();
      switch (r.nextInt(4)) {
        case 0 -> assertThat(table.add(b)).isEqualTo(model.putIfAbsent(key, b) == null);
        case 1 -> assertThat(table.remove(b)).isEqualTo(model.remove(key, b));
        case 2 -> {
          table.put(key, b);
          model.put(key, b);
        }
        default -> assertThat(table.get(key)).isSameAs(model.get(key));
      }
      assertThat(table.size()).isEqualTo(model.size());
    }
    IdentityHashMap<MovedBlock, Integer> seen = new IdentityHashMap<>();
    table.forEach(b -> seen.merge(b, 1, Integer::sum));
    assertThat(seen.keySet()).containsExactlyInAnyOrderElementsOf(model.values());
    assertThat(seen.values()).as("each entry once").allMatch(n -> n == 1);
  }

  /**
   * The slow path's argument: a lookup that missed, bracketed by two reads of the key's version that
   * agree, missed an absent key. Here a second thread adds and removes the key between the two
   * reads, so the lookup missed only because it came after the removal: the version tells.
   */
  @Test
  void aMissBetweenEqualVersionsWasARealMissAndAChangeShowsInTheVersion() throws Exception {
    MovedBlock b = block(3, 2, 1);
    CountDownLatch firstRead = new CountDownLatch(1);
    CountDownLatch changed = new CountDownLatch(1);
    Future<?> writer = pool.submit(() -> {
      await(firstRead);
      assertThat(table.add(b)).isTrue();
      assertThat(table.remove(b)).isTrue();
      changed.countDown();
      return null;
    });
    long before = table.version(b.key());
    assertThat(table.get(b.key())).isNull();
    assertThat(table.version(b.key())).as("nothing happened: a real miss").isEqualTo(before);
    firstRead.countDown();
    await(changed);
    assertThat(table.get(b.key())).isNull();
    assertThat(table.version(b.key())).as("the entry came and went between the looks").isNotEqualTo(before);
    writer.get(30, TimeUnit.SECONDS);
  }

  /**
   * {@link MovedTable#forEach} copies a stripe under its lock and calls the action outside it: an
   * action that waits for another thread changing the very same stripe must not deadlock, and it
   * sees the copy (entries removed meanwhile may still be reported, entries added may not be).
   */
  @Test
  void forEachHoldsNoStripeLockWhileItCallsItsAction() throws Exception {
    int stripe = 5;
    List<MovedBlock> same = blocks(3, k -> stripeOf(k) == stripe);
    assertThat(table.add(same.get(0))).isTrue();
    assertThat(table.add(same.get(1))).isTrue();
    CountDownLatch inAction = new CountDownLatch(1);
    CountDownLatch changed = new CountDownLatch(1);
    Future<?> changer = pool.submit(() -> {
      await(inAction);
      // The same stripe as the entry forEach is reporting: blocks if forEach held its lock.
      assertThat(table.remove(same.get(1))).isTrue();
      assertThat(table.add(same.get(2))).isTrue();
      assertThat(table.remove(same.get(0))).isTrue();
      changed.countDown();
      return null;
    });
    List<MovedBlock> seen = new ArrayList<>();
    table.forEach(b -> {
      if (seen.isEmpty()) {
        inAction.countDown();
        await(changed);
      }
      seen.add(b);
    });
    changer.get(30, TimeUnit.SECONDS);
    assertThat(seen).as("the copy taken before the changes").containsExactlyInAnyOrder(same.get(0), same.get(1));
    assertThat(table.size()).isEqualTo(1);
    assertThat(table.get(same.get(2).key())).isSameAs(same.get(2));
  }

  /**
   * Two threads, each owning its own keys, change the table step by step in lockstep on the same
   * stripes; after each step both see the other's completed changes (a completed add is visible to
   * a lookup from any thread, a completed remove too), and the count stays exact.
   */
  @Test
  void changesOfOneThreadAreSeenByTheOtherOnceComplete() throws Exception {
    int stripe = 33;
    List<MovedBlock> keys = blocks(40, k -> stripeOf(k) == stripe);
    List<MovedBlock> mine = keys.subList(0, 20);
    List<MovedBlock> theirs = keys.subList(20, 40);
    java.util.concurrent.CyclicBarrier step = new java.util.concurrent.CyclicBarrier(2);
    Future<?> other = pool.submit(() -> {
      for (int i = 0; i < 20; i++) {
        assertThat(table.add(theirs.get(i))).isTrue();
        step.await(30, TimeUnit.SECONDS); // 1: both added their i-th
        assertThat(table.get(mine.get(i).key())).isSameAs(mine.get(i));
        step.await(30, TimeUnit.SECONDS); // 2: both looked
        if (i % 2 == 1) {
          assertThat(table.remove(theirs.get(i - 1))).isTrue();
        }
        step.await(30, TimeUnit.SECONDS); // 3: both removed
        if (i % 2 == 1) {
          assertThat(table.get(mine.get(i - 1).key())).isNull();
        }
        step.await(30, TimeUnit.SECONDS); // 4: both looked
      }
      return null;
    });
    for (int i = 0; i < 20; i++) {
      assertThat(table.add(mine.get(i))).isTrue();
      step.await(30, TimeUnit.SECONDS);
      assertThat(table.get(theirs.get(i).key())).isSameAs(theirs.get(i));
      step.await(30, TimeUnit.SECONDS);
      if (i % 2 == 1) {
        assertThat(table.remove(mine.get(i - 1))).isTrue();
      }
      step.await(30, TimeUnit.SECONDS);
      if (i % 2 == 1) {
        assertThat(table.get(theirs.get(i - 1).key())).isNull();
      }
      assertThat(table.size()).isEqualTo(2 * (i + 1) - 2 * ((i + 1) / 2));
      step.await(30, TimeUnit.SECONDS);
    }
    other.get(30, TimeUnit.SECONDS);
  }

  private static void shuffle(List<MovedBlock> list, SplittableRandom r) {
    for (int i = list.size() - 1; i > 0; i--) {
      int j = r.nextInt(i + 1);
      MovedBlock t = list.get(i);
      list.set(i, list.get(j));
      list.set(j, t);
    }
  }

  static void await(CountDownLatch latch) {
    try {
      assertThat(latch.await(30, TimeUnit.SECONDS)).as("the other thread's step").isTrue();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
