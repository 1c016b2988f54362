package dev.spillway.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import dev.spillway.config.TierSettings.Durability;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code spillway.tier} and {@code spillway.codec}: defaults, overrides, and every bad value named. */
class TierAndCodecSettingsTest {

  private static SpillwaySettings load(String hocon) {
    return SpillwaySettings.from(ConfigFactory.parseString("spillway { " + hocon + " }"));
  }

  @Test
  void embeddedDefaults() {
    SpillwaySettings s = SpillwaySettings.defaults();
    TierSettings tier = s.tier();
    assertThat(tier.directories()).as("a private directory, made when the tier opens").isEmpty();
    assertThat(tier.isPrivate()).isTrue();
    assertThat(tier.defaultParent()).isEqualTo(Path.of(System.getProperty("java.io.tmpdir")).toAbsolutePath());
    assertThat(tier.segmentSize()).isEqualTo(256L << 20);
    assertThat(tier.durability()).isEqualTo(Durability.BATCH);
    assertThat(tier.compactLiveFractionBelow()).isEqualTo(0.5);
    assertThat(s.codec().lz4MinGain()).isEqualTo(0.10);
    assertThat(s.codec().zstdLevel()).isEqualTo(3);
    assertThat(s.codec().zstdMinGain()).isEqualTo(0.10);
    assertThat(s.codec().kryoClasses()).isEmpty();
  }

  @Test
  void zstdLevelsFromTheFastestToNineteenAndTheSpillCodec() {
    assertThat(load("codec.zstd { level = 19, min-gain = 0 }").codec())
        .extracting(CodecSettings::zstdLevel, CodecSettings::zstdMinGain).containsExactly(19, 0.0);
    assertThat(load("codec.zstd.level = 1").codec().zstdLevel()).isEqualTo(1);
    assertThat(load("codec.zstd.level = -1").codec().zstdLevel()).isEqualTo(-1);
    assertThat(load("codec.zstd.level = -131072").codec().zstdLevel()).isEqualTo(-131072);
    assertThat(load("codec.zstd.level = \"9\"").codec().zstdLevel()).as("a quoted number, as -D gives it").isEqualTo(9);
    assertThat(load("codec.zstd.min-gain = 0.5").codec().zstdMinGain()).isEqualTo(0.5);
    assertThat(load("spill.codec = zstd").spill().codec()).isEqualTo(SpillSettings.SpillCodec.ZSTD);
    assertThat(load("spill.codec = \" ZSTD \"").spill().codec()).isEqualTo(SpillSettings.SpillCodec.ZSTD);
    assertThat(SpillSettings.SpillCodec.ZSTD.configName()).isEqualTo("zstd");
    assertThat(new CodecSettings(0.1, List.of()).withZstd(7, 0.2))
        .extracting(CodecSettings::zstdLevel, CodecSettings::zstdMinGain).containsExactly(7, 0.2);
  }

  @Test
  void aMisspeltZstdKeyIsRefusedWithTheNearestRealOne() {
    assertThatThrownBy(() -> load("codec.zstd.levle = 5"))
        .isInstanceOf(SettingsException.class)
        .hasMessageContaining("spillway.codec.zstd.levle")
        .hasMessageContaining("did you mean spillway.codec.zstd.level?");
  }

