package dev.spillway.config;

import java.time.Duration;
import java.util.Objects;

/**
 * Metrics of the control plane ({@code spillway.metrics}): how often Kamon takes a snapshot of its
 * instruments, and the optional Prometheus scrape endpoint, which listens on the loopback interface
 * only.
 *
 * @param tick how often Kamon snapshots every instrument and hands the snapshot to its reporters; the
 *     scraped figures are at most this old. Kamon has one tick per process, so this sets it for every
 *     Kamon user in the JVM
 * @param prometheus the scrape endpoint
 * @param accessCounting whether the facade's {@code memory()} counts its accesses for the RAM hit
 *     ratio (about 2 ns per access, measured); off leaves the ratio to {@code recordAccess} callers
 */
public record MetricsSettings(Duration tick, Prometheus prometheus, boolean accessCounting) {

  /** Bounds of {@code tick}. */
  public static final Duration MIN_TICK = Duration.ofMillis(10);
  public static final Duration MAX_TICK = Duration.ofMinutes(10);

  /**
   * The Prometheus scrape endpoint ({@code spillway.metrics.prometheus}), served at
   * {@code http://127.0.0.1:<port>/metrics}.
   *
   * @param enabled whether the endpoint is served at all (off unless asked for)
   * @param host the address it listens on: always {@value #LOOPBACK}, so that memory figures are never
   *     published beyond this machine by accident (a reverse proxy publishes them on purpose)
   * @param port its TCP port; 0 takes any free port (what tests use)
   */
  public record Prometheus(boolean enabled, String host, int port) {

    /** The only host the endpoint may listen on. */
    public static final String LOOPBACK = "127.0.0.1";
    /** Bounds of {@code port}. */
    public static final int MAX_PORT = 65_535;

    public Prometheus {
      Objects.requireNonNull(host, "host");
      if (!LOOPBACK.equals(host)) {
        throw new IllegalArgumentException("host = " + host + ": allowed only " + LOOPBACK + HOST_HINT);
      }
      if (port < 0 || port > MAX_PORT) {
        throw new IllegalArgumentException("port = " + port + ": allowed 0 to " + MAX_PORT);
      }
    }
  }

  private static final String HOST_HINT =
      " (the endpoint listens on the loopback interface only; publish it through a reverse proxy)";

  public MetricsSettings {
    Objects.requireNonNull(tick, "tick");
    Objects.requireNonNull(prometheus, "prometheus");
    if (tick.compareTo(MIN_TICK) < 0 || tick.compareTo(MAX_TICK) > 0) {
      throw new IllegalArgumentException("tick = " + tick + ": allowed " + MIN_TICK + " to " + MAX_TICK);
    }
  }

  /** A copy with another tick. */
  public MetricsSettings withTick(Duration value) {
    return new MetricsSettings(value, prometheus, accessCounting);
  }

  /** A copy with the endpoint switched on or off, on {@code port} (0 for any free port). */
  public MetricsSettings withPrometheus(boolean enabled, int port) {
    return new MetricsSettings(tick, new Prometheus(enabled, prometheus.host(), port), accessCounting);
  }

  /** A copy with the facade's access counting switched on or off. */
  public MetricsSettings withAccessCounting(boolean on) {
    return new MetricsSettings(tick, prometheus, on);
  }

  static MetricsSettings read(ConfigReader metrics) {
    Duration tick = metrics.duration("tick", MIN_TICK, MAX_TICK);
    ConfigReader p = metrics.child("prometheus");
    boolean enabled = p.flag("enabled");
    String host = p.string("host");
    if (!Prometheus.LOOPBACK.equals(host)) {
      throw new SettingsException(p.key("host"), "= \"" + host + "\" is not allowed: allowed only \""
          + Prometheus.LOOPBACK + "\"" + HOST_HINT);
    }
    int port = (int) p.count("port", 0, Prometheus.MAX_PORT);
    return new MetricsSettings(tick, new Prometheus(enabled, host, port), metrics.flag("access-counting"));
  }
}
