package dev.spillway.map.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.spillway.map.policy.PolicyTesting.Keys;
import dev.spillway.map.policy.PolicyTesting.Reference;
import dev.spillway.map.policy.PolicyTesting.Rows;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * LRU, MRU, FIFO and CLOCK against their plain references ({@link PolicyTesting}): random traces
 * (Zipf(0.9) and uniform keys, 100 seeds each, capacities of 1 to 64 in weight, weights of 1 to 4,
 * about 5% updates and 5% removes) replayed as the map will, the capacity enforced by the test
 * (after an insert, while weightedSize() > maximum(), remove victim()). Both must give the same hit
 * on every access and the same victim on every eviction, and agree on the victim at every step.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class ReferenceReplayTest {
  private static final int SEEDS = 100;
  private static final int STEPS = 3_000;

  static Stream<Arguments> traces() {
    List<Arguments> all = new ArrayList<>();
    for (String policy : List.of("lru", "mru", "fifo", "clock")) {
      for (String keys : List.of("zipf", "uniform")) {
        all.add(Arguments.of(policy, keys));
      }
    }
    return all.stream();
  }

  @ParameterizedTest(name = "{0} on {1} keys")
  @MethodSource("traces")
  void thePolicyGivesTheReferencesHitsAndVictims(String name, String keyKind) {
    long totalHits = 0;
    long totalVictims = 0;
    for (int seed = 0; seed < SEEDS; seed++) {
      long[] counts = replay(name, keyKind, seed);
      totalHits += counts[0];
      totalVictims += counts[1];
    }
    // The traces did exercise both paths.
    assertThat(totalHits).as("hits").isGreaterThan(SEEDS * 100L);
    assertThat(totalVictims).as("victims").isGreaterThan(SEEDS * 100L);
  }

  /** One trace; returns {hits, victims}. */
  private static long[] replay(String name, String keyKind, int seed) {
    SplittableRandom random = new SplittableRandom(seed * 31L + name.hashCode() + keyKind.hashCode());
    long maximum = 1L + random.nextInt(64);
    boolean weighted = random.nextBoolean();
    int keyCount = (int) (maximum * 3 + 2);
    Keys keys = keyKind.equals("zipf") ? Keys.zipf(keyCount, 0.9) : Keys.uniform(keyCount);
    ReplacementPolicy policy = ReplacementPolicies.create(name);
    policy.setMaximum(maximum);
    Reference reference = Reference.of(name);
    Rows rows = new Rows();
    List<Integer> victims = new ArrayList<>();
    List<Integer> referenceVictims = new ArrayList<>();
    long hits = 0;
    long referenceHits = 0;
    String where = name + " " + keyKind + " seed " + seed + " maximum " + maximum;
    for (int step = 0; step < STEPS; step++) {
      int key = keys.next(random);
      Integer row = rows.rowOf(key);
      int op = random.nextInt(100);
      long weight = weighted ? 1L + random.nextInt(4) : 1;
      if (row != null && op < 5) {
        policy.onUpdate(row, key, weight);
        reference.update(row);
      } else if (row != null && op < 10) {
        policy.onRemove(row);
        reference.remove(row);
        rows.release(row);
      } else if (row != null) {
        hits += policy.contains(row) ? 1 : 0;
        referenceHits += reference.contains(row) ? 1 : 0;
        policy.onAccess(row, key);
        reference.access(row);
      } else {
        int r = rows.assign(key, policy);
        policy.onInsert(r, key, weight);
        reference.insert(r);
      }
      while (policy.weightedSize() > policy.maximum()) {
        int victim = policy.victim();
        int expected = reference.victim();
        assertThat(victim).as("victim at step %d of %s", step, where).isEqualTo(expected);
        victims.add(victim);
        referenceVictims.add(expected);
        policy.onRemove(victim);
        reference.remove(expected);
        rows.release(victim);
      }
      assertThat(policy.victim()).as("victim() at rest, step %d of %s", step, where)
          .isEqualTo(reference.victim());
      assertThat(policy.size()).as("size at step %d of %s", step, where).isEqualTo(rows.rows().size());
    }
    assertThat(hits).as("hits of %s", where).isEqualTo(referenceHits);
    assertThat(victims).as("victims of %s", where).isEqualTo(referenceVictims);
    return new long[] {hits, victims.size()};
  }
}
