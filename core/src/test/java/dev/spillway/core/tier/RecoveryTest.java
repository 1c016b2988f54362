package dev.spillway.core.tier;

import static dev.spillway.core.tier.CorpusLog.*;
import static dev.spillway.testing.FileBytes.*;
import static dev.spillway.core.tier.TierTestSupport.CODECS;
import static dev.spillway.core.tier.TierTestSupport.payload;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Recovery as an owner's open runs it: the retired set carried into the next RETIRE record, RETIRE
 * records never taken for keys, no append after bytes that are not a record boundary, a deleted
 * newest file's id given out again, corrupt records skipped and left in place at every open.
 * Run: {@code mvn -B -pl core -am test -Dsurefire.failIfNoSpecifiedTests=false -Dtest='RecoveryTest'}
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RecoveryTest {
  @TempDir Path tmp;

  @Test
  void theRetiredSetSurvivesReopenSoTheNextRetireRecordExtendsIt() throws Exception {
    Path dir = tmp.resolve("log");
    writeCompacted(dir, null);
    List<Long> afterFirst = segmentIds(dir);
    try (SegmentLog log = SegmentLog.open(settings(dir).withCompactLiveFractionBelow(0.5), CODECS)) {
      // new values for every key, so every sealed segment becomes dead, then a second pass
      for (long k = 0; k < COMPACTED_KEYS; k++) {
        log.append(Write.of(k, 1, CODECS.raw(), payload(k + 9_000, size(k + 9_000), false)));
      }
      assertThat(log.compact().segmentsRewritten()).isPositive();
      List<Long> ids = segmentIds(dir);
      assertThat(ids.getFirst()).as("the second pass retired segments the first left").isGreaterThan(afterFirst.getFirst());
      RetiredSegments retired = ((FileSegmentLog) log).retired();
      for (long id = 0; id < ids.getLast(); id++) {
        assertThat(retired.contains(id)).as("segment %d: retired exactly when its file is gone", id)
            .isEqualTo(!ids.contains(id));
      }
    }
    InspectionReport r = LogInspector.inspect(List.of(dir), CODECS);
    assertThat(r.findings()).as("no retired segment of either pass looks lost").isEmpty();
    try (SegmentLog log = SegmentLog.open(settings(dir), CODECS)) {
      assertThat(log.recoveryReport().clean()).isTrue();
      for (long k = 0; k < COMPACTED_KEYS; k++) {
        byte[] want = payload(k + 9_000, size(k + 9_000), false);
        assertThat(log.read(k)).as("key %d", k).hasValueSatisfying(v -> assertThat(v).isEqualTo(want));
      }
    }
  }

  @Test
  void retireRecordsAreNeverTakenForKeys() throws Exception {
    Path dir = tmp.resolve("log");
    try (SegmentLog log = SegmentLog.open(settings(dir).withCompactLiveFractionBelow(0.5), CODECS)) {
      for (long k = 1; k <= 300; k++) {
        log.append(Write.of(k, 0, CODECS.raw(), payload(k, 10_000, false)));
      }
      for (long k = 1; k <= 250; k++) {
        log.delete(k);
      }
      assertThat(log.compact().segmentsRewritten()).isPositive();
      assertThat(log.lookup(0)).isEmpty();
      assertThat(log.stats().liveRecords()).isEqualTo(50);
    }
    try (SegmentLog log = SegmentLog.open(settings(dir), CODECS)) {
      assertThat(log.lookup(0)).as("a RETIRE record has key 0 but is no key's record").isEmpty();
      assertThat(log.read(0)).isEmpty();
      assertThat(log.stats().liveRecords()).isEqualTo(50);
    }
  }

  @Test
  void nothingIsAppendedAfterBytesThatAreNoRecordBoundary() throws Exception {
    Path dir = tmp.resolve("log");
    writeStandard(dir);
    Rec last = records(seg(dir, 3)).getLast();
    flip(seg(dir, 3), last.offset(), 0x01); // the last record's magic: corrupt, not torn
    long size = Files.size(seg(dir, 3));
    try (SegmentLog log = SegmentLog.open(settings(dir), CODECS)) {
      assertThat(log.recoveryReport().cuts()).isEmpty();
      assertThat(log.recoveryReport().corrupt()).extracting(RecoveryReport.Corruption::offset).containsExactly(last.offset());
      log.append(Write.of(5_000, 0, CODECS.raw(), new byte[64]));
    }
    assertThat(Files.size(seg(dir, 3))).as("the damaged newest segment is left as it was").isEqualTo(size);
    assertThat(segmentIds(dir)).containsExactly(0L, 1L, 2L, 3L, 4L);
    InspectionReport r = LogInspector.inspect(List.of(dir), CODECS);
    assertThat(r.findings()).extracting(Finding::kind, Finding::offset, Finding::bytes)
        .containsExactly(org.assertj.core.groups.Tuple.tuple(Finding.Kind.CORRUPT_REGION, last.offset(), last.length()));
  }

  @Test
  void aNewestFileShorterThanItsHeaderIsDeletedAndItsIdGivenOutAgain() throws Exception {
    Path dir = tmp.resolve("log");
    writeStandard(dir);
    truncate(seg(dir, 3), 10);
    try (SegmentLog log = SegmentLog.open(settings(dir), CODECS)) {
      RecoveryReport report = log.recoveryReport();
      assertThat(report.truncated()).extracting(RecoveryReport.TornTail::file).containsExactly(seg(dir, 3));
      assertThat(report.cuts()).extracting(Cut::fileDeleted).containsExactly(true);
      assertThat(seg(dir, 3)).doesNotExist();
      log.append(Write.of(5_000, 0, CODECS.raw(), new byte[64]));
    }
    assertThat(segmentIds(dir)).containsExactly(0L, 1L, 2L, 3L);
    assertThat(LogInspector.inspect(List.of(dir), CODECS).findings()).isEmpty();
  }

  @Test
  void corruptRecordsAreSkippedAndLeftInPlaceAtEveryOpen() throws Exception {
    Path dir = tmp.resolve("log");
    writeStandard(dir);
    List<Rec> recs = records(seg(dir, 1));
    List<Long> offsets = new ArrayList<>();
    for (int i = 5; i < 8; i++) {
      flip(seg(dir, 1), recs.get(i).offset() + 100, 0x02);
      offsets.add(recs.get(i).offset());
    }
    String before = digest(dir);
    for (int open = 0; open < 2; open++) {
      try (SegmentLog log = SegmentLog.open(settings(dir), CODECS)) {
        RecoveryReport report = log.recoveryReport();
        assertThat(report.corrupt()).extracting(RecoveryReport.Corruption::offset).containsExactlyElementsOf(offsets);
        assertThat(report.truncated()).isEmpty();
        assertThat(report.cuts()).isEmpty();
        assertThat(report.liveKeys()).isEqualTo(450 - 3);
      }
      Files.deleteIfExists(dir.resolve(".lock"));
      assertThat(digest(dir).lines().filter(l -> l.startsWith("seg-")).toList())
          .isEqualTo(before.lines().filter(l -> l.startsWith("seg-")).toList());
    }
  }
}
