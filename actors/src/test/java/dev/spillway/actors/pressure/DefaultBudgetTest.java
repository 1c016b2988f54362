package dev.spillway.actors.pressure;

import static dev.spillway.actors.pressure.TestReadings.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spillway.actors.pressure.DefaultBudget.Basis;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The default budget: a fraction of the smaller of RAM and the cgroup limit, else the fallback. */
class DefaultBudgetTest {
  private static final long GIB = 1L << 30;
  private static final long FALLBACK = 256L << 20;

  private static Reading<CgroupMemory> cgroup(OptionalLong limit) {
    return Reading.present(new CgroupMemory("/app", 0, 0, limit));
  }

  @Test
  void aFractionOfRam() {
    assertThat(DefaultBudget.of(0.5, FALLBACK, readings(ram(16 * GIB), none())))
        .isEqualTo(new DefaultBudget(8 * GIB, Basis.MEM_TOTAL, 16 * GIB));
  }

  @Test
  void aSmallerCgroupLimitBinds() {
    assertThat(DefaultBudget.of(0.5, FALLBACK, readings(ram(16 * GIB), cgroup(OptionalLong.of(4 * GIB)))))
        .isEqualTo(new DefaultBudget(2 * GIB, Basis.CGROUP_LIMIT, 4 * GIB));
  }

  @Test
  void aLargerCgroupLimitDoesNot() {
    assertThat(DefaultBudget.of(0.25, FALLBACK, readings(ram(16 * GIB), cgroup(OptionalLong.of(64 * GIB)))))
        .isEqualTo(new DefaultBudget(4 * GIB, Basis.MEM_TOTAL, 16 * GIB));
  }

  @Test
  void aCgroupLimitEqualToRamIsNamedAsRam() {
    assertThat(DefaultBudget.of(1.0, FALLBACK, readings(ram(8 * GIB), cgroup(OptionalLong.of(8 * GIB)))).basis())
        .isEqualTo(Basis.MEM_TOTAL);
  }

  @Test
  void anUnlimitedCgroupLeavesRam() {
    assertThat(DefaultBudget.of(0.5, FALLBACK, readings(ram(16 * GIB), cgroup(OptionalLong.empty()))).basis())
        .isEqualTo(Basis.MEM_TOTAL);
  }

  @Test
  void theCgroupLimitAloneIsEnough() {
    assertThat(DefaultBudget.of(0.5, FALLBACK, readings(none(), cgroup(OptionalLong.of(4 * GIB)))))
        .isEqualTo(new DefaultBudget(2 * GIB, Basis.CGROUP_LIMIT, 4 * GIB));
  }

  @Test
  void knowingNeitherGivesTheFallbackUnscaled() {
    assertThat(DefaultBudget.of(0.5, FALLBACK, readings(none(), none())))
        .isEqualTo(new DefaultBudget(FALLBACK, Basis.FALLBACK, FALLBACK));
    assertThat(DefaultBudget.of(0.5, FALLBACK, readings(none(), cgroup(OptionalLong.empty()))).basis())
        .isEqualTo(Basis.FALLBACK);
  }

  @Test
  void theBudgetIsAtLeastOneByte() {
    assertThat(DefaultBudget.of(0.1, FALLBACK, readings(ram(5), none())).bytes()).isEqualTo(1);
  }

  @Test
  void theLargestLimitDoesNotOverflow() {
    assertThat(DefaultBudget.of(1.0, FALLBACK, readings(none(), cgroup(OptionalLong.of(Long.MAX_VALUE)))).bytes())
        .isEqualTo(Long.MAX_VALUE);
  }

  @ParameterizedTest
  @ValueSource(doubles = {0.0, -0.5, 1.01, Double.NaN, Double.POSITIVE_INFINITY})
  void theFractionMustBeInZeroToOne(double fraction) {
    assertThatThrownBy(() -> DefaultBudget.of(fraction, FALLBACK, readings(none(), none())))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("fraction must be in (0, 1]: " + fraction);
  }

  @ParameterizedTest
  @ValueSource(longs = {0, -1})
  void theFallbackMustBePositive(long fallback) {
    assertThatThrownBy(() -> DefaultBudget.of(0.5, fallback, readings(none(), none())))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("fallbackBytes must be positive: " + fallback);
  }
}
