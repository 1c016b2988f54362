package dev.spillway;

import static org.assertj.core.api.Assertions.assertThat;

import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import com.typesafe.config.ConfigFactory;
import dev.spillway.config.MapSettings;
import dev.spillway.config.SpillwaySettings;
import dev.spillway.map.MapStats;
import dev.spillway.map.SpillMap;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The keyed-store examples of README.md ("The keyed store: SpillMap") work as written: the Java
 * example is this test's code line for line (each of its lines must appear in this file), and the
 * HOCON example is read as settings. Surefire runs in the module's directory: the README is in its
 * parent.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class ReadmeMapExampleTest {
  private static final Path README = Path.of("..", "README.md");
  private static final Path THIS_FILE = Path.of("src/test/java/dev/spillway/ReadmeMapExampleTest.java");
  private static final String SECTION = "## The keyed store: SpillMap";

  @Test
  void theJavaExampleIsThisTestsCode() throws IOException {
    List<String> example = block("java");
    assertThat(example).as("the README's example").hasSizeGreaterThan(5);
    List<String> mine = Files.readAllLines(THIS_FILE, StandardCharsets.UTF_8).stream().map(String::strip).toList();
    for (String line : example) {
      assertThat(mine).as("README line: %s", line).contains(line.strip());
    }
  }

  @Test
  void theJavaExampleRuns() {
    // From the README, line for line:
    try (Spillway spillway = Spillway.create()) {
      SpillMap<String, byte[]> users = spillway.map("users", String.class, byte[].class); // one map per name
      users.put("ada", "Ada Lovelace".getBytes(StandardCharsets.UTF_8));      // copied off the heap
      byte[] ada = users.get("ada");                                          // a new array, from RAM or NVMe
      users.computeIfAbsent("alan", name -> name.getBytes(StandardCharsets.UTF_8)); // atomic per key
      boolean removed = users.remove("ada", "Ada Lovelace".getBytes(StandardCharsets.UTF_8)); // by bytes: true
      MapStats stats = users.stats();                                         // hits per level, demotions, ...
      long loaded = Source.from(List.of(Map.entry("grace", new byte[] {1})))  // bulk load through a stream
          .runWith(spillway.mapSink(users), spillway.system()).toCompletableFuture().join();
      List<Map.Entry<String, byte[]>> all = spillway.mapSource(users)         // export: NVMe values not restored
          .runWith(Sink.seq(), spillway.system()).toCompletableFuture().join();
      SpillMap<Long, String> recent = spillway.map("recent", Long.class, String.class, b -> b
          .settings(MapSettings.builder("recent").maximumEntries(10_000).build())   // settings in code
          .removalListener((key, value, cause) -> System.out.println(key + " left: " + cause)));
      // What the comments say:
      assertThat(new String(ada, StandardCharsets.UTF_8)).isEqualTo("Ada Lovelace");
      assertThat(removed).isTrue();
      assertThat(stats.hits()).isPositive();
      assertThat(loaded).isEqualTo(1);
      assertThat(all).extracting(Map.Entry::getKey).containsExactlyInAnyOrder("alan", "grace");
      assertThat(recent.settings().maximumEntries()).isEqualTo(10_000);
      assertThat(spillway.map("users", String.class, byte[].class)).isSameAs(users);
    }
  }

  @Test
  void theHoconExampleIsValidSettings() throws IOException {
    String hocon = String.join("\n", block("hocon"));
    SpillwaySettings settings = SpillwaySettings.from(ConfigFactory.parseString(hocon));
    MapSettings sessions = settings.mapSettings("sessions");
    assertThat(sessions.mode()).isEqualTo(MapSettings.Mode.CACHE);
    assertThat(sessions.maximumBytes()).isEqualTo(256L << 20);
    assertThat(sessions.l1Entries()).isEqualTo(10_000);
    assertThat(sessions.expireAfterAccess()).isEqualTo(Duration.ofMinutes(30));
    assertThat(sessions.segments()).as("from the default").isEqualTo(16);
    assertThat(settings.mapSettings("users").segments()).isEqualTo(16);
  }

  /** The lines of the first {@code ```<language>} block of the keyed-store section. */
  private static List<String> block(String language) throws IOException {
    List<String> lines = Files.readAllLines(README, StandardCharsets.UTF_8);
    int start = lines.indexOf(SECTION);
    assertThat(start).as("README has the section " + SECTION).isNotNegative();
    List<String> out = new ArrayList<>();
    boolean in = false;
    for (int i = start + 1; i < lines.size() && !lines.get(i).startsWith("## "); i++) {
      String line = lines.get(i);
      if (!in && line.equals("```" + language)) {
        in = true;
      } else if (in && line.equals("```")) {
        return out;
      } else if (in) {
        out.add(line);
      }
    }
    throw new AssertionError("no ```" + language + " block in the section " + SECTION);
  }
}
