package dev.spillway.actors.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import dev.spillway.config.MetricsSettings;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import kamon.Kamon;
import kamon.metric.PeriodSnapshot;
import kamon.module.MetricReporter;
import kamon.module.Module;
import kamon.prometheus.PrometheusReporter;

/**
 * Serves Kamon's Prometheus scrape data at {@code http://127.0.0.1:<port>/metrics}: a
 * kamon-prometheus {@link PrometheusReporter} registered with Kamon turns each tick's snapshot into
 * the text format, and a JDK {@link HttpServer} bound to 127.0.0.1 only answers {@code GET} and
 * {@code HEAD} on that one path with the latest text. {@link #close} unregisters the reporter and
 * closes the listening socket, releasing the port.
 *
 * <p>Why not kamon-prometheus's own embedded server: it keeps its socket to itself (no way to ask
 * which port 0 bound or to check that the address is the loopback one), and Kamon rebuilds it from
 * whatever configuration a later {@code Kamon.reconfigure} passes, whose default host is 0.0.0.0.
 * Here the socket is ours, and the reporter is rebuilt only from configuration with the embedded
 * server switched off.
 */
final class PrometheusEndpoint implements AutoCloseable {

  /** The only path served. */
  static final String PATH = "/metrics";
  /** The Prometheus text exposition format. */
  static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  /**
   * Buckets of the restore-latency histogram, in seconds: an NVMe restore takes tens to hundreds of
   * microseconds, under the smallest of Kamon's default time buckets (5 ms).
   */
  static final List<Double> RESTORE_LATENCY_BUCKETS = List.of(
      10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 1.0);

  private static final AtomicInteger SEQUENCE = new AtomicInteger();

  private final HttpServer server;
  private final ScrapeReporter reporter;
  private final Module.Registration registration;

  private PrometheusEndpoint(HttpServer server, ScrapeReporter reporter, Module.Registration registration) {
    this.server = server;
    this.reporter = reporter;
    this.registration = registration;
  }

  /** Binds 127.0.0.1:{@code settings.port()} and starts serving; fails if the port is taken. */
  static PrometheusEndpoint start(MetricsSettings.Prometheus settings) {
    InetSocketAddress bind = new InetSocketAddress(loopback(settings.host()), settings.port());
    HttpServer server;
    try {
      server = HttpServer.create(bind, 0);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot serve Prometheus metrics on " + settings.host() + ":" + settings.port()
          + " (spillway.metrics.prometheus.port): " + e.getMessage()
          + "; choose a free port, 0 for any free port, or set spillway.metrics.prometheus.enabled = false", e);
    }
    boolean started = false;
    try {
      ScrapeReporter reporter = new ScrapeReporter(Kamon.config());
      server.createContext(PATH, exchange -> serve(exchange, reporter));
      server.start();
      Module.Registration registration =
          Kamon.addReporter("spillway-prometheus-" + SEQUENCE.incrementAndGet(), reporter);
      started = true;
      return new PrometheusEndpoint(server, reporter, registration);
    } finally {
      if (!started) {
        server.stop(0);
      }
    }
  }

  /** The address the socket is bound to, with the port actually taken. */
  InetSocketAddress address() {
    return server.getAddress();
  }

  /** The text the endpoint serves now. */
  String scrapeData() {
    return reporter.scrapeData();
  }

  /** Stops serving and releases the port at once; the reporter stops receiving snapshots. */
  @Override
  public void close() {
    registration.cancel();
    server.stop(0);
  }

  private static InetAddress loopback(String host) {
    try {
      InetAddress address = InetAddress.getByName(host);
      // MetricsSettings admits only 127.0.0.1; this guards against that check ever being loosened.
      if (!address.isLoopbackAddress()) {
        throw new IllegalArgumentException("the Prometheus endpoint listens on the loopback interface only, not on "
            + host + " (spillway.metrics.prometheus.host)");
      }
      return address;
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("spillway.metrics.prometheus.host = " + host + " is not an address", e);
    }
  }

  private static void serve(HttpExchange exchange, ScrapeReporter reporter) throws IOException {
    try (exchange) {
      String method = exchange.getRequestMethod();
      // A context matches every path under it; only the path itself is served.
      if (!PATH.equals(exchange.getRequestURI().getPath())) {
        exchange.sendResponseHeaders(404, -1);
        return;
      }
      if (!"GET".equals(method) && !"HEAD".equals(method)) {
        exchange.getResponseHeaders().set("Allow", "GET, HEAD");
        exchange.sendResponseHeaders(405, -1);
        return;
      }
      byte[] body = reporter.scrapeData().getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", CONTENT_TYPE);
      if ("HEAD".equals(method)) {
        exchange.sendResponseHeaders(200, -1);
        return;
      }
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    }
  }

  /**
   * Kamon's Prometheus reporter with its embedded server always off, even when Kamon is reconfigured
   * later with settings that switch it on: every configuration it sees passes {@link #safe} first.
   */
  static final class ScrapeReporter implements MetricReporter {
    private final PrometheusReporter delegate;

    ScrapeReporter(Config kamonConfig) {
      delegate = new PrometheusReporter(PrometheusReporter.DefaultConfigPath(), safe(kamonConfig));
    }

    String scrapeData() {
      return delegate.scrapeData();
    }

    @Override
    public void reportPeriodSnapshot(PeriodSnapshot snapshot) {
      delegate.reportPeriodSnapshot(snapshot);
    }

    @Override
    public void reconfigure(Config newConfig) {
      delegate.reconfigure(safe(newConfig));
    }

    @Override
    public void stop() {
      delegate.stop();
    }

    /**
     * {@code config} with the embedded server off, and with Spillway's restore-latency buckets unless
     * the configuration names its own for that metric.
     */
    static Config safe(Config config) {
      Config buckets = ConfigFactory.empty().withValue("kamon.prometheus.buckets.custom",
          // fromMap keys are single keys, not paths: the metric name keeps its dots.
          ConfigValueFactory.fromMap(Map.of(SpillwayMetric.TIER_RESTORE_LATENCY.kamonName(), RESTORE_LATENCY_BUCKETS)));
      return ConfigFactory.parseMap(Map.of(
              "kamon.prometheus.start-embedded-http-server", false,
              "kamon.prometheus.embedded-server.hostname", "127.0.0.1"))
          .withFallback(config)
          .withFallback(buckets);
    }
  }
}
