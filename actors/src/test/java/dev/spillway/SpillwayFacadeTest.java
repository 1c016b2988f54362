package dev.spillway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import akka.util.ByteString;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spillway.config.SettingsException;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.SpillOutcome;
import dev.spillway.streams.bulk.IngestSummary;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The facade's lifecycle: create, attach, admin calls, streams, close, use after close. */
class SpillwayFacadeTest {
  static final ActorTestKit testKit = ActorTestKit.create();

  @TempDir Path tmp;

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  static Config config(Path dir, String extra) {
    return ConfigFactory.parseString("spillway { tier.directories = [\"" + dir.toAbsolutePath() + "\"],"
        + " tier.durability = none, control { budget = 64 MiB, pressure.interval = 10 ms,"
        + " idle { sweep-interval = 10 ms, idle-after = 20 ms, shrink-after = 200 ms } } " + extra + " }");
  }

  @Test
  void createRunsTheWholeServiceAndCloseStopsItAll() throws Exception {
    Spillway spillway = Spillway.create(config(tmp, ""));
    BlockAllocator memory = spillway.memory();
    long h = memory.allocate(4096);
    memory.putLong(h, 0, 42);
    assertThat(spillway.spillAsync(h).toCompletableFuture().get(10, TimeUnit.SECONDS)).isEqualTo(SpillOutcome.SPILLED);
    assertThat(memory.getLong(h, 0)).isEqualTo(42);
    SpillwayStats stats = spillway.statsAsync().toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertThat(stats.budgetBytes()).isEqualTo(64L << 20);
    assertThat(stats.allocator().spill().restores()).isEqualTo(1);
    assertThat(stats.pipeline().spilled()).isEqualTo(1);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> // once the tier actor has reported
        assertThat(spillway.statsAsync().toCompletableFuture().get(10, TimeUnit.SECONDS).tiers())
            .anySatisfy(t -> assertThat(t.healthy()).isTrue()));
    assertThat(spillway.maintainPoolsAsync().toCompletableFuture().get(10, TimeUnit.SECONDS)).isNotNull();
    memory.free(h);
    assertThatThrownBy(memory::close).isInstanceOf(UnsupportedOperationException.class);

