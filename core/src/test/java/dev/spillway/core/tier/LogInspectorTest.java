package dev.spillway.core.tier;

import static dev.spillway.core.tier.CorpusLog.*;
import static dev.spillway.testing.FileBytes.*;
import static dev.spillway.core.tier.SegmentDescriptor.*;
import static dev.spillway.core.tier.TierTestSupport.CODECS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spillway.config.TierSettings;
import dev.spillway.config.TierSettings.Durability;
import dev.spillway.testing.TmpfsMount;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What inspection reports beyond single damaged files: notes (unknown files, a striped log inspected
 * in part, version-1 files), duplicates, and what repair refuses (a log a live process holds, part of
 * a striped log). Run: {@code mvn -B -pl core -am test -Dsurefire.failIfNoSpecifiedTests=false -Dtest='LogInspectorTest'}
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LogInspectorTest {
  @TempDir Path tmp;

  private static List<Finding.Kind> kinds(InspectionReport r) {
    return r.findings().stream().map(Finding::kind).toList();
  }

  @Test
  void inspectOpensNothingButForReadingSoAReadOnlyCopyWorks() throws Exception {
    Path dir = tmp.resolve("log");
    writeStandard(dir);
    truncate(seg(dir, 3), Files.size(seg(dir, 3)) - 5); // recovery would truncate this; inspect must not
    String before = digest(dir);
    // An opener that refuses every write, as a read-only mount would (permission bits prove nothing as root).
    InspectionReport r = LogInspector.inspect(List.of(dir), CODECS, (file, options) -> {
      if (!options.equals(java.util.Set.of(StandardOpenOption.READ))) {
        throw new java.nio.file.AccessDeniedException(file.toString(), null, "read-only: asked for " + options);
      }
      return FileChannel.open(file, options);
    });
    assertThat(kinds(r)).containsExactly(Finding.Kind.TORN_TAIL);
    assertThat(digest(dir)).isEqualTo(before);
    assertThat(dir.resolve(".lock")).doesNotExist();
  }

  @Test
  void anUnknownFileIsANoteAndTheLogStaysHealthy() throws Exception {
    Path dir = tmp.resolve("log");
    writeStandard(dir);
    Files.writeString(dir.resolve("notes.txt"), "x");
    Files.createDirectory(dir.resolve("subdir"));
    InspectionReport r = LogInspector.inspect(List.of(dir), CODECS);
    assertThat(r.findings()).extracting(Finding::kind, f -> f.file().getFileName().toString(), Finding::severity)
        .containsExactly(org.assertj.core.groups.Tuple.tuple(Finding.Kind.UNKNOWN_FILE, "notes.txt", Finding.Severity.NOTE),
            org.assertj.core.groups.Tuple.tuple(Finding.Kind.UNKNOWN_FILE, "subdir", Finding.Severity.NOTE));
    assertThat(r.healthy()).isTrue();
  }

  @Test
  void aStripedLogInspectedInPartSkipsTheGapCheckWithANoteAndRepairRefusesIt() throws Exception {
    Path a = tmp.resolve("a");
    Path b = tmp.resolve("b");
    TierSettings striped = new TierSettings(List.of(a, b), SEGMENT_SIZE, Durability.NONE, 0.5);
    try (SegmentLog log = SegmentLog.open(striped, CODECS)) {
      for (long k = 0; k < 300; k++) {
        log.append(Write.of(k, 0, CODECS.raw(), TierTestSupport.payload(k, 10_000, false)));
      }
    }
    assertThat(segmentIds(a)).containsExactly(0L, 2L);
    assertThat(segmentIds(b)).containsExactly(1L);
    InspectionReport whole = LogInspector.inspect(List.of(a, b), CODECS);
    assertThat(whole.findings()).isEmpty();
    assertThat(whole.segments()).allMatch(s -> s.stripes() == 2);

    InspectionReport part = LogInspector.inspect(List.of(a), CODECS);
    assertThat(kinds(part)).containsExactly(Finding.Kind.GAP_CHECK_SKIPPED);
    assertThat(part.healthy()).isTrue();
    assertThat(part.findings().getFirst().reason()).contains("striped over 2 directories but 1 was given")
        .contains("inspect all 2 directories together");
    assertThatThrownBy(() -> LogInspector.repair(List.of(a), CODECS)).isInstanceOf(IOException.class)
        .hasMessageContaining("repair all 2 directories together");

    Files.delete(seg(b, 1));
    assertThat(kinds(LogInspector.inspect(List.of(a, b), CODECS))).containsExactly(Finding.Kind.MISSING_SEGMENT);
  }

  @Test
  void twoFilesWithOneIdAreADuplicate() throws Exception {
    Path a = tmp.resolve("a");
    Path b = tmp.resolve("b");
    writeStandard(a);
    Files.createDirectories(b);
    Files.copy(seg(a, 2), seg(b, 2));
    InspectionReport r = LogInspector.inspect(List.of(a, b), CODECS);
    assertThat(r.findings()).extracting(Finding::kind, Finding::file)
        .containsExactly(org.assertj.core.groups.Tuple.tuple(Finding.Kind.DUPLICATE_SEGMENT, seg(b, 2)));
    assertThat(r.findings().getFirst().reason()).contains("also exists as " + seg(a, 2));
  }

  /** Rewrites every segment's file header as version 1 wrote it: version 1, flags 0. */
  private static void downgradeToVersion1(Path dir, int flags) throws IOException {
    for (long id : segmentIds(dir)) {
      try (FileChannel ch = FileChannel.open(seg(dir, id), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
        ByteBuffer h = ByteBuffer.allocate(FILE_HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        ch.read(h, 0);
        h.putShort(FILE_VERSION_OFFSET, (short) 1).putShort(FILE_STRIPES_OFFSET, (short) flags);
        RecordFormat.sealFileHeader(h);
        ch.write(h.clear(), 0);
      }
    }
  }

  @Test
  void versionOneFilesAreReadAndTheirIdsAreNotGapChecked() throws Exception {
    Path dir = tmp.resolve("log");
    writeStandard(dir);
    downgradeToVersion1(dir, 0);
    Files.delete(seg(dir, 1)); // a version-1 log may have compacted it without a RETIRE record
    InspectionReport r = LogInspector.inspect(List.of(dir), CODECS);
    assertThat(kinds(r)).containsExactly(Finding.Kind.GAP_CHECK_SKIPPED);
    assertThat(r.healthy()).isTrue();
    assertThat(r.segments()).allMatch(s -> s.version() == 1 && s.stripes() == 0);
    assertThat(r.findings().getFirst().reason()).contains("missing ids from 0 to 3 are not reported");

    // The owner reads them, and appends to a new version-2 segment rather than to a version-1 file.
    try (SegmentLog log = SegmentLog.open(settings(dir), CODECS)) {
      assertThat(log.read(300)).hasValueSatisfying(v -> assertThat(v).isEqualTo(expected(300).orElseThrow()));
      log.append(Write.of(1_000, 0, CODECS.raw(), new byte[100]));
    }
    assertThat(segmentIds(dir)).containsExactly(0L, 2L, 3L, 4L);
    InspectionReport after = LogInspector.inspect(List.of(dir), CODECS);
    assertThat(after.segments().getLast().version()).isEqualTo(2);
    assertThat(kinds(after)).containsExactly(Finding.Kind.GAP_CHECK_SKIPPED);
  }

  @Test
  void aVersionOneHeaderWithFlagsIsABadHeader() throws Exception {
    Path dir = tmp.resolve("log");
    writeStandard(dir);
    downgradeToVersion1(dir, 4);
    InspectionReport r = LogInspector.inspect(List.of(dir), CODECS);
    assertThat(kinds(r)).containsOnly(Finding.Kind.BAD_FILE_HEADER).hasSize(4);
    assertThat(r.findings().getFirst().reason()).contains("flags 4 are not zero in a version-1 file header");
    assertThat(r.records()).isEqualTo(480);
  }

  @Test
  void repairRefusesALogALiveProcessHoldsAndChangesNothing() throws Exception {
    Path dir = tmp.resolve("log");
    writeStandard(dir);
    try (SegmentLog log = SegmentLog.open(settings(dir), CODECS)) {
      String before = digest(dir);
      assertThatThrownBy(() -> LogInspector.repair(List.of(dir), CODECS)).isInstanceOf(IOException.class)
          .hasMessageContaining("cannot repair " + dir.toAbsolutePath().normalize())
          .hasMessageContaining("a running process has this log open")
          .hasMessageContaining(".lock");
      assertThat(digest(dir)).isEqualTo(before);
      assertThat(LogInspector.inspect(List.of(dir), CODECS).healthy()).as("inspect reads beside the owner").isTrue();
      assertThat(log.read(100)).isPresent();
    }
  }

  @Test
  void aMissingDirectoryIsRefusedNamingIt() {
    Path missing = tmp.resolve("missing");
    assertThatThrownBy(() -> LogInspector.inspect(List.of(missing), CODECS)).isInstanceOf(IOException.class)
        .hasMessage(missing + " is not a directory (it does not exist)");
    assertThat(missing).doesNotExist();
    assertThatThrownBy(() -> LogInspector.repair(List.of(missing), CODECS)).isInstanceOf(IOException.class);
    assertThat(missing).as("repair creates no directory").doesNotExist();
  }

  @Test
  void inspectWorksOnAReadOnlyMountAndRepairThereFailsClearly() throws Exception {
    try (TmpfsMount device = TmpfsMount.mount(tmp.resolve("ro"), "16m", "0700")) { // tests run as root
      Path mount = device.path();
      Path dir = mount.resolve("log");
      writeStandard(dir);
      java.nio.file.Files.writeString(mount.resolve("marker"), "x"); // the mount was writable until now
      device.remountReadOnly();
      assertThatThrownBy(() -> Files.writeString(mount.resolve("marker2"), "x")).isInstanceOf(IOException.class);
      InspectionReport report = LogInspector.inspect(List.of(dir), CODECS);
      assertThat(report.healthy()).as("%s", report.findings()).isTrue();
      assertThat(report.segments()).isNotEmpty();
      assertThat(report.records()).isPositive();
      assertThatThrownBy(() -> LogInspector.repair(List.of(dir), CODECS)).isInstanceOf(IOException.class)
          .hasMessageContaining(dir.toString());
    }
  }
}
