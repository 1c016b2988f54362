package dev.spillway.actors.metrics;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.Map;
import kamon.Kamon;

/**
 * Starts Kamon once per class loader, without the Kanela agent (the agent and kamon-bundle fail on
 * JDK 25), and sets its metric tick. Kamon is process-wide: the tick set here is every Kamon user's
 * tick, and the last {@link SpillwayMetrics} started wins.
 *
 * <p>Kamon's reporters receive snapshots only once it is initialised, and initialising loads every
 * module its configuration enables, kamon-prometheus's reporter among them, whose embedded server
 * listens on 0.0.0.0:9095 by default. The overlay applied here switches that module and its server
 * off (Spillway serves the scrape data itself, see {@link PrometheusEndpoint}) and pins its host to
 * 127.0.0.1 in case something switches it back on.
 *
 * <p>Kamon cannot be asked whether it is initialised, and each initialisation starts another metric
 * ticker: an application that uses Kamon as well should not initialise it again once Spillway has.
 */
final class KamonRuntime {
  private static boolean started;

  private KamonRuntime() {}

  /**
   * Initialises Kamon on first use; afterwards reconfigures it only when its configuration no longer
   * says what {@link #overlay} says (another Spillway tick, or an application's own
   * {@code Kamon.reconfigure} in between).
   */
  static synchronized void start(Duration metricTick) {
    Config current = Kamon.config();
    if (started && conforms(current, metricTick)) {
      return;
    }
    Config config = overlay(metricTick).withFallback(current);
    if (started) {
      Kamon.reconfigure(config);
    } else {
      Kamon.initWithoutAttaching(config);
      started = true;
    }
  }

  /** The settings Spillway imposes on Kamon's configuration. */
  static Config overlay(Duration metricTick) {
    return ConfigFactory.parseMap(Map.of(
        "kamon.metric.tick-interval", metricTick.toNanos() + "ns",
        "kamon.modules.prometheus-reporter.enabled", false,
        "kamon.prometheus.start-embedded-http-server", false,
        "kamon.prometheus.embedded-server.hostname", "127.0.0.1",
        "kamon.init.hide-banner", true));
  }

  private static boolean conforms(Config config, Duration metricTick) {
    return config.getDuration("kamon.metric.tick-interval").equals(metricTick)
        && !config.getBoolean("kamon.modules.prometheus-reporter.enabled")
        && !config.getBoolean("kamon.prometheus.start-embedded-http-server")
        && "127.0.0.1".equals(config.getString("kamon.prometheus.embedded-server.hostname"));
  }
}
