package dev.spillway.map.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.spillway.map.policy.PolicyTesting.Rows;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * W-TinyLFU's own behaviour: the shares, admission (a frequent key survives a scan that LRU does
 * not; a one-hit key does not displace a hot one), the hash-flooding coin, weights, the order of
 * forEachColdest, clear, and hill climbing towards a larger window on a recency-biased trace.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class WTinyLfuPolicyTest {

  /** Keys through a policy as the map drives it: a hit reads, a miss inserts and evicts while over the maximum. */
  static final class Cache {
    final ReplacementPolicy policy;
    final Rows rows = new Rows();
    final List<Integer> evicted = new ArrayList<>();

    Cache(ReplacementPolicy policy, long maximum) {
      this.policy = policy;
      policy.setMaximum(maximum);
    }

    /** Reads {@code key}; whether it was a hit. */
    boolean get(int key) {
      return put(key, 1, false);
    }

    /** Reads {@code key} (a miss inserts it with {@code weight}), or writes it when {@code write}. */
    boolean put(int key, long weight, boolean write) {
      Integer row = rows.rowOf(key);
      if (row != null) {
        if (write) {
          policy.onUpdate(row, hash(key), weight);
          evict();
        } else {
          policy.onAccess(row, hash(key));
        }
        return true;
      }
      int r = rows.assign(key, policy);
      policy.onInsert(r, hash(key), weight);
      evict();
      return false;
    }

    private void evict() {
      while (policy.weightedSize() > policy.maximum()) {
        int victim = policy.victim();
        evicted.add(rows.keyOf(victim));
        policy.onRemove(victim);
        rows.release(victim);
      }
    }

    boolean has(int key) {
      return rows.rowOf(key) != null;
    }

    int rowOf(int key) {
      return rows.rowOf(key);
    }

    static long hash(int key) {
      return key * 0x9E37_79B9_7F4A_7C15L + 12345;
    }
  }

  @Test
  void theWindowStartsAtOnePercentAndProtectedAtEightyPercentOfMain() {
    WTinyLfuPolicy policy = new WTinyLfuPolicy(1);
    policy.setMaximum(1000);
    assertThat(policy.windowMaximum()).isEqualTo(10);
    assertThat(policy.protectedMaximum()).isEqualTo(792);
    policy.setMaximum(65_536);
    assertThat(policy.windowMaximum()).isEqualTo(656);
    assertThat(policy.protectedMaximum()).isEqualTo(51_904);
    policy.setMaximum(1);
    assertThat(policy.windowMaximum()).isEqualTo(1);
    assertThat(policy.protectedMaximum()).isZero();
  }

  @Test
  void frequentKeysSurviveAScanThatFlushesLru() {
    for (ReplacementPolicy policy : List.of(new WTinyLfuPolicy(3), new LruPolicy())) {
      Cache cache = new Cache(policy, 100);
      for (int round = 0; round < 10; round++) {
        for (int hot = 0; hot < 20; hot++) {
          cache.get(hot);
        }
      }
      for (int scan = 1_000; scan < 1_500; scan++) {
        cache.get(scan);
      }
      long survivors = IntStream.range(0, 20).filter(cache::has).count();
      if (policy instanceof WTinyLfuPolicy w) {
        assertThat(survivors).as("hot keys left after a scan of 5 x maximum").isEqualTo(20);
        w.checkInvariants();
      } else {
        assertThat(survivors).as("LRU keeps none").isZero();
      }
    }
  }

  @Test
  void aOneHitKeyDoesNotDisplaceHotOnes() {
    WTinyLfuPolicy policy = new WTinyLfuPolicy(5);
    Cache cache = new Cache(policy, 100);
    for (int round = 0; round < 5; round++) {
      for (int hot = 0; hot < 100; hot++) {
        cache.get(hot);
      }
    }
    assertThat(cache.evicted).isEmpty();
    for (int once = 1_000; once < 1_100; once++) {
      cache.get(once);
      if (once > 1_000) {
        assertThat(cache.evicted.getLast()).as("the previous one-hit key lost its admission").isEqualTo(once - 1);
      }
    }
    // The first round's candidate was the window's hot key, which lost on a tie (ties give up the candidate).
    assertThat(IntStream.range(0, 100).filter(cache::has).count()).isEqualTo(99);
    assertThat(IntStream.range(1_000, 1_100).filter(cache::has).boxed().toList()).containsExactly(1_099);
    policy.checkInvariants();
  }

  @Test
  void aWarmCandidateIsAdmittedAgainstAHotterVictimOnceIn128Tries() {
    int trials = 10_000;
    int warmAdmitted = 0;
    int coldAdmitted = 0;
    for (int trial = 0; trial < trials; trial++) {
      warmAdmitted += admittedAgainstHotVictim(trial, 7) ? 1 : 0;
      coldAdmitted += admittedAgainstHotVictim(trial, 2) ? 1 : 0;
    }
    assertThat(coldAdmitted).as("a cold candidate never wins against a hotter victim").isZero();
    // 1/128 of 10,000 is 78 (standard deviation 8.8).
    assertThat(warmAdmitted).as("warm candidates admitted").isBetween(40, 120);
  }

  /**
   * A maximum of 2 (window 1, protected 0): victim V (frequency 16) alone in probation, candidate C
   * read {@code reads} times in the window, then a new key pushes C out of the window: who goes?
   */
  private static boolean admittedAgainstHotVictim(long seed, int reads) {
    WTinyLfuPolicy policy = new WTinyLfuPolicy(seed);
    Cache cache = new Cache(policy, 2);
    int victim = 1;
    int candidate = 2;
    cache.get(victim);
    for (int i = 0; i < 20; i++) {
      cache.get(victim);
    }
    cache.get(candidate); // pushes V into probation, no eviction: 2 entries
    for (int i = 0; i < reads; i++) {
      cache.get(candidate);
    }
    assertThat(policy.queueOf(cache.rowOf(victim))).isEqualTo(WTinyLfuPolicy.PROBATION);
    assertThat(policy.sketch().frequency(FrequencySketch.keyOf(Cache.hash(victim)))).isEqualTo(16);
    cache.get(3);
    assertThat(cache.evicted).hasSize(1);
    return cache.evicted.getFirst() == victim;
  }

  @Test
  void weightsCountInEveryShare() {
    WTinyLfuPolicy policy = new WTinyLfuPolicy(9);
    Cache cache = new Cache(policy, 1000); // window 10, protected 792
    for (int key = 0; key < 400; key++) {
      cache.put(key, 1 + key % 7, false);
      policy.checkInvariants();
      assertThat(policy.weightedSize()).isLessThanOrEqualTo(1000);
    }
    assertThat(policy.size()).as("entries of 1 to 7 fill 1000 with about 250").isBetween(200, 300);
    // An update that makes a window entry heavier than the window moves it to probation.
    cache.put(6_000, 1, false);
    assertThat(policy.queueOf(cache.rowOf(6_000))).isEqualTo(WTinyLfuPolicy.WINDOW);
    cache.put(6_000, 50, true);
    assertThat(policy.windowWeight()).isLessThanOrEqualTo(policy.windowMaximum());
    policy.checkInvariants();
    // An entry heavier than the maximum is given up as soon as it is a candidate.
    cache.put(7_000, 2_000, false);
    assertThat(cache.has(7_000)).isFalse();
    assertThat(policy.weightedSize()).isLessThanOrEqualTo(1000);
    policy.checkInvariants();
  }

  @Test
  void aReadEntryHeavierThanProtectedsShareStaysInProbation() {
    WTinyLfuPolicy policy = new WTinyLfuPolicy(10);
    Cache cache = new Cache(policy, 1000); // window 10, protected 792
    cache.put(1, 800, false);
    cache.put(2, 1, false); // pushes 1 out of the window into probation; 801 in all, no eviction
    assertThat(policy.queueOf(cache.rowOf(1))).isEqualTo(WTinyLfuPolicy.PROBATION);
    cache.get(1);
    assertThat(policy.queueOf(cache.rowOf(1))).isEqualTo(WTinyLfuPolicy.PROBATION);
    for (int key = 3; key < 14; key++) {
      cache.put(key, 1, false); // the window holds 10: key 2 goes to probation
    }
    assertThat(policy.queueOf(cache.rowOf(2))).isEqualTo(WTinyLfuPolicy.PROBATION);
    cache.get(2); // a light one is promoted
    assertThat(policy.queueOf(cache.rowOf(2))).isEqualTo(WTinyLfuPolicy.PROTECTED);
    assertThat(cache.evicted).isEmpty();
    policy.checkInvariants();
  }

  @Test
  void forEachColdestGivesUpTheOneTimeEntriesBeforeTheProtectedOnes() {
    WTinyLfuPolicy policy = new WTinyLfuPolicy(11);
    Cache cache = new Cache(policy, 100);
    for (int key = 0; key <= 50; key++) {
      cache.get(key);
    }
    for (int round = 0; round < 2; round++) {
      for (int key = 0; key < 50; key++) {
        cache.get(key); // read in probation: protected (read in protected: its newest)
      }
    }
    for (int key = 51; key < 100; key++) {
      cache.get(key);
    }
    assertThat(cache.evicted).isEmpty();
    List<Integer> visited = new ArrayList<>();
    policy.forEachColdest(row -> visited.add(cache.rows.keyOf(row)));
    assertThat(visited).hasSize(100).doesNotHaveDuplicates();
    assertThat(visited.subList(0, 50)).as("one-time entries first").allMatch(k -> k >= 50);
    assertThat(visited.subList(50, 100)).as("then protected, least recently used first")
        .isEqualTo(IntStream.range(0, 50).boxed().toList());
    assertThat(cache.rows.keyOf(policy.victim())).isEqualTo(visited.getFirst());
    policy.checkInvariants();
  }

  @Test
  void clearForgetsEntriesHistoryAndAdaptation() {
    WTinyLfuPolicy policy = new WTinyLfuPolicy(13);
    Cache cache = new Cache(policy, 50);
    SplittableRandom random = new SplittableRandom(13);
    for (int i = 0; i < 20_000; i++) {
      cache.get(random.nextInt(200));
    }
    int hot = 0;
    assertThat(policy.sketch().frequency(FrequencySketch.keyOf(Cache.hash(hot)))).isPositive();
    Set<Integer> rows = Set.copyOf(cache.rows.rows());
    policy.clear();
    assertThat(policy.size()).isZero();
    assertThat(policy.weightedSize()).isZero();
    assertThat(policy.victim()).isEqualTo(-1);
    assertThat(rows).noneMatch(policy::contains);
    List<Integer> visited = new ArrayList<>();
    policy.forEachColdest(visited::add);
    assertThat(visited).isEmpty();
    assertThat(policy.sketch().frequency(FrequencySketch.keyOf(Cache.hash(hot)))).isZero();
    assertThat(policy.windowWeight()).isZero();
    assertThat(policy.protectedWeight()).isZero();
    assertThat(policy.windowMaximum()).isEqualTo(1);
    assertThat(policy.maximum()).isEqualTo(50);
    policy.checkInvariants();
    // Usable again, rows reused.
    int row = rows.iterator().next();
    policy.onInsert(row, 1, 1);
    assertThat(policy.contains(row)).isTrue();
    assertThat(policy.victim()).isEqualTo(row);
    policy.checkInvariants();
  }

  @Test
  void hillClimbingGrowsTheWindowOnARecencyBiasedTrace() {
    WTinyLfuPolicy policy = new WTinyLfuPolicy(17);
    Cache cache = new Cache(policy, 500);
    long initial = policy.windowMaximum();
    SplittableRandom random = new SplittableRandom(17);
    int newest = 0;
    long hits = 0;
    for (int i = 0; i < 400_000; i++) {
      // A new key every 4th access, else one of the 300 newest: recency pays, frequency does not.
      int key = i % 4 == 0 ? ++newest : Math.max(0, newest - random.nextInt(300));
      hits += cache.get(key) && i >= 200_000 ? 1 : 0;
    }
    assertThat(policy.windowMaximum()).as("window after adapting, from %d", initial).isGreaterThan(10 * initial);
    assertThat(hits / 200_000.0).as("hit ratio of the second half").isGreaterThan(0.5);
    policy.checkInvariants();
  }

  @Test
  void theSketchIsSizedByTheFewerOfMaximumAndRows() {
    WTinyLfuPolicy policy = new WTinyLfuPolicy(19);
    policy.setMaximum(1L << 40); // bytes, say
    policy.ensureRows(5_000);
    assertThat(policy.sketch().entries()).isBetween(5_000L, 10_000L);
    policy.setMaximum(1_000);
    assertThat(policy.sketch().entries()).isEqualTo(1_000);
    assertThat(policy.sketch().sampleSize()).isEqualTo(10_000);
  }
}
