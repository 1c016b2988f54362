package dev.spillway.map.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.IntPredicate;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/**
 * The contract's "no call allocates once the policy has grown to its rows": after ensureRows and a
 * warm-up, a mix of inserts, reads, updates, removes, evictions through victim() and forEachColdest
 * passes allocates (almost) nothing on the calling thread. W-TinyLFU's aging and hill climbing
 * happen during the measured rounds too (the sample is 10 × 1,000 counter increments).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AllocationFreeTest {
  static final List<String> NAMES = ReplacementPolicies.NAMES;
  private static final int MAXIMUM = 1_000;
  private static final int KEYS = 5_000;
  /** A visitor capturing nothing: no object per call. */
  private static final IntPredicate FIRST_TEN = new IntPredicate() {
    private int seen;

    @Override
    public boolean test(int row) {
      return ++seen % 10 != 0;
    }
  };

  @ParameterizedTest
  @FieldSource("NAMES")
  void policyCallsAllocateNothingOnceTheRowsAreThere(String name) {
    var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    ReplacementPolicy policy = PolicyTesting.create(name, 1);
    policy.ensureRows(MAXIMUM + 1);
    policy.setMaximum(MAXIMUM);
    int[] rowOfKey = new int[KEYS];
    Arrays.fill(rowOfKey, -1);
    int[] keyOfRow = new int[MAXIMUM + 1];
    int[] free = new int[MAXIMUM + 1];
    int freeCount = 0;
    for (int row = MAXIMUM; row >= 0; row--) {
      free[freeCount++] = row;
    }
    SplittableRandom random = new SplittableRandom(1);
    long tid = Thread.currentThread().threadId();
    for (int round = 0; round < 3; round++) { // the last round is measured, after warm-up
      long before = threads.getThreadAllocatedBytes(tid);
      for (int i = 0; i < 200_000; i++) {
        int draw = random.nextInt(KEYS);
        int key = Math.min(draw, random.nextInt(KEYS)); // the least of two draws: skewed towards small keys
        long hash = key * 0x9E37_79B9_7F4A_7C15L;
        int row = rowOfKey[key];
        int op = random.nextInt(100);
        if (row >= 0 && op < 5) {
          policy.onRemove(row);
          rowOfKey[key] = -1;
          free[freeCount++] = row;
          continue;
        } else if (row >= 0 && op < 10) {
          policy.onUpdate(row, hash, 1 + (op & 1));
        } else if (row >= 0) {
          policy.onAccess(row, hash);
        } else {
          row = free[--freeCount];
          rowOfKey[key] = row;
          keyOfRow[row] = key;
          policy.onInsert(row, hash, 1);
        }
        while (policy.weightedSize() > policy.maximum()) {
          int victim = policy.victim();
          policy.onRemove(victim);
          rowOfKey[keyOfRow[victim]] = -1;
          free[freeCount++] = victim;
        }
        if (op == 99) {
          policy.forEachColdest(FIRST_TEN);
        }
      }
      long allocated = threads.getThreadAllocatedBytes(tid) - before;
      if (round == 2) {
        assertThat(allocated).as("heap bytes allocated by 200,000 calls of %s", name).isLessThan(1024);
      }
    }
    assertThat(policy.size()).isPositive();
  }
}