  @Test
  void overrides() {
    SpillwaySettings s = load("tier { directories = [\"/mnt/a/spill\", \"/mnt/b/spill/\"], segment-size = 1 GiB,"
        + " durability = ALWAYS, compaction.live-fraction-below = 0 },"
        + " codec { lz4.min-gain = 0.25, kryo.classes = [\"java.util.ArrayList\", \"java.util.UUID\"] }");
    assertThat(s.tier().directories()).containsExactly(Path.of("/mnt/a/spill"), Path.of("/mnt/b/spill"));
    assertThat(s.tier().isPrivate()).isFalse();
    assertThat(load("tier.default-parent = \"/var/tmp/x/\"").tier().defaultParent()).isEqualTo(Path.of("/var/tmp/x"));
    assertThat(s.tier().segmentSize()).isEqualTo(1L << 30);
    assertThat(s.tier().durability()).isEqualTo(Durability.ALWAYS);
    assertThat(s.tier().compactLiveFractionBelow()).isZero();
    assertThat(s.codec().lz4MinGain()).isEqualTo(0.25);
    assertThat(s.codec().kryoClasses()).containsExactly("java.util.ArrayList", "java.util.UUID");
    assertThat(load("tier.durability = none").tier().durability()).isEqualTo(Durability.NONE);
    assertThat(load("spill.codec = RAW").spill().codec()).isEqualTo(SpillSettings.SpillCodec.RAW);
    assertThat(load("").spill().codec()).isEqualTo(SpillSettings.SpillCodec.LZ4);
    assertThat(load("tier.segment-size = 16 GiB").tier().segmentSize()).isEqualTo(16L << 30);
    assertThat(load("tier.segment-size = 1 MiB").tier().segmentSize()).isEqualTo(1L << 20);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
    "tier.segment-size = 512 KiB                 | spillway.tier.segment-size | allowed 1 MiB to 16 GiB",
    "tier.segment-size = 17 GiB                  | spillway.tier.segment-size | allowed 1 MiB to 16 GiB",
    "tier.segment-size = big                     | spillway.tier.segment-size | cannot be parsed as a size",
    "tier.durability = sometimes                 | spillway.tier.durability | allowed none, batch, always",
    "tier.durability = [1]                       | spillway.tier.durability | must be a string",
    "tier.compaction.live-fraction-below = 1     | spillway.tier.compaction.live-fraction-below | allowed 0 <= value < 1",
    "tier.compaction.live-fraction-below = -0.1  | spillway.tier.compaction.live-fraction-below | allowed 0 <= value < 1",
    "tier.compaction.live-fraction-below = half  | spillway.tier.compaction.live-fraction-below | must be a number",
    "tier.directories = \"/tmp/x\"               | spillway.tier.directories | list of strings",
    "tier.directories = [\"relative/dir\"]       | spillway.tier.directories | allowed only absolute paths",
    "tier.directories = [\"\"]                   | spillway.tier.directories | allowed only absolute paths",
    "tier.directories = [\"/a\", \"/a/\"]        | spillway.tier.directories | twice",
    "tier.default-parent = \"var/tmp\"          | spillway.tier.default-parent | an absolute path",
    "tier.default-parent = [1]                   | spillway.tier.default-parent | must be a string",
    "codec.lz4.min-gain = 1                      | spillway.codec.lz4.min-gain | allowed 0 <= value < 1",
    "codec.lz4.min-gain = lots                   | spillway.codec.lz4.min-gain | must be a number",
    "codec.kryo.classes = [\"com.example.Nope\"] | spillway.codec.kryo.classes | com.example.Nope",
    "codec.kryo.classes = [\"not a class\"]      | spillway.codec.kryo.classes | not a class name",
    "codec.kryo.classes = [\"java.util.UUID\", \"java.util.UUID\"] | spillway.codec.kryo.classes | twice",
    "codec.kryo.classes = java.util.UUID         | spillway.codec.kryo.classes | list of strings",
    "spill.codec = zstandard                     | spillway.spill.codec | allowed lz4, zstd, raw",
    "spill.codec = \"\"                          | spillway.spill.codec | allowed lz4, zstd, raw",
    "codec.zstd.level = 0                        | spillway.codec.zstd.level | allowed 1 to 19",
    "codec.zstd.level = 20                       | spillway.codec.zstd.level | = 20 is out of range: allowed 1 to 19",
    "codec.zstd.level = 22                       | spillway.codec.zstd.level | -1 to -131072",
    "codec.zstd.level = -131073                  | spillway.codec.zstd.level | -1 to -131072",
    "codec.zstd.level = 3.5                      | spillway.codec.zstd.level | must be a whole number, found 3.5",
    "codec.zstd.level = fast                     | spillway.codec.zstd.level | must be a whole number, found \"fast\"",
    "codec.zstd.level = 99999999999              | spillway.codec.zstd.level | = 99999999999 is out of range",
    "codec.zstd.min-gain = 1                     | spillway.codec.zstd.min-gain | allowed 0 <= value < 1",
    "codec.zstd.min-gain = -0.5                  | spillway.codec.zstd.min-gain | allowed 0 <= value < 1",
    "codec.zstd.min-gain = some                  | spillway.codec.zstd.min-gain | must be a number",
    "spill.codec = [1]                           | spillway.spill.codec | must be a string",
  })
  void everyBadValueNamesTheKeyTheValueAndWhatIsAllowed(String hocon, String key, String allowed) {
    assertThatThrownBy(() -> load(hocon))
        .isInstanceOfSatisfying(SettingsException.class, e -> assertThat(e.key()).isEqualTo(key))
        .hasMessageStartingWith(key)
        .hasMessageContaining(allowed);
  }

  @Test
  void badValuesInTheRecordsConstructorsAreRefused() {
    assertThatThrownBy(() -> new TierSettings(List.of(), Path.of("tmp"), 1L << 20, Durability.NONE, 0.5))
        .hasMessageContaining("defaultParent must be an absolute path");
    assertThatThrownBy(() -> new TierSettings(List.of(Path.of("/x")), 1, Durability.NONE, 0.5))
        .hasMessageContaining("allowed 1 MiB to 16 GiB");
    assertThatThrownBy(() -> new CodecSettings(1.5, List.of())).hasMessageContaining("0 <= value < 1");
    assertThatThrownBy(() -> new CodecSettings(0.1, 0, 0.1, List.of())).hasMessageContaining("zstdLevel = 0")
        .hasMessageContaining("allowed 1 to 19");
    assertThatThrownBy(() -> new CodecSettings(0.1, 3, 1.0, List.of())).hasMessageContaining("zstdMinGain = 1.0");
  }
}
