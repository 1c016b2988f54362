package dev.spillway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import com.typesafe.config.ConfigFactory;
import dev.spillway.config.MapSettings;
import dev.spillway.map.MapClosedException;
import dev.spillway.map.MapStats;
import dev.spillway.map.RemovalCause;
import dev.spillway.map.SpillMap;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import kamon.Kamon;
import kamon.status.Status;
import kamon.tag.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Keyed maps through the facade: one instance per name, types checked, reopened after a close,
 * closed with the facade, bigger than the budget, Kryo types from the configuration, streams and
 * metrics.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class SpillwayMapTest {
  @TempDir Path tmp;

  private Spillway start(String extra) {
    return Spillway.create(ConfigFactory.parseString("spillway { tier.directories = [\"" + tmp.toAbsolutePath()
        + "\"], tier.durability = none, control { budget = 64 MiB, pressure.interval = 10 ms,"
        + " idle { sweep-interval = 10 ms, idle-after = 20 ms, shrink-after = 200 ms } } " + extra + " }"));
  }

  @Test
  void theSameNameGivesTheSameMapAndOtherTypesAreRefusedNamingBoth() {
    try (Spillway spillway = start("")) {
      SpillMap<String, byte[]> users = spillway.map("users", String.class, byte[].class);
      users.put("ada", new byte[] {1, 2, 3});
      assertThat(spillway.map("users", String.class, byte[].class)).isSameAs(users);
      assertThat(users.name()).isEqualTo("users");
      assertThatThrownBy(() -> spillway.map("users", Long.class, byte[].class))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("map 'users'")
          .hasMessageContaining("keys java.lang.String and values byte[]")
          .hasMessageContaining("keys java.lang.Long and values byte[]");
      assertThatThrownBy(() -> spillway.map("users", String.class, String.class))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("values java.lang.String");
      assertThat(spillway.map("other", String.class, byte[].class)).isNotSameAs(users).isEmpty();
      assertThat(users.get("ada")).containsExactly(1, 2, 3);
    }
  }

  @Test
  void badArgumentsFailWithClearMessages() {
    try (Spillway spillway = start("")) {
      assertThatThrownBy(() -> spillway.map(null, String.class, String.class))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("map name null is not allowed");
      assertThatThrownBy(() -> spillway.map("no spaces", String.class, String.class))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("\"no spaces\" is not allowed")
          .hasMessageContaining("letters, digits");
      assertThatThrownBy(() -> spillway.map("m", null, String.class))
          .isInstanceOf(NullPointerException.class).hasMessageContaining("map 'm': keyType");
      assertThatThrownBy(() -> spillway.map("m", String.class, null))
          .isInstanceOf(NullPointerException.class).hasMessageContaining("map 'm': valueType");
      assertThatThrownBy(() -> spillway.map("m", String.class, String.class, null))
          .isInstanceOf(NullPointerException.class).hasMessageContaining("options");
      assertThatThrownBy(() -> spillway.map("m", String.class, Thread.class))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("java.lang.Thread is not registered with Kryo")
          .hasMessageContaining("spillway.codec.kryo.classes");
      assertThatThrownBy(() -> spillway.mapSink(null)).isInstanceOf(NullPointerException.class);
      // Nothing was opened by the failed calls.
      assertThat(spillway.map("m", String.class, Long.class)).isEmpty();
    }
  }

  @Test
  void optionsApplyWhenAMapOpensAndAreRefusedForAnOpenOne() {
    try (Spillway spillway = start("")) {
      List<String> removed = new CopyOnWriteArrayList<>();
      SpillMap<String, String> cache = spillway.map("cache", String.class, String.class, b -> b
          .settings(MapSettings.builder("cache").maximumEntries(100).segments(1).build())
          .removalListener((k, v, cause) -> removed.add(k + "=" + v + ":" + cause)));
      assertThat(cache.settings().mode()).isEqualTo(MapSettings.Mode.CACHE);
      cache.put("a", "1");
      cache.put("a", "2");
      cache.remove("a");
      assertThat(removed).containsExactly("a=1:" + RemovalCause.REPLACED, "a=2:" + RemovalCause.EXPLICIT);
      assertThat(spillway.map("cache", String.class, String.class)).isSameAs(cache);
      assertThatThrownBy(() -> spillway.map("cache", String.class, String.class, b -> {}))
          .isInstanceOf(IllegalStateException.class).hasMessageContaining("map 'cache' is open already");
      assertThatThrownBy(() -> spillway.map("renamed", String.class, String.class,
          b -> b.settings(MapSettings.builder("another").build())))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("map 'renamed'")
          .hasMessageContaining("'another'");
      assertThat(spillway.map("renamed", String.class, String.class).name()).isEqualTo("renamed");
    }
  }

  @Test
  void theSettingsComeFromSpillwayMapsNameOverTheDefault() {
    try (Spillway spillway = start(", maps { default.segments = 4, sessions { mode = cache,"
        + " maximum-entries = 1000, expire-after-access = 30 minutes } }")) {
      SpillMap<String, byte[]> sessions = spillway.map("sessions", String.class, byte[].class);
      assertThat(sessions.settings().mode()).isEqualTo(MapSettings.Mode.CACHE);
      assertThat(sessions.settings().maximumEntries()).isEqualTo(1000);
      assertThat(sessions.settings().segments()).as("from the default").isEqualTo(4);
      assertThat(sessions.settings().expireAfterAccess()).isEqualTo(Duration.ofMinutes(30));
      assertThat(spillway.map("plain", String.class, byte[].class).settings().mode()).isEqualTo(MapSettings.Mode.STORE);
    }
  }

  @Test
  void aClosedMapIsOpenedAgainEmptyAndTheFacadesCloseClosesEveryMap() {
    Spillway spillway = start("");
    SpillMap<Long, String> first = spillway.map("m", Long.class, String.class);
    first.put(1L, "one");
    first.close();
    assertThat(first.isClosed()).isTrue();
    SpillMap<Long, String> again = spillway.map("m", Long.class, String.class);
    assertThat(again).isNotSameAs(first).isEmpty();
    assertThat(spillway.map("m", Long.class, String.class)).isSameAs(again);
    first.close(); // a second close of the old one changes nothing
    SpillMap<Long, String> byAnotherType = spillway.map("n", Long.class, String.class);
    byAnotherType.close();
    assertThat(spillway.map("n", String.class, String.class)).as("closed: opened again with any types").isEmpty();
    again.put(2L, "two");
    long blocks = spillway.memory().stats().blocksInUse();
    assertThat(blocks).isPositive();

    spillway.close();
    assertThat(again.isClosed()).isTrue();
    assertThatThrownBy(() -> again.get(2L)).isInstanceOf(MapClosedException.class);
    assertThatThrownBy(() -> spillway.map("m", Long.class, String.class))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    assertThatThrownBy(() -> spillway.mapSource(again)).isInstanceOf(IllegalStateException.class);
  }

  /**
   * A map four times the budget: every value comes back exact, the first ones from NVMe, and the
   * control plane made room by asking the map to demote its coldest entries.
   */
  @Test
  void aMapFourTimesTheBudgetReadsBackEveryValue() {
    try (Spillway spillway = Spillway.create(ConfigFactory.parseString("spillway { tier.directories = [\""
        + tmp.toAbsolutePath() + "\"], tier.durability = none, control { budget = 8 MiB, budget-slack = 0.125,"
        + " allocate-timeout = 20 s, pressure.interval = 5 ms, idle { sweep-interval = 5 ms, idle-after = 15 ms,"
        + " shrink-after = 1 s } } }"))) {
      SpillMap<Long, byte[]> values = spillway.map("values", Long.class, byte[].class);
      int n = (int) (4 * (8L << 20) / 4096);
      long maxMapped = 0;
      for (int i = 0; i < n; i++) {
        values.set((long) i, value(i));
        maxMapped = Math.max(maxMapped, spillway.memory().control().mappedBytes());
      }
      assertThat(values).hasSize(n);
      for (int i = 0; i < n; i++) {
        byte[] back = values.get((long) i);
        if (!Arrays.equals(back, value(i))) {
          throw new AssertionError("value " + i + " read back wrong");
        }
      }
      MapStats stats = values.stats();
      assertThat(stats.l3Hits()).as("values brought back from NVMe").isPositive();
      assertThat(stats.hits()).isEqualTo(n);
      assertThat(stats.demotions()).as("the control plane asked the map first").isPositive();
      assertThat(maxMapped).as("within the budget and its slack").isLessThanOrEqualTo((8L << 20) + (1L << 20));
    }
  }

  private static byte[] value(int i) {
    byte[] b = new byte[4096];
    new SplittableRandom(i).nextBytes(b);
    ByteBuffer.wrap(b).putInt(0, i);
    return b;
  }

  @Test
  void aClassListedInKryoClassesIsAValueType() {
    try (Spillway spillway = start(", codec.kryo.classes = [\"" + Point.class.getName() + "\"]")) {
      SpillMap<String, Point> points = spillway.map("points", String.class, Point.class);
      points.put("origin", new Point(0, 0));
      points.put("p", new Point(3, 4));
      assertThat(points.get("p")).isEqualTo(new Point(3, 4));
      assertThat(points.remove("origin", new Point(0, 0))).as("values compare by their bytes").isTrue();
      SpillMap<Point, Long> byPoint = spillway.map("by-point", Point.class, Long.class);
      byPoint.put(new Point(1, 2), 12L);
      assertThat(byPoint.get(new Point(1, 2))).isEqualTo(12L);
    }
  }

  @Test
  void entriesGoInThroughTheSinkAndComeOutThroughTheSource() throws Exception {
    try (Spillway spillway = start("")) {
      SpillMap<String, byte[]> map = spillway.map("bulk", String.class, byte[].class);
      List<Map.Entry<String, byte[]>> input = new ArrayList<>();
      for (int i = 0; i < 3000; i++) {
        input.add(Map.entry("k" + (i % 1000), value(i))); // each key three times: the last write stays
      }
      long written = Source.from(input).runWith(spillway.mapSink(map), spillway.system())
          .toCompletableFuture().get(60, TimeUnit.SECONDS);
      assertThat(written).isEqualTo(3000);
      assertThat(map).hasSize(1000);
      map.demote(Long.MAX_VALUE);
      List<Map.Entry<String, byte[]>> back = spillway.mapSource(map).runWith(Sink.seq(), spillway.system())
          .toCompletableFuture().get(60, TimeUnit.SECONDS);
      assertThat(back).hasSize(1000);
      for (Map.Entry<String, byte[]> e : back) {
        int last = 2000 + Integer.parseInt(e.getKey().substring(1));
        assertThat(e.getValue()).as(e.getKey()).isEqualTo(value(last));
      }
    }
  }

  @Test
  void eachOpenMapHasItsSeriesUntilItCloses() throws Exception {
    try (Spillway spillway = start(", metrics { tick = 20 ms, prometheus { enabled = true, port = 0 } }")) {
      SpillMap<String, String> users = spillway.map("users", String.class, String.class);
      users.put("a", "1");
      users.put("b", "2");
      users.get("a");
      users.get("zz");
      var address = spillway.metricsEndpoint().orElseThrow();
      HttpClient http = HttpClient.newHttpClient();
      URI uri = URI.create("http://127.0.0.1:" + address.getPort() + "/metrics");
      await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).untilAsserted(() -> {
        String body = http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString()).body();
        assertThat(body).contains("spillway_map_entries{map=\"users\"} 2.0")
            .contains("spillway_map_misses_total{map=\"users\"} 1.0")
            .contains("spillway_map_puts_total{map=\"users\"} 2.0")
            .contains("spillway_map_hit_ratio{map=\"users\"} ");
        assertThat(body.lines().filter(l -> l.startsWith("spillway_map_hits_total{") && l.contains("map=\"users\"")
            && l.contains("level=\"l2\"")).toList()).singleElement().asString().endsWith(" 1.0");
      });
      users.close();
      // Kamon drops the removed instruments at its next tick.
      await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).until(() -> !hasSeriesOf("users"));
      assertThat(spillway.map("users", String.class, String.class)).as("opened again, empty").isEmpty();
    }
  }

  /** Whether Kamon's registry holds an instrument tagged {@code map=<name>}. */
  private static boolean hasSeriesOf(String name) {
    for (Status.Metric m : CollectionConverters.asJava(Kamon.status().metricRegistry().metrics())) {
      for (Status.Instrument i : CollectionConverters.asJava(m.instruments())) {
        for (Tag t : CollectionConverters.asJava(i.tags().all())) {
          if (t.key().equals("map") && name.equals(Tag.unwrapValue(t))) {
            return true;
          }
        }
      }
    }
    return false;
  }

  /** A class registered with Kryo through spillway.codec.kryo.classes. */
  static final class Point {
    int x;
    int y;

    Point() {}

    Point(int x, int y) {
      this.x = x;
      this.y = y;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Point p && p.x == x && p.y == y;
    }

    @Override
    public int hashCode() {
      return Objects.hash(x, y);
    }
  }
}
