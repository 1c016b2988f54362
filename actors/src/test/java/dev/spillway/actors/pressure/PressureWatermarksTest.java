package dev.spillway.actors.pressure;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Watermark validation names the value and the bound it breaks; the readings' records check theirs. */
class PressureWatermarksTest {

  @Test
  void theDefaultsAreTheDocumentedOnes() {
    assertThat(PressureWatermarks.DEFAULTS).isEqualTo(new PressureWatermarks(0.75, 0.90, 0.05, 0.05));
  }

  @Test
  void highWaterMayBeTheBudgetItself() {
    assertThat(new PressureWatermarks(0.5, 1.0, 0.1, 0.0).highWater()).isEqualTo(1.0);
  }

  @Test
  void highWaterMustBeAFraction() {
    assertThatThrownBy(() -> new PressureWatermarks(0.5, 1.2, 0.05, 0.05))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("highWater must be in (0, 1]: 1.2");
    assertThatThrownBy(() -> new PressureWatermarks(0.5, Double.NaN, 0.05, 0.05))
        .hasMessage("highWater must be in (0, 1]: NaN");
  }

  @Test
  void lowWaterMustBeBelowHighWater() {
    assertThatThrownBy(() -> new PressureWatermarks(0.9, 0.8, 0.05, 0.05))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("lowWater must be above 0 and below highWater (0.8), since spilling runs from highWater"
            + " down to lowWater: 0.9");
    assertThatThrownBy(() -> new PressureWatermarks(0.8, 0.8, 0.05, 0.05)).hasMessageStartingWith("lowWater");
    assertThatThrownBy(() -> new PressureWatermarks(0.0, 0.8, 0.05, 0.05)).hasMessageStartingWith("lowWater");
  }

  @Test
  void hysteresisMustBeBelowLowWater() {
    assertThatThrownBy(() -> new PressureWatermarks(0.3, 0.8, 0.3, 0.05))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("hysteresis must be above 0 and below lowWater (0.3), since ELEVATED is left at"
            + " lowWater - hysteresis: 0.3");
    assertThatThrownBy(() -> new PressureWatermarks(0.75, 0.9, 0.0, 0.05)).hasMessageStartingWith("hysteresis");
  }

  @Test
  void minAvailableLeavesRoomForItsHysteresis() {
    assertThatThrownBy(() -> new PressureWatermarks(0.75, 0.9, 0.05, 0.95))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("minAvailable must be at least 0 and below 1 - hysteresis (0.95), since CRITICAL is left at"
            + " minAvailable + hysteresis: 0.95");
    assertThatThrownBy(() -> new PressureWatermarks(0.75, 0.9, 0.05, -0.01)).hasMessageStartingWith("minAvailable");
  }

  @Test
  void readingsRejectImpossibleFigures() {
    assertThatThrownBy(() -> new SystemMemory(0, 0)).hasMessage("totalBytes must be positive: 0");
    assertThatThrownBy(() -> new SystemMemory(10, 11)).hasMessage("availableBytes must be in 0..10 (totalBytes): 11");
    assertThatThrownBy(() -> new CgroupMemory("/", 10, 11, java.util.OptionalLong.empty()))
        .hasMessage("workingSetBytes must be in 0..10 (currentBytes): 11");
    assertThatThrownBy(() -> new CgroupMemory("/", 10, 5, java.util.OptionalLong.of(0)))
        .hasMessage("limitBytes must be positive when set: 0");
    assertThatThrownBy(() -> new PressureSample(1, 0, MemoryReadings.absent("x")))
        .hasMessage("budgetBytes must be positive: 0");
    assertThatThrownBy(() -> new PressureSample(-1, 1, MemoryReadings.absent("x")))
        .hasMessage("residentBytes must not be negative: -1");
  }
}
