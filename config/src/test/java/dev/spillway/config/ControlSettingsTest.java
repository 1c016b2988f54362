package dev.spillway.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code spillway.control}: defaults, overrides, every bad value named. */
class ControlSettingsTest {

  private static ControlSettings load(String hocon) {
    return SpillwaySettings.from(ConfigFactory.parseString("spillway.control { " + hocon + " }")).control();
  }

  @Test
  void embeddedDefaults() {
    ControlSettings c = SpillwaySettings.defaults().control();
    assertThat(c.budgetBytes()).isEqualTo(ControlSettings.AUTO);
    assertThat(c.budgetOverMemory()).isFalse();
    assertThat(c.budgetFraction()).isEqualTo(0.5);
    assertThat(c.slackFraction()).isEqualTo(0.0625);
    assertThat(c.allocateTimeout()).isEqualTo(Duration.ofSeconds(5));
    assertThat(c.pressureInterval()).isEqualTo(Duration.ofMillis(200));
    assertThat(c.lowWater()).isEqualTo(0.75);
    assertThat(c.highWater()).isEqualTo(0.90);
    assertThat(c.sweepInterval()).isEqualTo(Duration.ofSeconds(1));
    assertThat(c.idleAfter()).isEqualTo(Duration.ofSeconds(30));
    assertThat(c.shrinkAfter()).isEqualTo(Duration.ofSeconds(60));
  }

  @Test
  void overrides() {
    ControlSettings c = load("budget = 256 MiB, allocate-timeout = 0 s, pressure { interval = 5 ms, low-water = 0.5,"
        + " high-water = 0.8 }, idle { sweep-interval = 10 ms, idle-after = 50 ms, shrink-after = 1 s }");
    assertThat(c.budgetBytes()).isEqualTo(256L << 20);
    assertThat(c.allocateTimeout()).isZero();
    assertThat(c.lowWater()).isEqualTo(0.5);
    assertThat(c.highWater()).isEqualTo(0.8);
    assertThat(c.idleAfter()).isEqualTo(Duration.ofMillis(50));
    assertThat(load("budget = AUTO").budgetBytes()).isEqualTo(ControlSettings.AUTO);
    assertThat(c.withBudget(1 << 20).budgetBytes()).isEqualTo(1 << 20);
    assertThat(load("budget = 64 GiB, budget-over-memory = true").budgetOverMemory()).isTrue();
    assertThat(c.withBudgetOverMemory(true).budgetOverMemory()).isTrue();
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
    "budget = 10 KiB                     | spillway.control.budget | allowed 1 MiB to",
    "budget = plenty                     | spillway.control.budget | cannot be parsed as a size",
    "budget = autom                      | spillway.control.budget | or write auto for budget-fraction",
    "budget-over-memory = sometimes      | spillway.control.budget-over-memory | must be true or false",
    "budget-fraction = 0                 | spillway.control.budget-fraction | 0 < value <= 1",
    "budget-slack = 1                    | spillway.control.budget-slack | 0 <= value < 1",
    "allocate-timeout = forever          | spillway.control.allocate-timeout | cannot be parsed as a duration",
    "pressure.low-water = 0.95           | spillway.control.pressure.low-water | low-water < high-water",
    "pressure.hysteresis = 0.8           | spillway.control.pressure.hysteresis | hysteresis < low-water",
    "pressure.interval = 0 s             | spillway.control.pressure.interval | out of range",
    "idle { sweep-interval = 2 s, idle-after = 1 s } | spillway.control.idle.idle-after | idle-after >= sweep-interval",
  })
  void badValuesAreNamed(String hocon, String key, String allowed) {
    assertThatThrownBy(() -> load(hocon)).isInstanceOf(SettingsException.class)
        .hasMessageContaining(key.strip()).hasMessageContaining(allowed.strip());
  }
}
