package dev.spillway.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.spillway.actors.metrics.SpillwayMetric;
import dev.spillway.config.KnownKeys;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Every {@code spillway.<key>} that the sources, their javadoc and the documentation name must be a
 * key or section that reference.conf defines, so that no message or page sends an operator to a key
 * that does not exist (as "raise spillway.memory.budget" once did; the key is spillway.control.budget).
 * Scanned: {@code <module>/src/main/java/**}{@code /*.java} of every module, the {@code *.md} files at
 * the root (README, BENCHMARKS) and {@code docs/*.md}. Surefire runs in this module's directory, so
 * the repository is its parent.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ConfigKeysInSourcesTest {
  private static final Path REPOSITORY = Path.of("..").toAbsolutePath().normalize();

  /**
   * {@code spillway.} followed by path segments, standing alone: not inside a Java name ({@code
   * dev.spillway.config}, {@code SpillwaySettings.ROOT}), a file path or a word; {@code -Dspillway.x}
   * counts, as a system property given to the JVM is read as configuration.
   */
  private static final Pattern KEY = Pattern.compile("(?:(?<=-D)|(?<![\\w.$/-]))spillway(?:\\.[A-Za-z0-9_-]+)+");

  /**
   * Names under {@code spillway.} that are not configuration keys: the build's two Maven properties,
   * {@code spillway.args} (the cli module's arguments for {@code exec:exec}, {@code
   * -Dspillway.args="ingest big.bin"}) and {@code spillway.jvm.flags} (the root pom's flags for every
   * launch). Spillway never reads them, and skips them when Maven hands them to a test JVM as system
   * properties (dev.spillway.config.UnknownKeys explains why). Kamon's instrument names, from which
   * the Prometheus names derive, come from {@link SpillwayMetric} itself rather than from a list.
   */
  private static final Set<String> NOT_KEYS = Set.of("spillway.args", "spillway.jvm.flags");

  private static final Set<String> KAMON_NAMES =
      Arrays.stream(SpillwayMetric.values()).map(SpillwayMetric::kamonName).collect(Collectors.toSet());

  /** A key found in a file that reference.conf does not define. */
  private record Finding(Path file, int line, String key) {
    @Override
    public String toString() {
      String hint = KnownKeys.reference().nearest(key).map(k -> " (did you mean " + k + "?)").orElse("");
      return REPOSITORY.relativize(file) + ":" + line + ": " + key + " is not in reference.conf" + hint;
    }
  }

  @Test
  void everyKeyTheSourcesAndDocsNameExists() {
    List<Path> files = scannedFiles();
    KnownKeys known = KnownKeys.reference();
    List<Finding> unknown = new ArrayList<>();
    for (Path file : files) {
      List<String> lines = read(file);
      for (int i = 0; i < lines.size(); i++) {
        for (String key : keysIn(lines.get(i))) {
          if (!known.defines(key) && !NOT_KEYS.contains(key) && !KAMON_NAMES.contains(key)) {
            unknown.add(new Finding(file, i + 1, key));
          }
        }
      }
    }
    assertThat(unknown).as("spillway.* names that are not keys of reference.conf").isEmpty();
  }

  @Test
  void theScanCoversEveryModuleAndTheDocs() {
    // A scan that found no files would pass without checking anything.
    List<String> scanned = scannedFiles().stream().map(f -> REPOSITORY.relativize(f).toString()).toList();
    for (String module : List.of("config", "core", "streams", "actors", "cli", "bench")) {
      assertThat(scanned).anyMatch(f -> f.startsWith(module + "/src/main/java/"));
    }
    assertThat(scanned).contains("README.md", "docs/HANDLES.md", "docs/FORMAT.md")
        .contains("core/src/main/java/dev/spillway/core/memory/MemoryBudget.java");
  }

  @Test
  void theKeyPatternFindsKeysAndLeavesJavaNamesAlone() {
    assertThat(keysIn("raise spillway.control.budget.")).containsExactly("spillway.control.budget");
    assertThat(keysIn("`spillway.memory.pools.classes.\"4KiB\".max-blocks`"))
        .containsExactly("spillway.memory.pools.classes");
    assertThat(keysIn("mvn exec:exec -Dspillway.args=\"x\" -Dspillway.control.budgte=1G"))
        .containsExactly("spillway.args", "spillway.control.budgte");
    assertThat(keysIn("import dev.spillway.config.KnownKeys; spillway.statsAsync().join(); SpillwaySettings.ROOT"))
        .isEmpty();
    assertThat(keysIn("/var/tmp/spillway-1234 spillway_pool_resident_bytes my.spillway.x")).isEmpty();
    assertThat(KnownKeys.reference().defines("spillway.memory.budget")).isFalse();
  }

  /** The {@code spillway.*} keys named on one line; a name followed by {@code (} is a method call on a variable. */
  static List<String> keysIn(String line) {
    List<String> keys = new ArrayList<>();
    Matcher m = KEY.matcher(line);
    while (m.find()) {
      if (m.end() < line.length() && line.charAt(m.end()) == '(') {
        continue;
      }
      String key = m.group();
      while (key.endsWith(".") || key.endsWith("-") || key.endsWith("_")) {
        key = key.substring(0, key.length() - 1); // the end of a sentence, not of the key
      }
      keys.add(key);
    }
    return keys;
  }

  private static List<Path> scannedFiles() {
    List<Path> files = new ArrayList<>();
    try (Stream<Path> top = Files.list(REPOSITORY)) {
      for (Path entry : top.sorted().toList()) {
        Path sources = entry.resolve("src/main/java");
        if (Files.isDirectory(sources)) {
          try (Stream<Path> java = Files.walk(sources)) {
            java.filter(f -> f.toString().endsWith(".java")).sorted().forEach(files::add);
          }
        } else if (entry.getFileName().toString().endsWith(".md")) {
          files.add(entry);
        }
      }
      try (Stream<Path> docs = Files.list(REPOSITORY.resolve("docs"))) {
        docs.filter(f -> f.toString().endsWith(".md")).sorted().forEach(files::add);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return files;
  }

  private static List<String> read(Path file) {
    try {
      return Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
