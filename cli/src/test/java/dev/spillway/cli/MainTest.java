package dev.spillway.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.spillway.config.SpillwaySettings;
import dev.spillway.config.TierSettings;
import dev.spillway.codec.Codecs;
import dev.spillway.core.tier.SegmentLog;
import dev.spillway.core.tier.Write;
import dev.spillway.testing.FileBytes;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The command line on small inputs: the main job, ingest, inspect, wrong arguments. */
@Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
class MainTest {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();
  private byte[] stdin = new byte[0];

  @TempDir Path tmp;

  private int run(String... args) {
    return Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), () -> new ByteArrayInputStream(stdin), false);
  }

  private String out() {
    return out.toString(StandardCharsets.UTF_8);
  }

  private String err() {
    return err.toString(StandardCharsets.UTF_8);
  }

  @Test
  void theMainJobRunsTheWholeSystemAndVerifiesEveryValue() throws IOException {
    Set<Path> before = privateDirectories();
    assertThat(run()).as(out() + err()).isZero();
    String text = out();
    assertThat(text).contains("Spillway demo: 32768 values of 4 KiB (128 MiB, 4x the 32 MiB budget) on the"
        + " embedded defaults, in the map 'demo'");
    assertThat(text).containsPattern("metrics: http://127\\.0\\.0\\.1:\\d+/metrics");
    assertThat(text).containsPattern("(?m)^read  \\[#{20}\\] 100%");
    assertThat(text).contains("RAM hit ratio").contains("restore latency").contains("spills / restores")
        .contains("resident vs spilled").contains("GC time");
    // Keys, not handles: every read went through the map; the first reads of cold keys came from NVMe,
    // and the control plane made room by asking the map to demote its coldest entries.
    assertThat(text).containsPattern("(?m)^map 'demo'\\s+32768 entries \\(index \\S+ \\S+ off-heap\\), 0 misses,"
        + " [1-9]\\d* demoted, [1-9]\\d* promoted$");
    assertThat(text).containsPattern("(?m)^map hits by level\\s+L1 0, L2 [1-9]\\d*, L3 [1-9]\\d* \\(brought back from"
        + " NVMe\\)$");
    assertThat(text).containsPattern("(?m)^4KiB\\s");
    assertThat(text).contains("verified every value (200000 reads and 32768 values): OK");
    assertThat(privateDirectories()).as("the demo's private tier directory is gone").isSubsetOf(before);
  }

  @Test
  void ingestStoresAFileAndReadsItBackWithTheSameChecksum() throws Exception {
    Set<Path> before = privateDirectories();
    Path file = tmp.resolve("input.bin");
    byte[] data = new byte[(20 << 20) + 12345]; // over the 16 MiB budget: it spills on the way
    new Random(5).nextBytes(data);
    Files.write(file, data);
    assertThat(run("ingest", file.toString(), "--budget", "16MiB")).as(out() + err()).isZero();
    assertThat(out()).containsPattern("ingest: budget 16 MiB \\(--budget\\), tier .*spillway-[0-9a-f]{16} \\(private")
        .contains("stored " + file + ": 321 blocks, 20.0 MiB")
        .containsPattern("[1-9]\\d* blocks spilled on the way").containsPattern("CRC32C in (\\w+), read back \\1: OK");
    out.reset();
    stdin = "hello, spillway\n".repeat(10_000).getBytes(StandardCharsets.UTF_8);
    assertThat(run("ingest", "-")).as(out() + err()).isZero();
    assertThat(out()).contains("stored standard input").contains("OK");
    assertThat(privateDirectories()).as("ingest's private tier directory is gone").isSubsetOf(before);
  }

  @Test
  void ingestPrintsTheSha256AsSha256sumDoesAndWritesWhatItReadBack() throws Exception {
    Path file = tmp.resolve("input.bin");
    byte[] data = new byte[(3 << 20) + 7];
    new Random(6).nextBytes(data);
    Files.write(file, data);
    String sha = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(data));
    Path copy = tmp.resolve("copy.bin");
    assertThat(run("ingest", "--verify", "sha256", "--out", copy.toString(), file.toString())).as(out() + err()).isZero();
    assertThat(out()).contains(sha + "  " + file + "\n").contains(sha + "  (read back): OK")
        .contains("into " + copy);
    assertThat(Files.readAllBytes(copy)).isEqualTo(data);
    out.reset();
    assertThat(run("ingest", file.toString(), "--out=-")).as(err()).isZero();
    assertThat(out.toByteArray()).as("standard output carries exactly the data").isEqualTo(data);
    assertThat(err()).contains("to standard output").containsPattern("CRC32C in (\\w+), read back \\1: OK");
  }

  @Test
  void ingestHonoursTheConfigurationAndKeepsATierItIsGivenForInspect() throws Exception {
    Path file = Files.write(tmp.resolve("in.bin"), new byte[32 << 20]); // over the budget: spills
    Path tier = tmp.resolve("tier");
    System.setProperty("spillway.control.budget", "24MiB");
    com.typesafe.config.ConfigFactory.invalidateCaches();
    try {
      assertThat(run("ingest", file.toString(), "--tier", tier.toString())).as(out() + err()).isZero();
    } finally {
      System.clearProperty("spillway.control.budget");
      com.typesafe.config.ConfigFactory.invalidateCaches();
    }
    assertThat(out()).contains("ingest: budget 24 MiB (spillway.control.budget = 24MiB, system properties), tier "
        + tier + " (kept: `spillway inspect " + tier + "` reads it)");
    out.reset();
    assertThat(run("inspect", tier.toString())).as(out() + err()).isZero();
    assertThat(out()).containsPattern("summary: [1-9]\\d* segments").contains("verdict: OK");
  }

  @Test
  void ingestRefusesBadOptionsAndValuesNamingThem() throws Exception {
    Path file = Files.write(tmp.resolve("in.bin"), new byte[10]);
    assertThat(run("ingest", "--frob", "x", file.toString())).isEqualTo(2);
    assertThat(err()).contains("ingest: unknown option --frob (allowed: --budget, --codec, --into, --key, --out, --tier, --verify, --help)")
        .contains("usage: spillway ingest");
    err.reset();
    assertThat(run("ingest", "--verify", "md5", file.toString())).isEqualTo(2);
    assertThat(err()).contains("--verify md5 is not known: allowed crc32c, sha256");
    err.reset();
    assertThat(run("ingest", file.toString(), "--budget")).isEqualTo(2);
    assertThat(err()).contains("--budget needs a value");
    err.reset();
    assertThat(run("ingest", file.toString(), "--budget", "3KiB")).isEqualTo(1);
    assertThat(err()).contains("spillway.control.budget").contains("allowed");
    err.reset();
    assertThat(run("ingest", file.toString(), "--budget", "lots")).isEqualTo(1);
    assertThat(err()).contains("spillway.control.budget").contains("cannot be parsed as a size");
    err.reset();
    assertThat(run("ingest", tmp.toString())).isEqualTo(1);
    assertThat(err()).contains("is not a readable file");
  }

  @Test
  void everyCommandAnswersHelp() {
    for (String[] args : new String[][] {{"demo", "--help"}, {"ingest", "-h"}, {"inspect", "--help"}, {"--help"},
        {"help"}}) {
      out.reset();
      assertThat(run(args)).as(String.join(" ", args)).isZero();
      assertThat(out()).as(String.join(" ", args)).startsWith("usage: spillway");
    }
  }

  /** The private tier directories in java.io.tmpdir now. */
  static Set<Path> privateDirectories() throws IOException {
    try (var dirs = Files.newDirectoryStream(TierSettings.systemTempDirectory(), "spillway-*")) {
      Set<Path> out = new java.util.HashSet<>();
      dirs.forEach(out::add);
      return out;
    }
  }

  @Test
  void ingestOfAMissingFileSaysSo() {
    assertThat(run("ingest", tmp.resolve("nope.bin").toString())).isEqualTo(1);
    assertThat(err()).contains("is not a readable file (it does not exist)");
  }

  @Test
  void inspectReportsRecordsLiveFractionAndCorruption() throws Exception {
    Path dir = tmp.resolve("segments");
    SpillwaySettings d = SpillwaySettings.defaults();
    Codecs codecs = Codecs.from(d.codec());
    try (SegmentLog log = SegmentLog.open(d.tier().withDirectories(List.of(dir)), codecs)) {
      for (int i = 0; i < 20; i++) {
        log.append(Write.of(i + 1, 0, codecs.raw(), ("record " + i).repeat(50).getBytes(StandardCharsets.UTF_8)));
      }
      log.delete(3);
    }
    assertThat(run("inspect", dir.toString())).as(out() + err()).isZero();
    assertThat(out()).contains("summary: 1 segments").contains("21 records, 19 live keys, 1 tombstones")
        .contains("live fraction").contains("verdict: OK, nothing wrong");
    out.reset();
    Path segment;
    try (var files = Files.list(dir)) {
      segment = files.filter(f -> f.toString().endsWith(".spw")).findFirst().orElseThrow();
    }
    FileBytes.flip(segment, 500, 0x5a);
    assertThat(run("inspect", dir.toString())).isEqualTo(1);
    assertThat(out()).containsPattern("damage +CORRUPT_RECORD .*seg-.*\\.spw offset \\d+, \\d+ bytes: checksum mismatch")
        .contains("verdict: DAMAGED: 1 finding that repair cannot undo");
  }

  @Test
  void inspectRefusesWhatIsNotASegmentDirectory() throws Exception {
    assertThat(run("inspect", tmp.resolve("missing").toString())).isEqualTo(2);
    assertThat(err()).contains("is not a directory (it does not exist)");
    err.reset();
    Files.createDirectories(tmp.resolve("empty"));
    assertThat(run("inspect", tmp.resolve("empty").toString())).isEqualTo(2);
    assertThat(err()).contains("holds no segment log");
  }

  @Test
  void wrongArgumentsPrintUsageAndExitNonZero() {
    assertThat(run("frobnicate")).isEqualTo(2);
    assertThat(err()).contains("unknown command 'frobnicate'").contains("usage:");
    err.reset();
    assertThat(run("demo", "extra")).isEqualTo(2);
    assertThat(err()).contains("demo takes no arguments").contains("usage:");
    err.reset();
    assertThat(run("ingest")).isEqualTo(2);
    assertThat(err()).contains("ingest takes one file (or - for standard input), got none");
    err.reset();
    assertThat(run("inspect")).isEqualTo(2);
    assertThat(err()).contains("inspect needs at least one directory");
    assertThat(run("help")).isZero();
    assertThat(out()).contains("usage:").contains("ingest").contains("inspect");
  }
}
