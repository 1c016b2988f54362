package dev.spillway.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Keys under spillway that reference.conf does not define are refused, all at once, with a suggestion. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class UnknownKeysTest {

  private static SettingsException refused(String hocon) {
    return refused(ConfigFactory.parseString(hocon));
  }

  private static SettingsException refused(Config config) {
    try {
      SpillwaySettings.from(config);
    } catch (SettingsException e) {
      return e;
    }
    throw new AssertionError("accepted: " + config.root().render());
  }

  /** The way ConfigFactory.load() reads system properties, without changing this JVM's. */
  private static Config asSystemProperties(String... keysAndValues) {
    Properties p = new Properties();
    for (int i = 0; i < keysAndValues.length; i += 2) {
      p.setProperty(keysAndValues[i], keysAndValues[i + 1]);
    }
    return ConfigFactory.parseProperties(p,
        ConfigParseOptions.defaults().setOriginDescription(UnknownKeys.SYSTEM_PROPERTIES));
  }

  @Test
  void aMisspeltBudgetIsRefusedWithTheRealKeyAndWhereItWasSet() {
    SettingsException e = refused("spillway.control.budgte = 16 MiB");
    assertThat(e.key()).isEqualTo("spillway.control.budgte");
    assertThat(e.getMessage()).isEqualTo("""
        spillway.control.budgte: is not a Spillway setting (set in String: 1); did you mean spillway.control.budget?
        Spillway reads only the keys its reference.conf defines: correct or remove this key.""");
  }

  @Test
  void everyUnknownKeyIsReportedInOneMessageInPathOrder() {
    SettingsException e = refused("""
        spillway {
          tier.segmnt-size = 1 GiB
          control { budgte = 16 MiB, budget = 1 GiB }
          metrics.prometheus.hots = "127.0.0.1"
        }""");
    assertThat(e.keys()).containsExactly(
        "spillway.control.budgte", "spillway.metrics.prometheus.hots", "spillway.tier.segmnt-size");
    assertThat(e.getMessage().lines())
        .containsExactly(
            "spillway.control.budgte: is not a Spillway setting (set in String: 3); did you mean spillway.control.budget?",
            "spillway.metrics.prometheus.hots: is not a Spillway setting (set in String: 4); did you mean"
                + " spillway.metrics.prometheus.host?",
            "spillway.tier.segmnt-size: is not a Spillway setting (set in String: 2); did you mean"
                + " spillway.tier.segment-size?",
            "Spillway reads only the keys its reference.conf defines: correct or remove these 3 keys.");
  }

  @Test
  void aKeyInAFileNamesTheFileAndLine(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("application.conf");
    Files.writeString(file, "# settings\nspillway {\n  memory.max-blok-size = 64 MiB\n}\n");
    SettingsException e = refused(ConfigFactory.parseFile(file.toFile()));
    assertThat(e.getMessage()).startsWith("spillway.memory.max-blok-size: is not a Spillway setting (set in "
        + file + ": 3); did you mean spillway.memory.max-block-size?");
  }

  @Test
  void aKeyFromSystemPropertiesSaysSo() {
    assertThat(refused(asSystemProperties("spillway.control.budgte", "16 MiB")).getMessage())
        .startsWith("spillway.control.budgte: is not a Spillway setting (set in system properties);");
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource(delimiter = '|', value = {
    "spillway.control.budgte = 1 GiB              | spillway.control.budget",
    "spillway.memory.budget = 1 GiB               | spillway.control.budget",
    "spillway.budget = 1 GiB                      | spillway.control.budget",
    "spillway.control.sweep-interval = 1 s        | spillway.control.idle.sweep-interval",
    "spillway.control.Budget_Fraction = 0.5       | spillway.control.budget-fraction",
    "spillway.tier.max_block_size = 1 MiB         | spillway.memory.max-block-size",
    "spillway.contrl { budget = 1 GiB }           | spillway.control",
    "spillway.control.budget-over-memroy = true   | spillway.control.budget-over-memory",
    "spillway.memory.pools.classes { \"4KiB\" { max-block = 3 } } | spillway.memory.pools.classes.4KiB.max-blocks",
  })
  void theClosestRealKeyIsSuggested(String hocon, String suggestion) {
    assertThat(refused(hocon).getMessage()).contains("did you mean " + suggestion + "?");
  }

  @Test
  void withoutACloseKeyTheKeysOfItsSectionAreListed() {
    assertThat(refused("spillway.tier.size = 1 GiB").getMessage()).startsWith("spillway.tier.size: is not a Spillway"
        + " setting (set in String: 1); allowed in spillway.tier: compaction, default-parent, directories, durability, segment-size\n");
    assertThat(refused("spillway.storage = 1").getMessage())
        .contains("allowed in spillway: codec, control, maps, memory, metrics, spill, streams, tier\n");
  }

  @Test
  void anUnknownSectionIsReportedOnceNotKeyByKey() {
    SettingsException e = refused("spillway.contrl { budget = 1 GiB, idle.sweep-interval = 1 s }");
    assertThat(e.keys()).containsExactly("spillway.contrl");
  }

  @Test
  void aClassOverrideMayHoldOnlyItsTwoKeys() {
    assertThatCode(() -> SpillwaySettings.from(ConfigFactory.parseString(
        "spillway.memory.pools.classes { \"4KiB\" { initial-blocks = 1, max-blocks = 8 }, \"64B\" { max-blocks = 2 } }")))
        .doesNotThrowAnyException();
    SettingsException e = refused("spillway.memory.pools.classes { \"4KiB\" { maximum = 3, max-blocks = 8 } }");
    assertThat(e.keys()).containsExactly("spillway.memory.pools.classes.4KiB.maximum");
    assertThat(e.getMessage()).contains("allowed in spillway.memory.pools.classes.4KiB: initial-blocks, max-blocks");
  }

  @Test
  void theIoDispatcherIsAkkasToRead() {
    // The streams module's reference.conf defines it; Akka reads whatever a dispatcher section holds.
    assertThatCode(() -> SpillwaySettings.from(ConfigFactory.parseString(
        "spillway.streams.io-dispatcher { executor = fork-join-executor, fork-join-executor.parallelism-max = 4 }")))
        .doesNotThrowAnyException();
  }

  @Test
  void keysOutsideSpillwayAreNeverLookedAt() {
    assertThatCode(() -> SpillwaySettings.from(ConfigFactory.parseString(
        "akka.actor.no-such-thing = 1, kamon.whatever = 2, myapp.spillway.budgte = 3, spillwayx.a = 4")))
        .doesNotThrowAnyException();
  }

  @Test
  void theEmbeddedDefaultsAndTheWholeSystemConfigurationPass() {
    assertThat(UnknownKeys.find(ConfigFactory.defaultReference(), KnownKeys.reference())).isEmpty();
    assertThat(UnknownKeys.find(ConfigFactory.load(), KnownKeys.reference())).isEmpty();
  }

  @Test
  void aValueWhereASectionBelongsIsLeftToItsReader() {
    assertThat(UnknownKeys.find(ConfigFactory.parseString("spillway.memory.thread-cache = 5")
        .withFallback(ConfigFactory.defaultReference()), KnownKeys.reference())).isEmpty();
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {"spillway.args | spillway.args", "spillway.jvm.flags | spillway.jvm"})
  void theBuildsMavenPropertiesAreSkippedOnlyAsSystemProperties(String property, String reported) {
    assertThatCode(() -> SpillwaySettings.from(asSystemProperties(property, "inspect /tmp")))
        .doesNotThrowAnyException();
    assertThat(refused(ConfigFactory.parseString(property + " = x")).keys()).containsExactly(reported);
    // Another unknown key next to it is still refused, and named alone.
    assertThat(refused(asSystemProperties(property, "x", "spillway.tier.size", "1")).keys())
        .containsExactly("spillway.tier.size");
  }

  @Test
  void realSystemPropertiesAreCheckedAndMavensSpillwayArgsIsSkipped() {
    // What surefire does with `mvn verify -Dspillway.args=...`: the property reaches this JVM, where
    // ConfigFactory.load() and even ConfigFactory.defaultReference() lay it over the configuration.
    withSystemProperty("spillway.args", "inspect /var/tmp/spillway-1", () -> {
      assertThat(ConfigFactory.load().getString("spillway.args")).isEqualTo("inspect /var/tmp/spillway-1");
      assertThatCode(SpillwaySettings::load).doesNotThrowAnyException();
    });
    withSystemProperty("spillway.control.budgte", "16 MiB", () -> {
      assertThat(KnownKeys.reference().defines("spillway.control.budgte")).isFalse();
      assertThat(refused(ConfigFactory.load()).getMessage()).startsWith(
          "spillway.control.budgte: is not a Spillway setting (set in system properties); did you mean"
              + " spillway.control.budget?");
    });
  }

  private static void withSystemProperty(String key, String value, Runnable body) {
    String before = System.getProperty(key);
    System.setProperty(key, value);
    ConfigFactory.invalidateCaches();
    try {
      body.run();
    } finally {
      if (before == null) {
        System.clearProperty(key);
      } else {
        System.setProperty(key, before);
      }
      ConfigFactory.invalidateCaches();
    }
  }

  @Test
  void knownKeysAnswersForSectionsKeysAndMapMembers() {
    KnownKeys known = KnownKeys.reference();
    assertThat(known.defines("spillway")).isTrue();
    assertThat(known.defines("spillway.tier")).isTrue();
    assertThat(known.defines("spillway.control.budget")).isTrue();
    assertThat(known.defines("spillway.control.budget-over-memory")).isTrue();
    assertThat(known.defines("spillway.memory.pools.classes")).isTrue();
    assertThat(known.defines("spillway.memory.pools.classes.4KiB.max-blocks")).isTrue();
    assertThat(known.defines("spillway.memory.pools.classes.\"4KiB\".initial-blocks")).isTrue();
    assertThat(known.defines("spillway.memory.pools.classes.4KiB.maximum")).isFalse();
    assertThat(known.defines("spillway.streams.io-dispatcher.thread-pool-executor")).isTrue();
    assertThat(known.defines("spillway.memory.budget")).isFalse();
    assertThat(known.defines("spillway.control.budget.extra")).isFalse();
    assertThat(known.defines("spillway..budget")).isFalse();
    assertThat(known.defines("dev.spillway.config")).isFalse();
    assertThat(known.nearest("spillway.memory.budget")).hasValue("spillway.control.budget");
    assertThat(known.nearest("spillway.tier.size")).isEmpty();
  }

  @Test
  void distancesOverPathSegments() {
    assertThat(KeyDistance.names("budget", "budget")).isZero();
    assertThat(KeyDistance.names("budgte", "budget")).isEqualTo(1);
    assertThat(KeyDistance.names("max_block_size", "max-block-size")).isEqualTo(1);
    assertThat(KeyDistance.names("port", "host")).isEqualTo(KeyDistance.FAR);
    assertThat(KeyDistance.names("x".repeat(100_000), "budget")).isEqualTo(KeyDistance.FAR);
    assertThat(KeyDistance.between(java.util.List.of("spillway", "memory", "budget"),
        java.util.List.of("spillway", "control", "budget"))).isEqualTo(2);
  }
}
