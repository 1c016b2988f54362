package dev.spillway.actors.metrics;

import static org.awaitility.Awaitility.await;

import dev.spillway.config.MetricsSettings;
import dev.spillway.config.SpillwaySettings;
import dev.spillway.map.MapStats;
import dev.spillway.memory.AllocatorStats;
import dev.spillway.memory.PoolStats;
import dev.spillway.memory.SpillStats;
import dev.spillway.memory.TierStats;
import dev.spillway.streams.spill.PipelineStats;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import kamon.Kamon;
import kamon.metric.Instrument;
import kamon.status.Status;
import kamon.tag.Tag;
import kamon.tag.TagSet;
import scala.jdk.javaapi.CollectionConverters;

/** Synthetic stats, and ways to read Spillway's series back from Kamon and from the scrape text. */
final class MetricsTestSupport {

  /** A tick short enough that the scrape text follows an update within a few tens of milliseconds. */
  static final Duration TICK = Duration.ofMillis(50);

  private MetricsTestSupport() {}

  /** The embedded defaults with a short tick: the endpoint off. */
  static MetricsSettings endpointOff() {
    return SpillwaySettings.defaults().metrics().withTick(TICK);
  }

  /** The endpoint on, on any free port. */
  static MetricsSettings endpointOnAnyPort() {
    return endpointOff().withPrometheus(true, 0);
  }

  static PoolStats pool(String name, long blockSize, long capacityBlocks, long inUse, long allocations, long frees) {
    return new PoolStats(name, blockSize, 1, capacityBlocks, inUse, 0, capacityBlocks - inUse,
        capacityBlocks * blockSize, inUse * blockSize, inUse * blockSize, 64, allocations, frees, 0, 1 << 20);
  }

  static PoolStats huge(long blocks, long bytes, long allocations, long frees) {
    return new PoolStats("huge", 0, (int) blocks, blocks, blocks, 0, 0, bytes, bytes, bytes, 32, allocations, frees, 0, 0);
  }

  /** Spill figures in the order of the counters they feed. */
  static SpillStats spill(long spills, long restores, long rawBytes, long storedBytes, long failedSpills,
      long failedRestores, long busySpills, long spilledBlocks, TierStats tier) {
    return new SpillStats(spilledBlocks, spilledBlocks * 4096, 0, spills, restores, 0, busySpills, failedSpills,
        failedRestores, rawBytes, storedBytes, tier);
  }

  static SpillStats noSpills() {
    return spill(0, 0, 0, 0, 0, 0, 0, 0, null);
  }

  static TierStats tier(long bytesOnDisk, long liveBytes) {
    return new TierStats(1, bytesOnDisk, liveBytes, 1, 0, 1);
  }

  static AllocatorStats stats(List<PoolStats> pools, PoolStats huge, SpillStats spill) {
    return new AllocatorStats(pools, huge, 1, 1024, 0, spill);
  }

  static PipelineStats pipeline(int inFlight, long rejectedFull) {
    return new PipelineStats(inFlight, 10, rejectedFull, 5, 0, 0, 1, 1, 0, 4096, 4096, 0);
  }

  /**
   * A map's figures: hits per level, misses, removals by cause (explicit, evicted, expired), and the
   * rest derived from {@code base} so that each counter has a figure of its own.
   */
  static MapStats mapStats(String name, long entries, long l1Hits, long l2Hits, long l3Hits, long misses, long base) {
    return new MapStats(name, entries, entries / 2, l1Hits, l2Hits, l3Hits, misses, base + 1, base + 2, base + 3,
        base + 4, base + 5, base + 6, base + 7, (base + 8) * 1_000_000_000L, 4096 * entries);
  }

  /** The value Kamon's registry holds for a gauge now (gauges keep their value across ticks). */
  static double gauge(SpillwayMetric metric, TagSet tags) {
    Instrument<?, ?> gauge = Kamon.gauge(metric.kamonName(), metric.description(), metric.unit()).withTags(tags);
    return ((Number) ((Instrument.Snapshotting<?>) gauge).snapshot(false)).doubleValue();
  }

  /** The tag sets of every instrument Kamon's registry holds for {@code metric}, each as a map. */
  static List<Map<String, String>> instrumentTags(SpillwayMetric metric) {
    for (Status.Metric m : CollectionConverters.asJava(Kamon.status().metricRegistry().metrics())) {
      if (m.name().equals(metric.kamonName())) {
        return CollectionConverters.asJava(m.instruments()).stream().map(i -> asMap(i.tags())).toList();
      }
    }
    return List.of();
  }

  private static Map<String, String> asMap(TagSet tags) {
    Map<String, String> out = new HashMap<>();
    for (Tag tag : CollectionConverters.asJava(tags.all())) {
      out.put(tag.key(), String.valueOf(Tag.unwrapValue(tag)));
    }
    return out;
  }

  /**
   * The value of one sample line of a scrape, {@code series} being the name with its labels exactly
   * as served (e.g. {@code spillway_tier_spills_total{tier="nvme"}}); empty when absent.
   */
  static OptionalDouble sample(String scrape, String series) {
    for (String line : scrape.lines().toList()) {
      if (line.startsWith(series + " ")) {
        return OptionalDouble.of(Double.parseDouble(line.substring(series.length() + 1).trim()));
      }
    }
    return OptionalDouble.empty();
  }

  /** Waits (a few ticks at most) until the scrape text shows {@code series} with {@code value}. */
  static void awaitSample(SpillwayMetrics metrics, String series, double value) {
    await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
        .until(() -> sample(metrics.scrapeData(), series).equals(OptionalDouble.of(value)));
  }

  /**
   * Waits until Kamon holds no instrument of any Spillway series: removed instruments go at Kamon's
   * next tick, so a test that starts right after another's close would otherwise still see them.
   */
  static void awaitNoSpillwaySeries() {
    await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).until(() ->
        java.util.Arrays.stream(SpillwayMetric.values()).allMatch(m -> instrumentTags(m).isEmpty()));
  }

  /** A plain request through no proxy. */
  static HttpResponse<String> get(InetSocketAddress address, String path, String method)
      throws IOException, InterruptedException {
    try (HttpClient client = HttpClient.newBuilder().proxy(HttpClient.Builder.NO_PROXY)
        .connectTimeout(Duration.ofSeconds(5)).build()) {
      URI uri = URI.create("http://" + address.getAddress().getHostAddress() + ":" + address.getPort() + path);
      HttpRequest request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5))
          .method(method, HttpRequest.BodyPublishers.noBody()).build();
      return client.send(request, HttpResponse.BodyHandlers.ofString());
    }
  }
}