    spillway.close();
    spillway.close(); // a second close does nothing
    assertThatThrownBy(spillway::memory).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    assertThatThrownBy(spillway::statsAsync).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> memory.allocate(8)).as("the allocator handed out before is closed too")
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void attachLeavesTheApplicationsSystemRunning() throws Exception {
    Spillway spillway = Spillway.attach(testKit.system(), config(tmp, ""));
    long h = spillway.memory().allocate(100);
    spillway.memory().free(h);
    spillway.close();
    assertThat(testKit.system().whenTerminated().isCompleted()).isFalse();
    Spillway again = Spillway.attach(testKit.system(), config(tmp, "")); // the directory is free again
    again.close();
  }

  @Test
  void ingestionAndExportRunThroughTheFacade() throws Exception {
    try (Spillway spillway = Spillway.create(config(tmp, ", streams.ingest-resident-bytes = 64 KiB"))) {
      List<ByteString> chunks = new java.util.ArrayList<>();
      for (int i = 0; i < 100; i++) {
        chunks.add(ByteString.fromString("chunk " + i + " ".repeat(2000)));
      }
      IngestSummary summary = Source.from(chunks).runWith(spillway.ingestSink(), testKit.system())
          .toCompletableFuture().get(30, TimeUnit.SECONDS);
      assertThat(summary.blocks()).isEqualTo(100);
      List<ByteString> back = spillway.export(summary.handles()).runWith(Sink.seq(), testKit.system())
          .toCompletableFuture().get(30, TimeUnit.SECONDS);
      assertThat(back).isEqualTo(chunks);
      for (long h : summary.handles()) {
        spillway.memory().free(h);
      }
    }
  }

  @Test
  void metricsReachThePrometheusEndpointOnLoopbackWhenTurnedOn() throws Exception {
    try (Spillway spillway = Spillway.create(config(tmp, ", metrics { tick = 20 ms, prometheus { enabled = true,"
        + " port = 0 } }"))) {
      var address = spillway.metricsEndpoint().orElseThrow();
      assertThat(address.getAddress().isLoopbackAddress()).isTrue();
      long h = spillway.memory().allocate(4096);
      spillway.memory().putLong(h, 0, 1);
      spillway.spillAsync(h).toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertThat(spillway.memory().getLong(h, 0)).isEqualTo(1); // a restore: the latency histogram
      spillway.memory().free(h);
      // Every series appears at the first tick after its first value: wait for all three.
      String body = awaitScrape(address).until(() -> scrape(address), b -> b.contains("spillway_tier_restores_total")
          && b.contains("spillway_pool_blocks_in_use") && b.contains("spillway_tier_restore_latency_seconds"));
      assertThat(body).contains("spillway_tier_restores_total").contains("spillway_pool_blocks_in_use")
          .contains("spillway_tier_restore_latency_seconds");
    }
    try (Spillway quiet = Spillway.create(config(tmp, ""))) {
      assertThat(quiet.metricsEndpoint()).as("off by default").isEmpty();
    }
  }

  /**
   * The RAM hit ratio is fed by the facade's own accesses: an access to a spilled block counts as
   * restored, the rest as served from RAM, and a prefetch's restore is not an access's miss.
   */
  @Test
  void accessesThroughMemoryFeedTheHitRatio() throws Exception {
    try (Spillway spillway = Spillway.create(config(tmp, ", control.idle.idle-after = 1 h, metrics { tick = 20 ms,"
        + " prometheus { enabled = true, port = 0 } }"))) {
      BlockAllocator memory = spillway.memory();
      long h = memory.allocate(4096);
      memory.putLong(h, 0, 5); // RAM
      spillway.spillAsync(h).toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertThat(memory.getLong(h, 0)).isEqualTo(5); // restored
      assertThat(memory.getLong(h, 0)).isEqualTo(5); // RAM
      spillway.spillAsync(h).toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertThat(memory.control().restore(h)).as("a prefetch").isTrue();
      byte[] back = new byte[8];
      memory.read(h, 0, back, 0, 8); // RAM
      memory.free(h);
      var address = spillway.metricsEndpoint().orElseThrow();
      String body = awaitScrape(address).until(() -> scrape(address), b -> sample(b, RAM_ACCESSES) == 3
          && sample(b, RESTORE_ACCESSES) == 1 && sample(b, HIT_RATIO) >= 0);
      double ram = sample(body, RAM_ACCESSES);
      double restored = sample(body, RESTORE_ACCESSES);
      double ratio = sample(body, HIT_RATIO);
      assertThat(ram).as("accesses served from RAM").isEqualTo(3);
      assertThat(restored).as("accesses that restored first").isEqualTo(1);
      assertThat(ratio).as("the ratio of a window with accesses").isBetween(0.0, 1.0);
    }
    try (Spillway off = Spillway.create(config(tmp, ", metrics { tick = 20 ms, access-counting = false,"
        + " prometheus { enabled = true, port = 0 } }"))) {
      long h = off.memory().allocate(64);
      off.memory().putLong(h, 0, 1);
      assertThat(off.memory().getLong(h, 0)).isEqualTo(1);
      off.memory().free(h);
      var address = off.metricsEndpoint().orElseThrow();
      awaitScrape(address).until(() -> scrape(address).contains("spillway_pool_blocks_in_use"));
      // Nothing counted on any scrape over a few more ticks (20 ms each), not only at one moment.
      awaitScrape(address).during(Duration.ofMillis(100)).untilAsserted(() -> {
        String body = scrape(address);
        assertThat(body).contains("spillway_pool_blocks_in_use");
        assertThat(sample(body, RAM_ACCESSES)).as("not counted").isLessThanOrEqualTo(0);
        assertThat(sample(body, HIT_RATIO)).as("no ratio without counts").isEqualTo(-1);
      });
    }
  }

  static final String RAM_ACCESSES = "spillway_accesses_total{served=\"ram\"}";
  static final String RESTORE_ACCESSES = "spillway_accesses_total{served=\"restore\"}";
  static final String HIT_RATIO = "spillway_ram_hit_ratio";
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  /** What the Prometheus endpoint at {@code address} serves now. */
  private static String scrape(InetSocketAddress address) throws Exception {
    URI uri = URI.create("http://127.0.0.1:" + address.getPort() + "/metrics");
    return HTTP.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString()).body();
  }

  /** A wait for what the endpoint at {@code address} serves: a scrape every 20 ms, for 10 s at most. */
  private static ConditionFactory awaitScrape(InetSocketAddress address) {
    return await("the scrape of " + address).atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20));
  }

  /** The value of the sample named exactly {@code series} in a Prometheus text body, or -1. */
  private static double sample(String body, String series) {
    for (String line : body.lines().toList()) {
      if (line.startsWith(series + " ")) {
        return Double.parseDouble(line.substring(series.length() + 1).trim());
      }
    }
    return -1;
  }

  @Test
  void onTheEmbeddedDefaultsCloseRemovesTheInstancesPrivateTierDirectory() {
    java.nio.file.Path dir;
    try (Spillway spillway = Spillway.create()) {
      long h = spillway.memory().allocate(4096);
      spillway.memory().putLong(h, 0, 7);
      spillway.memory().spill(h);
      dir = spillway.tierDirectories().getFirst();
      assertThat(dir).isDirectory().hasParent(java.nio.file.Path.of(System.getProperty("java.io.tmpdir")).toAbsolutePath())
          .satisfies(d -> assertThat(d.getFileName().toString()).matches("spillway-[0-9a-f]{16}"));
      assertThat(spillway.memory().getLong(h, 0)).isEqualTo(7);
      spillway.memory().free(h);
    }
    assertThat(dir).doesNotExist();
  }

  @Test
  void aMisspelledKeyOrABudgetAboveTheMachinesMemoryIsRefusedAtStartUnlessForced() {
    assertThatThrownBy(() -> Spillway.create(config(tmp, ", control.budgte = 16 MiB")))
        .isInstanceOf(SettingsException.class).hasMessageContaining("spillway.control.budgte")
        .hasMessageContaining("did you mean spillway.control.budget?");
    assertThatThrownBy(() -> Spillway.create(ConfigFactory.parseString(
        "spillway { tier.default-parent = \"" + tmp + "\", control.budget = 1 PiB }")))
        .isInstanceOf(SettingsException.class).hasMessageContaining("spillway.control.budget")
        .hasMessageContaining("is more than the").hasMessageContaining("spillway.control.budget-over-memory = true");
    assertThat(tmp).isEmptyDirectory(); // refused before anything was made
    try (Spillway forced = Spillway.create(ConfigFactory.parseString("spillway { tier.default-parent = \"" + tmp
        + "\", control { budget = 1 PiB, budget-over-memory = true } }"))) {
      assertThat(forced.memory().control().budgetBytes()).isEqualTo(1L << 50);
    }
  }

  @Test
  void slabSizesFitTheBudget() {
    try (Spillway s = Spillway.create(config(tmp, ", control.budget = 16 MiB"))) {
      assertThat(s.settings().memory().largeSlabSize()).isEqualTo(1L << 20);
      assertThat(s.settings().memory().smallSlabSize()).isEqualTo(64L << 10);
      long h = s.memory().allocate(64 << 10);
      assertThat(s.statsAsync().toCompletableFuture().join().allocator().pools()).anySatisfy(p -> {
        assertThat(p.name()).isEqualTo("64KiB");
        assertThat(p.residentBytes()).isEqualTo(1L << 20);
      });
      s.memory().free(h);
    }
  }

  @Test
  void badConfigurationFailsAtStartNamingTheKey() {
    assertThatThrownBy(() -> Spillway.create(config(tmp, ", control.budget = 3 KiB")))
        .isInstanceOf(SettingsException.class).hasMessageContaining("spillway.control.budget");
    assertThatThrownBy(() -> Spillway.attach(null, config(tmp, ""))).isInstanceOf(NullPointerException.class)
        .hasMessageContaining("system");
  }
}
