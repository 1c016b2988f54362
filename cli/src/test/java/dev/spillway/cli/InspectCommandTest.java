package dev.spillway.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.spillway.config.SpillwaySettings;
import dev.spillway.config.TierSettings;
import dev.spillway.config.TierSettings.Durability;
import dev.spillway.codec.Codecs;
import dev.spillway.core.tier.RecordLocation;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code spillway inspect [--repair] <dir>...} on logs written through {@link SegmentLog} and then
 * damaged: the exact output lines (summary, one per finding, verdict) and the exit status (0 nothing
 * wrong, 1 something wrong, 2 wrong arguments; after {@code --repair}, 1 only while damage remains).
 * Run: {@code mvn -B -pl cli -am test -Dsurefire.failIfNoSpecifiedTests=false -Dtest='InspectCommandTest'}
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class InspectCommandTest {
  private static final Codecs CODECS = Codecs.from(SpillwaySettings.defaults().codec());
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  @TempDir Path tmp;

  private int run(String... args) {
    out.reset();
    err.reset();
    return Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), () -> new ByteArrayInputStream(new byte[0]), false);
  }

  private List<String> lines() {
    return out.toString(StandardCharsets.UTF_8).lines().toList();
  }

  private String err() {
    return err.toString(StandardCharsets.UTF_8);
  }

  private static TierSettings settings(List<Path> dirs) {
    return new TierSettings(dirs, 1 << 20, Durability.NONE, 0.5);
  }

  /** 60 records of 50,000 random bytes (3 segments) and one tombstone; returns each key's location. */
  private static List<RecordLocation> writeLog(List<Path> dirs) throws IOException {
    List<RecordLocation> locations = new ArrayList<>();
    try (SegmentLog log = SegmentLog.open(settings(dirs), CODECS)) {
      for (int k = 0; k < 60; k++) {
        byte[] data = new byte[50_000];
        new Random(k).nextBytes(data);
        locations.add(log.append(Write.of(k, 0, CODECS.raw(), data)));
      }
      log.delete(7);
    }
    for (Path dir : dirs) {
      Files.delete(dir.resolve(".lock"));
    }
    return locations;
  }

  private static Path seg(Path dir, long id) {
    return dir.resolve(String.format("seg-%016x.spw", id));
  }

  private String summary(Path dir, int segments) throws IOException {
    long bytes = 0;
    for (int id = 0; id < segments; id++) {
      bytes += Files.size(seg(dir, id));
    }
    return "summary: " + segments + " segments, " + dev.spillway.config.Sizes.format(bytes) + " (" + bytes
        + " bytes), 61 records, 59 live keys, 1 tombstones, live fraction ";
  }

  @Test
  void aHealthyLogPrintsItsSummaryAndExitsZero() throws IOException {
    Path dir = tmp.resolve("log");
    writeLog(List.of(dir));
    assertThat(run("inspect", dir.toString())).as(err()).isZero();
    assertThat(lines()).hasSize(2);
    assertThat(lines().get(0)).startsWith(summary(dir, 3)).endsWith(" %");
    assertThat(lines().get(1)).isEqualTo("verdict: OK, nothing wrong");
  }

  @Test
  void aTornTailExitsOneUntilRepairCutsIt() throws IOException {
    Path dir = tmp.resolve("log");
    RecordLocation last = writeLog(List.of(dir)).getLast();
    Path newest = seg(dir, 2);
    long cutAt = last.offset() + 1000;
    FileBytes.truncate(newest, cutAt); // the tombstone after it goes too
    long size = Files.size(newest);
    assertThat(run("inspect", dir.toString())).isEqualTo(1);
    assertThat(lines()).hasSize(3);
    assertThat(lines().get(1)).isEqualTo("repairable TORN_TAIL " + newest + " offset " + last.offset()
        + ", 1000 bytes: an incomplete record: record of 50048 bytes runs past the end of the file (1000 bytes"
        + " left): an append cut short by a crash; recovery and repair truncate the file at offset "
        + last.offset());
    assertThat(lines().get(2)).isEqualTo("verdict: REPAIRABLE: 1 finding left by a crash, which `spillway inspect"
        + " --repair " + dir + "` (or opening the log) cuts without losing an acknowledged record");
    assertThat(Files.size(newest)).as("inspect changes nothing").isEqualTo(size);
    assertThat(dir.resolve(".lock")).doesNotExist();

    assertThat(run("inspect", "--repair", dir.toString())).as(err()).isZero();
    assertThat(lines()).contains("repair: truncated " + newest + " at offset " + last.offset()
        + " (1000 bytes): torn tail: " + lines().get(1).substring(lines().get(1).indexOf(": ") + 2));
    assertThat(lines().getLast()).isEqualTo("verdict after repair: OK, nothing wrong is left");
    assertThat(Files.size(newest)).isEqualTo(last.offset());
    assertThat(run("inspect", dir.toString())).isZero();
  }

  @Test
  void aCorruptRecordExitsOneAndStaysAfterRepair() throws IOException {
    Path dir = tmp.resolve("log");
    RecordLocation r = writeLog(List.of(dir)).get(3);
    FileBytes.flip(seg(dir, r.segmentId()), r.offset() + 48 + 10, 0x20);
    assertThat(run("inspect", dir.toString())).isEqualTo(1);
    assertThat(lines().get(1)).startsWith("damage     CORRUPT_RECORD " + seg(dir, 0) + " offset " + r.offset()
        + ", " + r.length() + " bytes: checksum mismatch (stored 0x");
    assertThat(lines().get(2)).isEqualTo("verdict: DAMAGED: 1 finding that repair cannot undo (1 CORRUPT_RECORD):"
        + " damage stays in place (recovery skips it; the keys whose only record was there are lost)");
    assertThat(run("inspect", "--repair", dir.toString())).isEqualTo(1);
    assertThat(lines()).contains("repair: nothing to cut");
    assertThat(lines().getLast()).startsWith("verdict after repair: DAMAGED: 1 finding that repair cannot undo");
  }

  @Test
  void aMissingSegmentExitsOne() throws IOException {
    Path dir = tmp.resolve("log");
    writeLog(List.of(dir));
    Files.delete(seg(dir, 1));
    assertThat(run("inspect", dir.toString())).isEqualTo(1);
    assertThat(lines().get(1)).startsWith("damage     MISSING_SEGMENT " + seg(dir, 1) + " offset 0, 0 bytes:"
        + " segment 1 is missing");
    assertThat(lines().get(2)).startsWith("verdict: DAMAGED: 1 finding that repair cannot undo (1 MISSING_SEGMENT)");
    assertThat(run("inspect", "--repair", dir.toString())).isEqualTo(1);
  }

  @Test
  void aTornTailAndDamageTogetherNameBoth() throws IOException {
    Path dir = tmp.resolve("log");
    List<RecordLocation> locations = writeLog(List.of(dir));
    FileBytes.flip(seg(dir, 0), locations.get(3).offset() + 48 + 10, 0x20);
    FileBytes.truncate(seg(dir, 2), locations.getLast().offset() + 10);
    assertThat(run("inspect", dir.toString())).isEqualTo(1);
    assertThat(lines().getLast()).isEqualTo("verdict: DAMAGED: 1 finding that repair cannot undo (1 CORRUPT_RECORD):"
        + " damage stays in place (recovery skips it; the keys whose only record was there are lost); and 1 finding"
        + " left by a crash, which `spillway inspect --repair " + dir + "` (or opening the log) cuts without losing"
        + " an acknowledged record");
    assertThat(run("inspect", "--repair", dir.toString())).isEqualTo(1);
    assertThat(lines()).contains("repair: truncated " + seg(dir, 2) + " at offset " + locations.getLast().offset()
        + " (10 bytes): torn tail: the first 10 bytes of a 48-byte record header and nothing after them: an append"
        + " cut short by a crash; recovery and repair truncate the file at offset " + locations.getLast().offset());
    assertThat(lines().getLast()).startsWith("verdict after repair: DAMAGED: 1 finding that repair cannot undo"
        + " (1 CORRUPT_RECORD)");
  }

  @Test
  void notesAloneExitZero() throws IOException {
    Path dir = tmp.resolve("log");
    writeLog(List.of(dir));
    Files.writeString(dir.resolve("README.txt"), "hello");
    assertThat(run("inspect", dir.toString())).isZero();
    assertThat(lines().get(1)).isEqualTo("note       UNKNOWN_FILE " + dir.resolve("README.txt") + " offset 0, 5 bytes:"
        + " neither a segment file (seg-<16 hex digits>.spw) nor the lock file; left alone");
    assertThat(lines().get(2)).isEqualTo("verdict: OK, nothing wrong (1 note)");
  }

  @Test
  void aStripedLogIsInspectedWholeAndOneDirectoryAloneSkipsTheGapCheck() throws IOException {
    Path a = tmp.resolve("a");
    Path b = tmp.resolve("b");
    writeLog(List.of(a, b));
    assertThat(run("inspect", a.toString(), b.toString())).as(err()).isZero();
    assertThat(lines()).hasSize(2);
    assertThat(run("inspect", a.toString())).isZero();
    assertThat(lines().get(1)).startsWith("note       GAP_CHECK_SKIPPED " + a + " offset 0, 0 bytes: the file headers"
        + " say this log is striped over 2 directories but 1 was given").endsWith("inspect all 2 directories together");
    assertThat(run("inspect", "--repair", a.toString())).isEqualTo(1);
    assertThat(err()).contains("repair all 2 directories together");
  }

  @Test
  void aTierDirectoryStandsForItsSpillSubdirectory() throws IOException {
    Path tier = tmp.resolve("tier");
    writeLog(List.of(tier.resolve("spill")));
    assertThat(run("inspect", tier.toString())).as(err()).isZero();
    assertThat(lines().get(0)).startsWith(summary(tier.resolve("spill"), 3));
  }

  @Test
  void repairRefusesALogARunningProcessHolds() throws IOException {
    Path dir = tmp.resolve("log");
    writeLog(List.of(dir));
    try (SegmentLog log = SegmentLog.open(settings(List.of(dir)), CODECS)) {
      assertThat(run("inspect", dir.toString())).as("inspect reads beside the owner").isZero();
      assertThat(run("inspect", "--repair", dir.toString())).isEqualTo(1);
      assertThat(err()).contains("spillway: inspect: cannot repair " + dir + ": a running process has this log open")
          .contains(dir.resolve(".lock").toString()).contains("stop that process");
      assertThat(log.read(1)).isPresent();
    }
  }

  @Test
  void aLogThatNeverWroteASegmentIsEmptyAndHealthy() throws IOException {
    Path dir = tmp.resolve("fresh");
    try (SegmentLog log = SegmentLog.open(settings(List.of(dir)), CODECS)) {
      assertThat(log.stats().segments()).isZero();
    }
    assertThat(run("inspect", tmp.toString() + "/fresh")).as(err()).isZero();
    assertThat(lines()).first().asString().startsWith("summary: 0 segments");
    assertThat(lines()).last().asString().startsWith("verdict: OK");
  }

  @Test
  void wrongArgumentsExitTwoAndHelpExitsZero() throws IOException {
    assertThat(run("inspect")).isEqualTo(2);
    assertThat(err()).contains("inspect needs at least one directory").contains("usage: spillway inspect");
    assertThat(run("inspect", "--frobnicate", tmp.toString())).isEqualTo(2);
    assertThat(err()).contains("unknown option '--frobnicate'");
    assertThat(run("inspect", tmp.resolve("missing").toString())).isEqualTo(2);
    assertThat(err()).contains("is not a directory (it does not exist)");
    Files.createDirectories(tmp.resolve("empty"));
    assertThat(run("inspect", tmp.resolve("empty").toString())).isEqualTo(2);
    assertThat(err()).contains("holds no segment log");
    assertThat(run("inspect", "--help")).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8)).contains("usage: spillway inspect [--repair] <dir>...")
        .contains("exit status: 0 nothing wrong");
  }
}
