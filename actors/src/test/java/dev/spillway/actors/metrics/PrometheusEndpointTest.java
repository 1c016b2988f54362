package dev.spillway.actors.metrics;

import static dev.spillway.actors.metrics.MetricsTestSupport.awaitSample;
import static dev.spillway.actors.metrics.MetricsTestSupport.TICK;
import static dev.spillway.actors.metrics.MetricsTestSupport.endpointOff;
import static dev.spillway.actors.metrics.MetricsTestSupport.endpointOnAnyPort;
import static dev.spillway.actors.metrics.MetricsTestSupport.get;
import static dev.spillway.actors.metrics.MetricsTestSupport.huge;
import static dev.spillway.actors.metrics.MetricsTestSupport.instrumentTags;
import static dev.spillway.actors.metrics.MetricsTestSupport.pipeline;
import static dev.spillway.actors.metrics.MetricsTestSupport.pool;
import static dev.spillway.actors.metrics.MetricsTestSupport.spill;
import static dev.spillway.actors.metrics.MetricsTestSupport.stats;
import static dev.spillway.actors.metrics.MetricsTestSupport.tier;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spillway.config.SpillwaySettings;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import kamon.Kamon;
import kamon.status.Status;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import scala.jdk.javaapi.CollectionConverters;

/** The scrape endpoint: off by default, on 127.0.0.1 only when asked, and its port released on close. */
class PrometheusEndpointTest {

  private static final InetAddress LOOPBACK = loopback();

  private static InetAddress loopback() {
    try {
      return InetAddress.getByAddress(new byte[] {127, 0, 0, 1});
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @BeforeEach
  void noSeriesLeftByAnotherTest() {
    MetricsTestSupport.awaitNoSpillwaySeries();
  }

  private static void feed(SpillwayMetrics metrics) {
    metrics.update(stats(List.of(pool("4KiB", 4096, 64, 3, 5, 2)), huge(1, 2L << 20, 1, 0),
        spill(4, 1, 16_384, 9_000, 0, 0, 0, 3, tier(1L << 20, 12_288))), pipeline(2, 0));
    metrics.updateMaps(List.of(MetricsTestSupport.mapStats("users", 10, 1, 2, 3, 4, 10)));
  }

  private static boolean canBind(int port) {
    try (ServerSocket socket = new ServerSocket()) {
      socket.bind(new InetSocketAddress(LOOPBACK, port));
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static List<Status.Module> kamonModules() {
    return CollectionConverters.asJava(Kamon.status().moduleRegistry().modules());
  }

  @Test
  void isOffByDefault() {
    assertThat(SpillwaySettings.defaults().metrics().prometheus().enabled()).isFalse();
    // The defaults but the tick, which only sets how fresh the figures are (and how soon the next test
    // sees this one's series gone).
    try (SpillwayMetrics metrics = SpillwayMetrics.start(SpillwaySettings.defaults().metrics().withTick(TICK))) {
      feed(metrics);
      assertThat(metrics.endpointAddress()).isEmpty();
      assertThat(metrics.scrapeData()).isNull();
      assertThat(kamonModules()).as("no Spillway reporter").noneMatch(m -> m.name().startsWith("spillway-prometheus"));
      // kamon-prometheus enables its own reporter, whose server listens on 0.0.0.0:9095: never loaded.
      assertThat(kamonModules()).filteredOn(m -> m.clazz().contains("PrometheusReporter") || m.name().contains("Prometheus"))
          .isNotEmpty().noneMatch(Status.Module::started);
    }
  }

  @Test
  void servesTheSpillwaySeriesOnLoopback() throws Exception {
    try (SpillwayMetrics metrics = SpillwayMetrics.start(endpointOnAnyPort())) {
      feed(metrics);
      awaitSample(metrics, "spillway_tier_spills_total{tier=\"nvme\"}", 4);
      InetSocketAddress address = metrics.endpointAddress().orElseThrow();

      HttpResponse<String> response = get(address, "/metrics", "GET");
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.headers().firstValue("Content-Type")).contains("text/plain; version=0.0.4; charset=utf-8");
      assertThat(response.body())
          .contains("# TYPE spillway_pool_resident_bytes gauge")
          .contains("spillway_pool_resident_bytes{pool=\"4KiB\"} 262144.0")
          .contains("spillway_pool_blocks_in_use{pool=\"huge\"} 1.0")
          .contains("# TYPE spillway_tier_spills_total counter")
          .contains("# HELP spillway_tier_spills_total " + SpillwayMetric.TIER_SPILLS.description())
          .contains("spillway_tier_spills_total{tier=\"nvme\"} 4.0")
          .contains("spillway_tier_used_bytes{tier=\"nvme\"} 1048576.0")
          .contains("spillway_spill_queue_depth{tier=\"nvme\"} 2.0");
    }
  }

  @Test
  void listensOnTheLoopbackAddressOnly() {
    try (SpillwayMetrics metrics = SpillwayMetrics.start(endpointOnAnyPort())) {
      InetSocketAddress address = metrics.endpointAddress().orElseThrow();
      assertThat(address.getAddress().isLoopbackAddress()).isTrue();
      assertThat(address.getAddress().isAnyLocalAddress()).as("not 0.0.0.0").isFalse();
      assertThat(address.getAddress().getHostAddress()).isEqualTo("127.0.0.1");
      assertThat(address.getPort()).as("port 0 took a free ephemeral port").isPositive();
    }
  }

  @Test
  void answersOnlyItsPathAndReadMethods() throws Exception {
    try (SpillwayMetrics metrics = SpillwayMetrics.start(endpointOnAnyPort())) {
      InetSocketAddress address = metrics.endpointAddress().orElseThrow();
      assertThat(get(address, "/", "GET").statusCode()).isEqualTo(404);
      assertThat(get(address, "/metrics/more", "GET").statusCode()).isEqualTo(404);
      HttpResponse<String> post = get(address, "/metrics", "POST");
      assertThat(post.statusCode()).isEqualTo(405);
      assertThat(post.headers().firstValue("Allow")).contains("GET, HEAD");
      HttpResponse<String> head = get(address, "/metrics", "HEAD");
      assertThat(head.statusCode()).isEqualTo(200);
      assertThat(head.body()).isEmpty();
    }
  }

  @Test
  void closeReleasesThePort() throws Exception {
    SpillwayMetrics first = SpillwayMetrics.start(endpointOnAnyPort());
    InetSocketAddress address = first.endpointAddress().orElseThrow();
    int port = address.getPort();
    assertThat(canBind(port)).as("taken while serving").isFalse();

    first.close();
    assertThat(first.endpointAddress()).isEmpty();
    assertThat(canBind(port)).as("free once closed").isTrue();
    assertThatThrownBy(() -> get(address, "/metrics", "GET")).isInstanceOf(ConnectException.class);

    try (SpillwayMetrics second = SpillwayMetrics.start(endpointOff().withPrometheus(true, port))) {
      assertThat(second.endpointAddress().orElseThrow().getPort()).isEqualTo(port);
      assertThat(get(second.endpointAddress().orElseThrow(), "/metrics", "GET").statusCode()).isEqualTo(200);
    }
    assertThat(canBind(port)).isTrue();
  }

  @Test
  void aTakenPortFailsNamingTheKeyAndLeavesNothingRegistered() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, LOOPBACK)) {
      int port = taken.getLocalPort();
      assertThatThrownBy(() -> SpillwayMetrics.start(endpointOff().withPrometheus(true, port)))
          .isInstanceOf(UncheckedIOException.class)
          .hasMessageContaining("127.0.0.1:" + port)
          .hasMessageContaining("spillway.metrics.prometheus.port");
      for (SpillwayMetric metric : SpillwayMetric.values()) {
        assertThat(instrumentTags(metric)).as(metric.kamonName()).isEmpty();
      }
    }
  }

