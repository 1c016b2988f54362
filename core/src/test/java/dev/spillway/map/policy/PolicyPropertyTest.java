package dev.spillway.map.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/**
 * Every policy under random operations (inserts, reads, updates with new weights, removes of
 * tracked and untracked rows, evictions, a new maximum, clear) against a model map of row to
 * weight: size(), weightedSize() and contains() agree with it after every operation; victim() is a
 * tracked row (-1 when none) and asks twice the same; forEachColdest visits each tracked row exactly
 * once, stops when told, changes nothing, and visits in the order in which repeated victim() and
 * onRemove give the rows up (checked on a twin policy replaying the same operations).
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class PolicyPropertyTest {
  static final List<String> NAMES = ReplacementPolicies.NAMES;
  private static final int SEEDS = 60;
  private static final int STEPS = 1_500;
  private static final int ROWS = 48;

  @ParameterizedTest
  @FieldSource("NAMES")
  void randomOperationsKeepTheCountsAndTheVisitsConsistent(String name) {
    for (int seed = 0; seed < SEEDS; seed++) {
      run(name, seed);
    }
  }

  private static void run(String name, int seed) {
    SplittableRandom random = new SplittableRandom(seed * 7919L + name.hashCode());
    ReplacementPolicy policy = PolicyTesting.create(name, seed);
    List<Consumer<ReplacementPolicy>> log = new ArrayList<>(); // every operation, to build twins
    Map<Integer, Long> model = new HashMap<>();
    String where = name + " seed " + seed;
    apply(policy, log, p -> p.ensureRows(ROWS / 2));
    long firstMaximum = 1L + random.nextInt(40); // drawn once: the log replays the operation, not the draw
    apply(policy, log, p -> p.setMaximum(firstMaximum));
    for (int step = 0; step < STEPS; step++) {
      int row = random.nextInt(ROWS);
      long hash = row * 0x9E37_79B9L + 7;
      long weight = 1L + random.nextInt(random.nextBoolean() ? 1 : 6);
      int op = random.nextInt(1000);
      if (op < 3) {
        apply(policy, log, ReplacementPolicy::clear);
        model.clear();
      } else if (op < 8) {
        long maximum = 1L + random.nextInt(40);
        apply(policy, log, p -> p.setMaximum(maximum));
      } else if (op < 12) {
        checkVisits(policy, log, name, seed, where + " step " + step);
      } else if (!model.containsKey(row)) {
        if (op < 100) {
          apply(policy, log, p -> p.onRemove(row)); // untracked: ignored
        } else {
          apply(policy, log, p -> p.ensureRows(row + 1));
          apply(policy, log, p -> p.onInsert(row, hash, weight));
          model.put(row, weight);
        }
      } else if (op < 200) {
        apply(policy, log, p -> p.onRemove(row));
        model.remove(row);
      } else if (op < 300) {
        apply(policy, log, p -> p.onUpdate(row, hash, weight));
        model.put(row, weight);
      } else {
        apply(policy, log, p -> p.onAccess(row, hash));
      }
      while (policy.weightedSize() > policy.maximum()) {
        int victim = victim(policy, log);
        assertThat(model).as("victim %d of %s step %d", victim, where, step).containsKey(victim);
        apply(policy, log, p -> p.onRemove(victim));
        model.remove(victim);
      }
      checkCounts(policy, log, model, where + " step " + step);
    }
    checkVisits(policy, log, name, seed, where + " at the end");
  }

  private static void apply(ReplacementPolicy policy, List<Consumer<ReplacementPolicy>> log,
      Consumer<ReplacementPolicy> operation) {
    operation.accept(policy);
    log.add(operation);
  }

  /**
   * victim(), logged: CLOCK's hand moves and W-TinyLFU's round and coin go on when it is asked, so
   * the twins must ask it too.
   */
  private static int victim(ReplacementPolicy policy, List<Consumer<ReplacementPolicy>> log) {
    log.add(p -> {
      var _ = p.victim();
    });
    return policy.victim();
  }

  private static void checkCounts(ReplacementPolicy policy, List<Consumer<ReplacementPolicy>> log,
      Map<Integer, Long> model, String where) {
    assertThat(policy.size()).as("size, %s", where).isEqualTo(model.size());
    assertThat(policy.weightedSize()).as("weightedSize, %s", where)
        .isEqualTo(model.values().stream().mapToLong(Long::longValue).sum());
    for (int row = 0; row < ROWS + 8; row++) {
      assertThat(policy.contains(row)).as("contains(%d), %s", row, where).isEqualTo(model.containsKey(row));
    }
    int victim = victim(policy, log);
    if (model.isEmpty()) {
      assertThat(victim).as("victim of none, %s", where).isEqualTo(-1);
    } else {
      assertThat(model).as("victim, %s", where).containsKey(victim);
    }
    assertThat(victim(policy, log)).as("victim asked again, %s", where).isEqualTo(victim);
    if (policy instanceof WTinyLfuPolicy w) {
      w.checkInvariants();
    }
  }

  private static void checkVisits(ReplacementPolicy policy, List<Consumer<ReplacementPolicy>> log, String name,
      int seed, String where) {
    int victimBefore = victim(policy, log);
    List<Integer> visited = new ArrayList<>();
    policy.forEachColdest(visited::add);
    assertThat(visited).as("visits, %s", where).doesNotHaveDuplicates().hasSize(policy.size());
    for (int row : visited) {
      assertThat(policy.contains(row)).as("visited row %d is tracked, %s", row, where).isTrue();
    }
    assertThat(victim(policy, log)).as("victim after the visits, %s", where).isEqualTo(victimBefore);
    if (!visited.isEmpty()) {
      assertThat(visited.getFirst()).as("first visit is victim(), %s", where).isEqualTo(victimBefore);
      int stopAfter = 1 + visited.size() / 3;
      List<Integer> prefix = new ArrayList<>();
      policy.forEachColdest(row -> {
        prefix.add(row);
        return prefix.size() < stopAfter;
      });
      assertThat(prefix).as("visits stopped after %d, %s", stopAfter, where)
          .isEqualTo(visited.subList(0, stopAfter));
    }
    // The twin: the same operations, then drained through victim() and onRemove.
    ReplacementPolicy twin = PolicyTesting.create(name, seed);
    log.forEach(op -> op.accept(twin));
    List<Integer> drained = new ArrayList<>();
    for (int victim = twin.victim(); victim != -1; victim = twin.victim()) {
      drained.add(victim);
      twin.onRemove(victim);
    }
    assertThat(visited).as("visit order against the victims' order, %s", where).isEqualTo(drained);
  }
}
