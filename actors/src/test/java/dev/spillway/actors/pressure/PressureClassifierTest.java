package dev.spillway.actors.pressure;

import dev.spillway.PressureLevel;
import dev.spillway.PressureState;
import static dev.spillway.PressureLevel.CRITICAL;
import static dev.spillway.PressureLevel.ELEVATED;
import static dev.spillway.PressureLevel.HIGH;
import static dev.spillway.PressureLevel.NORMAL;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.Random;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The level rules of {@link PressureClassifier} with the default watermarks (L 0.75, H 0.90, h 0.05,
 * m 0.05). Shares are given in permille of a 1000-byte budget or limit, so thresholds are hit
 * exactly; exit thresholds are approached from a permille either side, never hit, because
 * {@code L - h} and the like are not exact in binary.
 */
class PressureClassifierTest {
  private static final long BUDGET = 1000;
  private static final PressureClassifier CLASSIFIER = new PressureClassifier(PressureWatermarks.DEFAULTS);
  private static final MemoryReadings NO_SOURCES = MemoryReadings.absent("not in this test");

  private static PressureSample resident(int permille) {
    return new PressureSample(permille, BUDGET, NO_SOURCES);
  }

  private static PressureSample withSources(int residentPermille, MemoryReadings readings) {
    return new PressureSample(residentPermille, BUDGET, readings);
  }

  private static MemoryReadings available(int permille) {
    return new MemoryReadings(Reading.present(new SystemMemory(1000, permille)), Reading.absent("-"), Reading.absent("-"));
  }

  private static MemoryReadings cgroup(int permille) {
    CgroupMemory c = new CgroupMemory("/app", permille, permille, OptionalLong.of(1000));
    return new MemoryReadings(Reading.absent("-"), Reading.present(c), Reading.absent("-"));
  }

  private static MemoryReadings direct(int permille) {
    DirectMemory d = new DirectMemory(permille, 1000, DirectMemory.LimitOrigin.HEAP_MAX);
    return new MemoryReadings(Reading.absent("-"), Reading.absent("-"), Reading.present(d));
  }

  /** The overall level after each sample, starting from the initial state. */
  private static List<PressureLevel> levels(IntFunction<PressureSample> sample, int... permilles) {
    List<PressureLevel> levels = new ArrayList<>();
    PressureState state = PressureState.INITIAL;
    for (int p : permilles) {
      state = CLASSIFIER.classify(state, sample.apply(p));
      levels.add(state.level());
    }
    return levels;
  }

  @Test
  void risingResidentBytesEnterEachLevelAtItsThreshold() {
    assertThat(levels(PressureClassifierTest::resident, 0, 749, 750, 899, 900, 999, 1000, 1500))
        .containsExactly(NORMAL, NORMAL, ELEVATED, ELEVATED, HIGH, HIGH, CRITICAL, CRITICAL);
  }

  @Test
  void aJumpGoesStraightToTheLevelReached() {
    assertThat(levels(PressureClassifierTest::resident, 1000)).containsExactly(CRITICAL);
    assertThat(levels(PressureClassifierTest::resident, 920)).containsExactly(HIGH);
  }

  @Test
  void fallingResidentBytesLeaveEachLevelOnlyAtItsExit() {
    assertThat(levels(PressureClassifierTest::resident, 1000, 951, 949, 900, 800, 751, 750, 701, 699))
        .containsExactly(CRITICAL, CRITICAL, HIGH, HIGH, HIGH, HIGH, ELEVATED, ELEVATED, NORMAL);
  }

  @Test
  void highIsTheSpillBandFromHighWaterDownToLowWater() {
    // Risen to HIGH, the level holds through the whole band; below it, ELEVATED until L - h.
    assertThat(levels(PressureClassifierTest::resident, 900, 760, 890, 740, 800, 899, 900))
        .containsExactly(HIGH, HIGH, HIGH, ELEVATED, ELEVATED, ELEVATED, HIGH);
  }

  @ParameterizedTest
  @CsvSource({
      "750, ELEVATED, 749, 751, 710",   // around L, from below
      "900, HIGH, 899, 901, 760",       // around H
      "1000, CRITICAL, 999, 1001, 960", // around the budget
  })
  void flappingAroundAThresholdDoesNotFlapTheLevel(int threshold, PressureLevel level, int below, int above, int low) {
    assertThat(levels(PressureClassifierTest::resident, threshold, below, above, below, low, threshold, below))
        .containsOnly(level);
  }

  @Test
  void noiseAroundAnyThresholdChangesTheLevelAtMostOnce() {
    Random random = new Random(42);
    // Noise narrower than the band under each threshold (h under L and under the budget, H - L under H)
    // and than the distance to the next threshold above (1 - H above H).
    int[][] thresholdsAndNoise = {{750, 49}, {900, 99}, {1000, 49}};
    for (int[] t : thresholdsAndNoise) {
      for (int run = 0; run < 200; run++) {
        int[] walk = new int[50];
        for (int i = 0; i < walk.length; i++) {
          walk[i] = t[0] + random.nextInt(-t[1], t[1] + 1);
        }
        List<PressureLevel> seen = levels(PressureClassifierTest::resident, walk);
        int changes = 0;
        for (int i = 1; i < seen.size(); i++) {
          changes += seen.get(i) == seen.get(i - 1) ? 0 : 1;
        }
        assertThat(changes).as("levels %s around %d", seen, t[0]).isLessThanOrEqualTo(1);
      }
    }
  }

  @Test
  void lowSystemAvailableMemoryAloneIsCritical() {
    // MemAvailable share in permille: CRITICAL under 5%, kept until 10%.
    assertThat(levels(p -> withSources(0, available(p)), 500, 51, 50, 49, 51, 99, 101, 60))
        .containsExactly(NORMAL, NORMAL, NORMAL, CRITICAL, CRITICAL, CRITICAL, NORMAL, NORMAL);
  }