  @Test
  void everyListedSeriesIsServedUnderItsPrometheusName() throws Exception {
    try (SpillwayMetrics metrics = SpillwayMetrics.start(endpointOnAnyPort())) {
      metrics.recordAccess(false);
      metrics.recordRestoreNanos(80_000);
      metrics.setPressureLevel(1);
      feed(metrics);
      awaitSample(metrics, "spillway_tier_restore_latency_seconds_count{tier=\"nvme\"}", 1);
      // Series appear at the Kamon tick after their first value: a tick may fall between the
      // histogram's record and the gauges' update, so wait for a scrape that has them all.
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
        String body = get(metrics.endpointAddress().orElseThrow(), "/metrics", "GET").body();
        for (SpillwayMetric metric : SpillwayMetric.values()) {
          assertThat(body).as(metric.kamonName())
              .contains("# TYPE " + metric.prometheusName() + " " + metric.kind().name().toLowerCase(Locale.ROOT) + "\n");
        }
      });
    }
  }

  @Test
  void kamonReconfiguredToStartItsOwnServerStillDoesNot() throws Exception {
    int hostilePort;
    try (ServerSocket probe = new ServerSocket(0, 1, LOOPBACK)) {
      hostilePort = probe.getLocalPort();
    }
    Config before = null;
    try (SpillwayMetrics metrics = SpillwayMetrics.start(endpointOnAnyPort())) {
      before = Kamon.config();
      // What an application's own configuration may say: kamon-prometheus's defaults, server on.
      Kamon.reconfigure(ConfigFactory.parseMap(Map.of(
          "kamon.prometheus.start-embedded-http-server", true,
          "kamon.prometheus.embedded-server.hostname", "127.0.0.1",
          "kamon.prometheus.embedded-server.port", hostilePort)).withFallback(before));
      await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2)).until(() -> canBind(hostilePort));
      feed(metrics);
      awaitSample(metrics, "spillway_tier_spills_total{tier=\"nvme\"}", 4);
    } finally {
      if (before != null) {
        Kamon.reconfigure(before);
      }
    }
  }
}
