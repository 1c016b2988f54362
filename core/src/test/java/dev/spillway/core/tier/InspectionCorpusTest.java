package dev.spillway.core.tier;

import static dev.spillway.core.tier.CorpusLog.*;
import static dev.spillway.testing.FileBytes.*;
import static dev.spillway.core.tier.Finding.Kind.*;
import static dev.spillway.core.tier.SegmentDescriptor.*;
import static dev.spillway.core.tier.TierTestSupport.CODECS;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.LongFunction;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The corpus of damaged directories: each starts as a real log written through {@link SegmentLog}
 * ({@link CorpusLog}: 4 segments of 1 MiB, 480 records), is damaged in one way, and must produce
 * exactly the expected findings (kind, file, offset, bytes) and exit code. Every case also checks
 * that inspect changed nothing (digest of bytes, sizes, times and listing; no lock file; only READ
 * asked of the opener), that repair cuts exactly what is expected and leaves the expected state, and
 * that recovery (opening the log) cuts the same and returns no wrong byte.
 * Run: {@code mvn -B -pl core -am test -Dsurefire.failIfNoSpecifiedTests=false -Dtest='InspectionCorpusTest'}
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class InspectionCorpusTest {
  @TempDir static Path root;
  private static Path healthy;
  /** Segment id -> offset -> key of the standard log's current records. */
  private static final Map<Long, TreeMap<Long, Long>> KEY_AT = new TreeMap<>();

  @BeforeAll
  static void writeHealthyLog() throws IOException {
    healthy = root.resolve("healthy");
    writeStandard(healthy);
    try (SegmentLog log = SegmentLog.open(settings(healthy), CODECS)) {
      for (long k = 0; k < KEYS; k++) {
        long key = k;
        log.lookup(k).ifPresent(info -> KEY_AT.computeIfAbsent(info.location().segmentId(), s -> new TreeMap<>())
            .put(info.location().offset(), key));
      }
    }
  }

  /** An expected finding. */
  record F(Finding.Kind kind, String file, long offset, long bytes) {}

  static F f(Finding.Kind kind, long segment, long offset, long bytes) {
    return new F(kind, fileName(segment), offset, bytes);
  }

  /** An expected cut. */
  record C(String file, long offset, long bytes, boolean deleted) {}

  static C cut(long segment, long offset, long bytes, boolean deleted) {
    return new C(fileName(segment), offset, bytes, deleted);
  }

  private static Path copyOfHealthy(String name) throws IOException {
    return copy(healthy, root.resolve(name));
  }

  private static List<Rec> recs(Path dir, long segment) throws IOException {
    return records(seg(dir, segment));
  }

  // ---- the corpus ----

  @Test
  void aHealthyLogHasNoFindings() throws Exception {
    InspectionReport r = check(copyOfHealthy("healthy-copy"), 0, List.of(), List.of(), 0, Set.of());
    assertThat(r.segments()).extracting(InspectionReport.SegmentSummary::id).containsExactly(0L, 1L, 2L, 3L);
    assertThat(r.segments()).allMatch(s -> s.version() == 2 && s.stripes() == 1);
    assertThat(r.records()).isEqualTo(480);
    assertThat(r.liveKeys()).isEqualTo(450);
    assertThat(r.tombstones()).isEqualTo(10);
    assertThat(r.liveFraction()).isBetween(0.9, 1.0);
  }

  @Test
  void aBitFlipInAFileHeaderIsReportedAndItsRecordsStillCount() throws Exception {
    Path dir = copyOfHealthy("file-header-flip");
    flip(seg(dir, 1), FILE_CREATED_MILLIS_OFFSET, 0x04);
    InspectionReport r = check(dir, 1, List.of(f(BAD_FILE_HEADER, 1, 0, FILE_HEADER_LENGTH)), List.of(), 1, Set.of());
    assertThat(r.records()).isEqualTo(480);
    assertThat(r.findings().getFirst().reason()).contains("file header checksum mismatch");
  }

  @Test
  void aBitFlipInAPayloadIsOneCorruptRecord() throws Exception {
    Path dir = copyOfHealthy("payload-flip");
    Rec r5 = recs(dir, 1).get(5);
    flip(seg(dir, 1), r5.offset() + RECORD_HEADER_LENGTH + 100, 0x10);
    InspectionReport r = check(dir, 1, List.of(f(CORRUPT_RECORD, 1, r5.offset(), r5.length())), List.of(), 1,
        Set.of(keyAt(1, r5)));
    assertThat(r.findings().getFirst().reason()).contains("checksum mismatch");
  }

  @Test
  void aBitFlipInTheLastRecordsPayloadIsCorruptionNotATornTail() throws Exception {
    Path dir = copyOfHealthy("last-payload-flip");
    Rec last = recs(dir, 3).getLast();
    flip(seg(dir, 3), last.end() - 1, 0x01);
    check(dir, 1, List.of(f(CORRUPT_RECORD, 3, last.offset(), last.length())), List.of(), 1, Set.of(keyAt(3, last)));
  }

  @Test
  void aBitFlipInTheLastRecordsLengthFieldIsCorruptionNotATornTail() throws Exception {
    Path dir = copyOfHealthy("last-length-flip");
    Rec last = recs(dir, 3).getLast();
    flip(seg(dir, 3), last.offset() + RECORD_LENGTH_OFFSET, 0x01);
    InspectionReport r = check(dir, 1, List.of(f(CORRUPT_REGION, 3, last.offset(), last.length())), List.of(), 1,
        Set.of(keyAt(3, last)));
    assertThat(r.findings().getFirst().reason()).contains("is not header (48) + stored length")
        .contains("no valid record follows");
  }

  @Test
  void aBitFlipInTheLastRecordsMagicIsCorruptionNotATornTail() throws Exception {
    Path dir = copyOfHealthy("last-magic-flip");
    Rec last = recs(dir, 3).getLast();
    flip(seg(dir, 3), last.offset(), 0x01);
    InspectionReport r = check(dir, 1, List.of(f(CORRUPT_REGION, 3, last.offset(), last.length())), List.of(), 1,
        Set.of(keyAt(3, last)));
    assertThat(r.findings().getFirst().reason()).contains("bad record magic");
  }

  @Test
  void threeAdjacentCorruptRecordsAreThreeFindings() throws Exception {
    Path dir = copyOfHealthy("three-adjacent");
    List<Rec> recs = recs(dir, 1);
    List<F> expected = new ArrayList<>();
    Set<Long> lost = new HashSet<>();
    for (int i = 5; i < 8; i++) {
      flip(seg(dir, 1), recs.get(i).offset() + RECORD_HEADER_LENGTH + 7, 0x80);
      expected.add(f(CORRUPT_RECORD, 1, recs.get(i).offset(), recs.get(i).length()));
      lost.add(keyAt(1, recs.get(i)));
    }
    check(dir, 1, expected, List.of(), 1, lost);
  }

  @Test
  void aNewestSegmentCutInsideARecordHasATornTail() throws Exception {
    Path dir = copyOfHealthy("torn-tail");
    Rec last = recs(dir, 3).getLast();
    truncate(seg(dir, 3), last.offset() + 100);
    InspectionReport r = check(dir, 1, List.of(f(TORN_TAIL, 3, last.offset(), 100)),
        List.of(cut(3, last.offset(), 100, false)), 0, Set.of(keyAt(3, last)));
    assertThat(r.findings().getFirst().severity()).isEqualTo(Finding.Severity.REPAIRABLE);
  }

  @Test
  void aNewestSegmentCutInsideARecordHeaderHasATornTail() throws Exception {
    Path dir = copyOfHealthy("torn-tail-in-header");
    Rec last = recs(dir, 3).getLast();
    truncate(seg(dir, 3), last.offset() + 20);
    check(dir, 1, List.of(f(TORN_TAIL, 3, last.offset(), 20)), List.of(cut(3, last.offset(), 20, false)), 0,
        Set.of(keyAt(3, last)));
  }

  @Test
  void aSealedSegmentCutInsideARecordIsTruncatedNotTorn() throws Exception {
    Path dir = copyOfHealthy("truncated-sealed");
    Rec last = recs(dir, 1).getLast();
    truncate(seg(dir, 1), last.offset() + 1000);
    check(dir, 1, List.of(f(TRUNCATED_SEALED_SEGMENT, 1, last.offset(), 1000)), List.of(), 1, Set.of(keyAt(1, last)));
  }

  @Test
  void aSealedSegmentCutToAFewBytesIsDamage() throws Exception {
    Path dir = copyOfHealthy("sealed-too-short");
    truncate(seg(dir, 1), 10);
    check(dir, 1, List.of(f(FILE_TOO_SHORT, 1, 0, 10)), List.of(), 1, allKeysOf(1));
  }

  @Test
  void aNewestSegmentCutToAFewBytesIsDeletedByRepair() throws Exception {
    Path dir = copyOfHealthy("newest-too-short");
    truncate(seg(dir, 3), 10);
    check(dir, 1, List.of(f(FILE_TOO_SHORT, 3, 0, 10)), List.of(cut(3, 0, 10, true)), 0, allKeysOf(3));
    assertThat(segmentIds(dir)).containsExactly(0L, 1L, 2L);
  }

  @Test
  void aDeletedMiddleSegmentIsAGap() throws Exception {
    Path dir = copyOfHealthy("deleted-middle");
    Files.delete(seg(dir, 1));
    InspectionReport r = check(dir, 1, List.of(f(MISSING_SEGMENT, 1, 0, 0)), List.of(), 1, allKeysOf(1));
    assertThat(r.findings().getFirst().reason()).startsWith("segment 1 is missing");
  }

  @Test
  void aSegmentRenamedToAnotherIdIsAMismatchAndGaps() throws Exception {
    Path dir = copyOfHealthy("renamed-id");
    Files.move(seg(dir, 1), seg(dir, 9));
    InspectionReport r = check(dir, 1, List.of(f(MISSING_SEGMENT, 1, 0, 0), f(MISSING_SEGMENT, 4, 0, 0),
        f(SEGMENT_ID_MISMATCH, 9, 0, FILE_HEADER_LENGTH)), List.of(), 1, Set.of());
    assertThat(r.findings().get(1).reason()).startsWith("segments 4 to 8 (5 files) are missing");
    assertThat(r.findings().get(2).reason()).contains("names segment 1 but the file name names segment 9");
  }

  @Test
  void aSegmentRenamedToAnotherNameIsAGapAndAnUnknownFile() throws Exception {
    Path dir = copyOfHealthy("renamed-away");
    long size = Files.size(seg(dir, 1));
    Files.move(seg(dir, 1), dir.resolve("seg-0000000000000001.spw.bak"));
    check(dir, 1, List.of(f(MISSING_SEGMENT, 1, 0, 0), new F(UNKNOWN_FILE, "seg-0000000000000001.spw.bak", 0, size)),
        List.of(), 1, allKeysOf(1));
  }

  @Test
  void aZeroedPageInTheMiddleIsACorruptRecordAndARegion() throws Exception {
    Path dir = copyOfHealthy("zeroed-middle-page");
    long from = 64 * 4096;
    long to = from + 4096;
    zero(seg(dir, 1), from, to);
    List<Rec> recs = recs(healthy, 1);
    List<Rec> touched = recs.stream().filter(r -> r.offset() < to && r.end() > from).toList();
    Rec next = recs.stream().filter(r -> r.offset() >= to).findFirst().orElseThrow();
    // The layout puts a record header before the page and the next header inside it.
    assertThat(touched).hasSize(2);
    assertThat(touched.get(0).offset() + RECORD_HEADER_LENGTH).isLessThanOrEqualTo(from);
    assertThat(touched.get(1).offset()).isBetween(from, to - 1);
    check(dir, 1, List.of(f(CORRUPT_RECORD, 1, touched.get(0).offset(), touched.get(0).length()),
            f(CORRUPT_REGION, 1, touched.get(1).offset(), next.offset() - touched.get(1).offset())),
        List.of(), 1, Set.of(keyAt(1, touched.get(0)), keyAt(1, touched.get(1))));
  }

  @Test
  void aZeroedLastPageIsACorruptRecordNotATornTail() throws Exception {
    Path dir = copyOfHealthy("zeroed-last-page");
    long size = Files.size(seg(dir, 3));
    long from = (size - 1) / 4096 * 4096;
    zero(seg(dir, 3), from, size);
    Rec last = recs(healthy, 3).getLast();
    // The layout puts the whole last page inside the last record, after its header: the record is
    // complete (its length fits the file) and its checksum fails.
    assertThat(last.offset() + RECORD_HEADER_LENGTH).isLessThanOrEqualTo(from);
    InspectionReport r = check(dir, 1, List.of(f(CORRUPT_RECORD, 3, last.offset(), last.length())), List.of(), 1,
        Set.of(keyAt(3, last)));
    assertThat(r.findings().getFirst().reason()).contains("checksum mismatch");
  }

  @Test
  void zerosAfterTheLastRecordOfTheNewestSegmentAreATornTail() throws Exception {
    Path dir = copyOfHealthy("zero-filled-tail");
    long size = Files.size(seg(dir, 3));
    // What a file system can leave after a power loss: the file's size grew, its data never arrived.
    Files.write(seg(dir, 3), new byte[4096], StandardOpenOption.APPEND);
    InspectionReport r = check(dir, 1, List.of(f(TORN_TAIL, 3, size, 4096)), List.of(cut(3, size, 4096, false)), 0,
        Set.of());
    assertThat(r.findings().getFirst().reason()).startsWith("4096 zero bytes to the end of the file");
  }

  @Test
  void zerosAtTheEndOfASealedSegmentAreATruncatedSegment() throws Exception {
    Path dir = copyOfHealthy("zeroed-sealed-end");
    Rec last = recs(dir, 1).getLast();
    zero(seg(dir, 1), last.offset(), last.end());
    check(dir, 1, List.of(f(TRUNCATED_SEALED_SEGMENT, 1, last.offset(), last.length())), List.of(), 1,
        Set.of(keyAt(1, last)));
  }

  @Test
  void aCompactedLogHasNoGapBecauseItsRetiredSegmentsAreNamed() throws Exception {
    Path dir = root.resolve("compacted");
    CompactionResult result = writeCompacted(dir, null);
    List<Long> ids = segmentIds(dir);
    assertThat(ids.getFirst()).as("the oldest segments were deleted").isPositive();
    InspectionReport r = check(dir, 0, List.of(), List.of(), 0, Set.of(), COMPACTED_KEYS, CorpusLog::expectedCompacted);
    assertThat(r.segments()).hasSize(ids.size());
    assertThat(result.segmentsRewritten()).isGreaterThan(1);
  }

  @Test
  void aCompactionInterruptedAfterItsCopiesLeavesRetiredFilesThatRepairDeletes() throws Exception {
    Path dir = root.resolve("interrupted-compaction");
    Path backup = root.resolve("interrupted-compaction-backup");
    writeCompacted(dir, backup);
    List<F> expected = new ArrayList<>();
    List<C> cuts = new ArrayList<>();
    for (long id : segmentIds(backup)) {
      if (!Files.exists(seg(dir, id))) {
        Files.copy(seg(backup, id), seg(dir, id)); // as if the crash came before the delete
        expected.add(f(RETIRED_SEGMENT_PRESENT, id, 0, Files.size(seg(dir, id))));
        cuts.add(cut(id, 0, Files.size(seg(dir, id)), true));
      }
    }
    assertThat(expected).hasSizeGreaterThan(1);
    check(dir, 1, expected, cuts, 0, Set.of(), COMPACTED_KEYS, CorpusLog::expectedCompacted);
  }

  // ---- the checks every case makes ----

  private static long keyAt(long segment, Rec r) {
    Long key = KEY_AT.get(segment).get(r.offset());
    assertThat(key).as("a current record at segment %d offset %d", segment, r.offset()).isNotNull();
    return key;
  }

  private static Set<Long> allKeysOf(long segment) {
    return new HashSet<>(KEY_AT.get(segment).values());
  }

  private static InspectionReport check(Path dir, int exit, List<F> expected, List<C> cuts, int exitAfterRepair,
      Set<Long> lost) throws Exception {
    return check(dir, exit, expected, cuts, exitAfterRepair, lost, KEYS, CorpusLog::expected);
  }

  /**
   * Inspects {@code dir} (asserting it changes nothing), checks the findings and the exit code the
   * command line derives from them (0 healthy, else 1); then recovers a copy through
   * {@link SegmentLog#open} and repairs {@code dir}, and checks both cut {@code cuts}, that they leave
   * the same log behind, with the exit code {@code exitAfterRepair}, and that recovery returns every
   * key but the {@code lost} ones byte for byte.
   */
  private static InspectionReport check(Path dir, int exit, List<F> expected, List<C> cuts, int exitAfterRepair,
      Set<Long> lost, long keys, LongFunction<Optional<byte[]>> model) throws Exception {
    String before = digest(dir);
    List<Set<StandardOpenOption>> asked = new CopyOnWriteArrayList<>();
    InspectionReport report = LogInspector.inspect(List.of(dir), CODECS, (file, options) -> {
      asked.add(Set.copyOf(options));
      return FileOpener.FILES.open(file, options);
    });
    assertThat(digest(dir)).as("inspect changed nothing").isEqualTo(before);
    assertThat(dir.resolve(".lock")).as("inspect takes no lock").doesNotExist();
    assertThat(asked).isNotEmpty().allMatch(o -> o.equals(Set.of(StandardOpenOption.READ)));

    assertThat(findings(report)).as("%s", report.findings()).containsExactlyElementsOf(expected);
    assertThat(report.healthy() ? 0 : 1).as("exit code").isEqualTo(exit);
    for (Finding finding : report.findings()) {
      assertThat(finding.reason()).isNotBlank();
    }

    Path recovered = copy(dir, dir.resolveSibling(dir.getFileName() + "-recovered"));
    List<Cut> recoveryCuts;
    try (SegmentLog log = SegmentLog.open(settings(recovered), CODECS)) {
      recoveryCuts = log.recoveryReport().cuts();
      for (long k = 0; k < keys; k++) {
        Optional<byte[]> got = log.read(k);
        Optional<byte[]> want = lost.contains(k) ? Optional.empty() : model.apply(k);
        if (want.isEmpty()) {
          assertThat(got).as("key %d (deleted, or in damaged bytes)", k).isEmpty();
        } else {
          assertThat(got).as("key %d", k).hasValueSatisfying(v -> assertThat(v).isEqualTo(want.get()));
        }
      }
    }

    RepairReport repair = LogInspector.repair(List.of(dir), CODECS);
    assertThat(cuts(repair.cuts())).as("%s", repair.cuts()).containsExactlyElementsOf(cuts);
    assertThat(cuts(recoveryCuts)).as("recovery cuts what repair cuts").containsExactlyElementsOf(cuts);
    for (C c : cuts) {
      Path file = dir.resolve(c.file());
      if (c.deleted()) {
        assertThat(file).doesNotExist();
      } else {
        assertThat(Files.size(file)).isEqualTo(c.offset());
      }
    }
    InspectionReport again = LogInspector.inspect(List.of(dir), CODECS);
    assertThat(findings(again)).isEqualTo(findings(repair.after()));
    assertThat(findings(LogInspector.inspect(List.of(recovered), CODECS))).as("recovery leaves what repair leaves")
        .isEqualTo(findings(again));
    assertThat(again.healthy() ? 0 : 1).as("exit code after repair: %s", again.findings()).isEqualTo(exitAfterRepair);
    List<F> remaining = expected.stream().filter(e -> cuts.stream().noneMatch(c -> c.file().equals(e.file())
        && (c.deleted() || c.offset() == e.offset()))).toList();
    assertThat(findings(again)).as("repair cut exactly what it reported").isEqualTo(remaining);
    return report;
  }

  private static List<F> findings(InspectionReport report) {
    return report.findings().stream()
        .map(f -> new F(f.kind(), f.file().getFileName().toString(), f.offset(), f.bytes())).toList();
  }

  private static List<C> cuts(List<Cut> cuts) {
    return cuts.stream().map(c -> new C(c.file().getFileName().toString(), c.offset(), c.bytes(), c.fileDeleted()))
        .toList();
  }
}