  @Test
  void aCgroupNearItsLimitAloneRaisesTheLevel() {
    assertThat(levels(p -> withSources(0, cgroup(p)), 500, 750, 899, 900, 851, 849, 701, 699))
        .containsExactly(NORMAL, ELEVATED, ELEVATED, CRITICAL, CRITICAL, ELEVATED, ELEVATED, NORMAL);
  }

  @Test
  void directMemoryNearItsLimitAloneRaisesTheLevel() {
    assertThat(levels(p -> withSources(0, direct(p)), 500, 750, 900, 851, 849, 699))
        .containsExactly(NORMAL, ELEVATED, CRITICAL, CRITICAL, ELEVATED, NORMAL);
  }

  @Test
  void theCgroupIsJudgedByItsWorkingSetNotItsPageCache() {
    CgroupMemory mostlyCache = new CgroupMemory("/app", 950, 400, OptionalLong.of(1000));
    MemoryReadings r = new MemoryReadings(Reading.absent("-"), Reading.present(mostlyCache), Reading.absent("-"));
    assertThat(CLASSIFIER.classify(PressureState.INITIAL, withSources(0, r)).level()).isEqualTo(NORMAL);
  }

  @Test
  void anUnlimitedCgroupRaisesNothing() {
    CgroupMemory unlimited = new CgroupMemory("/app", Long.MAX_VALUE, Long.MAX_VALUE, OptionalLong.empty());
    MemoryReadings r = new MemoryReadings(Reading.absent("-"), Reading.present(unlimited), Reading.absent("-"));
    assertThat(CLASSIFIER.classify(PressureState.INITIAL, withSources(0, r))).isEqualTo(PressureState.INITIAL);
  }

  @Test
  void absentSourcesAreIgnoredAndDropWhatTheyHeld() {
    assertThat(CLASSIFIER.classify(PressureState.INITIAL, resident(0))).isEqualTo(PressureState.INITIAL);
    PressureState critical = CLASSIFIER.classify(PressureState.INITIAL, withSources(0, cgroup(950)));
    assertThat(critical.cgroup()).isEqualTo(CRITICAL);
    assertThat(CLASSIFIER.classify(critical, resident(0)).level()).isEqualTo(NORMAL);
  }

  @Test
  void eachSignalKeepsOnlyWhatItRaisedItself() {
    PressureState s = CLASSIFIER.classify(PressureState.INITIAL, withSources(920, cgroup(950)));
    assertThat(s).isEqualTo(new PressureState(HIGH, NORMAL, CRITICAL, NORMAL));
    assertThat(s.level()).isEqualTo(CRITICAL);
    // The cgroup recovers; resident bytes at 0.96 would keep a CRITICAL of their own, but they never had one.
    s = CLASSIFIER.classify(s, withSources(960, cgroup(500)));
    assertThat(s).isEqualTo(new PressureState(HIGH, NORMAL, NORMAL, NORMAL));
  }

  @Test
  void theMostUrgentSignalSetsTheLevel() {
    MemoryReadings all = new MemoryReadings(
        Reading.present(new SystemMemory(1000, 500)),
        Reading.present(new CgroupMemory("/app", 800, 800, OptionalLong.of(1000))),
        Reading.present(new DirectMemory(100, 1000, DirectMemory.LimitOrigin.COMMAND_LINE)));
    PressureState s = CLASSIFIER.classify(PressureState.INITIAL, withSources(920, all));
    assertThat(s).isEqualTo(new PressureState(HIGH, NORMAL, ELEVATED, NORMAL));
    assertThat(s.level()).isEqualTo(HIGH);
  }

  @Test
  void aZeroMinAvailableTurnsTheSystemRuleOff() {
    PressureClassifier off = new PressureClassifier(new PressureWatermarks(0.75, 0.9, 0.05, 0.0));
    assertThat(off.classify(PressureState.INITIAL, withSources(0, available(0))).level()).isEqualTo(NORMAL);
  }

  @Test
  void aHighWaterAtTheBudgetMakesHighAndCriticalMeet() {
    PressureClassifier c = new PressureClassifier(new PressureWatermarks(0.8, 1.0, 0.05, 0.05));
    PressureState s = c.classify(PressureState.INITIAL, resident(1000));
    assertThat(s.level()).isEqualTo(CRITICAL);
    s = c.classify(s, resident(940)); // below 1 - h: CRITICAL left, HIGH kept down to L
    assertThat(s.level()).isEqualTo(HIGH);
    assertThat(c.classify(s, resident(799)).level()).isEqualTo(ELEVATED);
  }

  @Test
  void classificationIsAPureFunction() {
    PressureState previous = new PressureState(HIGH, NORMAL, CRITICAL, ELEVATED);
    PressureSample sample = withSources(800, cgroup(870));
    assertThat(CLASSIFIER.classify(previous, sample)).isEqualTo(CLASSIFIER.classify(previous, sample));
    assertThat(new PressureClassifier(PressureWatermarks.DEFAULTS).classify(previous, sample))
        .isEqualTo(new PressureState(HIGH, NORMAL, CRITICAL, NORMAL));
  }

  @Test
  void levelsAreOrderedByUrgency() {
    assertThat(CRITICAL.atLeast(HIGH)).isTrue();
    assertThat(ELEVATED.atLeast(ELEVATED)).isTrue();
    assertThat(NORMAL.atLeast(ELEVATED)).isFalse();
    assertThat(PressureLevel.max(ELEVATED, HIGH)).isEqualTo(HIGH);
  }
}
