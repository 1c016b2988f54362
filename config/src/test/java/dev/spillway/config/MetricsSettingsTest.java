package dev.spillway.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code spillway.metrics}: defaults, overrides, every bad value named, the loopback-only host. */
class MetricsSettingsTest {

  private static SpillwaySettings load(String hocon) {
    return SpillwaySettings.from(ConfigFactory.parseString("spillway.metrics { " + hocon + " }"));
  }

  @Test
  void embeddedDefaults() {
    MetricsSettings m = SpillwaySettings.defaults().metrics();
    assertThat(m.tick()).isEqualTo(Duration.ofSeconds(10));
    assertThat(m.prometheus().enabled()).isFalse();
    assertThat(m.prometheus().host()).isEqualTo("127.0.0.1");
    assertThat(m.prometheus().port()).isEqualTo(9095);
    assertThat(m.accessCounting()).isTrue();
  }

  @Test
  void overrides() {
    MetricsSettings m = load("tick = 250 ms, access-counting = false, prometheus { enabled = true, port = 0 }")
        .metrics();
    assertThat(m.accessCounting()).isFalse();
    assertThat(m.tick()).isEqualTo(Duration.ofMillis(250));
    assertThat(m.prometheus().enabled()).isTrue();
    assertThat(m.prometheus().host()).isEqualTo(MetricsSettings.Prometheus.LOOPBACK);
    assertThat(m.prometheus().port()).isZero();
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
    "tick = 5 ms                  | spillway.metrics.tick | out of range: allowed PT0.01S to PT10M",
    "tick = 1 h                   | spillway.metrics.tick | out of range: allowed PT0.01S to PT10M",
    "tick = often                 | spillway.metrics.tick | cannot be parsed as a duration",
    "prometheus.enabled = maybe   | spillway.metrics.prometheus.enabled | must be true or false",
    "access-counting = sometimes  | spillway.metrics.access-counting | must be true or false",
    "prometheus.port = 65536      | spillway.metrics.prometheus.port | allowed 0 to 65535",
    "prometheus.port = -1         | spillway.metrics.prometheus.port | allowed 0 to 65535",
    "prometheus.port = http       | spillway.metrics.prometheus.port | must be a whole number",
    "prometheus.host = \"0.0.0.0\"  | spillway.metrics.prometheus.host | \"0.0.0.0\" is not allowed: allowed only \"127.0.0.1\"",
    "prometheus.host = localhost  | spillway.metrics.prometheus.host | \"localhost\" is not allowed: allowed only \"127.0.0.1\"",
    "prometheus.host = \"10.0.0.7\" | spillway.metrics.prometheus.host | is not allowed: allowed only \"127.0.0.1\"",
    "prometheus.host = \"::1\"      | spillway.metrics.prometheus.host | is not allowed: allowed only \"127.0.0.1\"",
    "prometheus.host = \"\"         | spillway.metrics.prometheus.host | is not allowed: allowed only \"127.0.0.1\"",
  })
  void badValuesAreNamed(String hocon, String key, String allowed) {
    assertThatThrownBy(() -> load(hocon))
        .isInstanceOf(SettingsException.class)
        .hasMessageContaining(key.strip())
        .hasMessageContaining(allowed.strip())
        .extracting(e -> ((SettingsException) e).key()).isEqualTo(key.strip());
  }

  @Test
  void recordsRejectWhatTheConfigRejects() {
    MetricsSettings m = SpillwaySettings.defaults().metrics();
    assertThatThrownBy(() -> new MetricsSettings.Prometheus(true, "0.0.0.0", 9095))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("host = 0.0.0.0: allowed only 127.0.0.1");
    assertThatThrownBy(() -> m.withPrometheus(true, 70_000))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("port = 70000: allowed 0 to 65535");
    assertThatThrownBy(() -> m.withTick(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("tick = PT0S: allowed");
  }

  @Test
  void copiesChangeOnlyWhatTheyName() {
    SpillwaySettings defaults = SpillwaySettings.defaults();
    MetricsSettings on = defaults.metrics().withPrometheus(true, 0).withTick(Duration.ofMillis(50))
        .withAccessCounting(false);
    SpillwaySettings s = defaults.withMetrics(on);
    assertThat(s.metrics()).isEqualTo(new MetricsSettings(Duration.ofMillis(50),
        new MetricsSettings.Prometheus(true, "127.0.0.1", 0), false));
    assertThat(s.withMetrics(defaults.metrics())).isEqualTo(defaults);
    assertThat(defaults.withStreams(defaults.streams()).metrics()).isEqualTo(defaults.metrics());
  }
}
