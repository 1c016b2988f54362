package dev.spillway.core.tier;

import static dev.spillway.core.tier.TierTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.spillway.config.TierSettings;
import dev.spillway.config.TierSettings.Durability;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Compaction frees disk space, keeps every live record readable, never resurrects a deleted key, and
 * is safe against a crash between the copies and the deletion of the old file.
 * Run: {@code mvn -B -pl core -am test -Dsurefire.failIfNoSpecifiedTests=false -Dtest='CompactionTest'}
 */
@Timeout(value = 5, unit = java.util.concurrent.TimeUnit.MINUTES)
class CompactionTest {
  private static final int KEYS = 60;
  @TempDir Path dir;
  private final Map<Long, byte[]> model = new HashMap<>();
  private final Set<Long> deleted = new HashSet<>();

  private TierSettings settings() {
    return TierTestSupport.settings(dir, 1L << 20, Durability.NONE).withCompactLiveFractionBelow(0.5);
  }

  /** Fills ~6 segments, then overwrites or deletes most keys so the old segments are mostly dead. */
  private void churn(SegmentLog log) throws IOException {
    Random r = new Random(8);
    for (long key = 0; key < KEYS; key++) {
      byte[] data = payload(key, 100_000, false);
      log.append(Write.of(key, 0, CODECS.raw(), data));
      model.put(key, data);
    }
    for (long key = 0; key < KEYS; key++) {
      int roll = r.nextInt(10);
      if (roll < 4) {
        assertThat(log.delete(key)).isTrue();
        model.remove(key);
        deleted.add(key);
      } else if (roll < 8) {
        byte[] data = payload(key + 1_000, 20_000, true);
        log.append(Write.of(key, 1, CODECS.lz4(), data));
        model.put(key, data);
      }
    }
  }

  private void checkModel(SegmentLog log) throws IOException {
    for (long key = 0; key < KEYS; key++) {
      if (model.containsKey(key)) {
        assertThat(log.read(key)).as("key %d", key).get().isEqualTo(model.get(key));
      } else {
        assertThat(log.read(key)).as("deleted key %d", key).isEmpty();
      }
    }
    assertThat(log.stats().liveRecords()).isEqualTo(model.size());
  }

  private long bytesOnDisk() throws IOException {
    long sum = 0;
    for (Path p : SegmentLogTest.segmentFiles(dir)) {
      sum += Files.size(p);
    }
    return sum;
  }

  @Test
  void compactionFreesSpaceKeepsLiveRecordsAndSurvivesReopen() throws IOException {
    try (SegmentLog log = SegmentLog.open(settings(), CODECS)) {
      churn(log);
      long before = bytesOnDisk();
      assertThat(log.stats().bytesOnDisk()).isEqualTo(before);
      CompactionResult result = log.compact();
      long after = bytesOnDisk();
      assertThat(result.segmentsRewritten()).isPositive();
      assertThat(after).isLessThan(before / 2);
      assertThat(result.bytesFreed()).isEqualTo(before - after);
      assertThat(log.stats().bytesOnDisk()).isEqualTo(after);
      checkModel(log);
      // a second pass over an already compact log has little or nothing to do, and keeps everything
      log.compact();
      checkModel(log);
    }
    try (SegmentLog log = SegmentLog.open(settings(), CODECS)) {
      assertThat(log.recoveryReport().clean()).isTrue();
      checkModel(log);
    }
  }

  /**
   * Batches that mix every payload size the writer treats differently (empty, staged, just over the
   * staged limit, larger than the staging buffer) and a compaction that fills its copy buffer more than
   * once and meets a record larger than it: every byte reads back, before and after reopening.
   */
  @Test
  void recordsOfEverySizeSurviveStagedWritesAndTheCopyBuffer() throws IOException {
    TierSettings s = TierTestSupport.settings(dir, 16L << 20, Durability.NONE).withCompactLiveFractionBelow(0.9);
    int[] sizes = {0, 1, 47, 4096, SegmentWriter.STAGED_PAYLOAD, SegmentWriter.STAGED_PAYLOAD + 1, 300_000,
        SegmentWriter.STAGING_BYTES + 5, Compaction.COPY_BATCH_BYTES + 1};
    Random r = new Random(21);
    long bigKey = 2 * 700; // the first record of round 2: larger than the copy buffer, kept live
    try (SegmentLog log = SegmentLog.open(s, CODECS)) {
      long key = 0;
      for (int round = 0; round < 6; round++) {
        List<Write> batch = new java.util.ArrayList<>();
        for (int i = 0; i < 700; i++) {
          int size = r.nextInt(20) == 0 ? sizes[r.nextInt(sizes.length - 1)] : 4096;
          if (key == bigKey) {
            size = sizes[sizes.length - 1];
          }
          byte[] data = payload(key, size, r.nextBoolean());
          batch.add(Write.of(key, 0, r.nextBoolean() ? CODECS.lz4() : CODECS.raw(), data));
          model.put(key++, data);
        }
        log.append(batch);
      }
      for (long k = 0; k < key; k++) {
        if (r.nextInt(3) == 0 && k != bigKey) {
          assertThat(log.delete(k)).isTrue();
          model.remove(k);
        }
      }
      int sealed = log.stats().segments() - 1;
      assertThat(sealed).as("sealed segments").isGreaterThan(1);
      assertThat(log.stats().liveBytes()).as("enough live bytes to fill the copy buffer several times")
          .isGreaterThan(3L * Compaction.COPY_BATCH_BYTES);
      CompactionResult result = log.compact();
      assertThat(result.segmentsRewritten()).as("every sealed segment is under 90%% live").isEqualTo(sealed);
      checkAll(log, key);
    }
    try (SegmentLog log = SegmentLog.open(s, CODECS)) {
      assertThat(log.recoveryReport().clean()).isTrue();
      checkAll(log, model.keySet().stream().mapToLong(Long::longValue).max().orElseThrow() + 1);
    }
  }

  /** Every key read both ways: whole into an array, and into off-heap memory (one read when small). */
  private void checkAll(SegmentLog log, long keys) throws IOException {
    try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
      java.lang.foreign.MemorySegment into = arena.allocate(Compaction.COPY_BATCH_BYTES + 1);
      for (long k = 0; k < keys; k++) {
        if (model.containsKey(k)) {
          long n = log.readInto(k, into);
          assertThat(n).as("key %d", k).isEqualTo(model.get(k).length);
          assertThat(into.asSlice(0, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)).as("key %d", k)
              .isEqualTo(model.get(k));
        }
      }
    }
    for (long k = 0; k < keys; k++) {
      if (model.containsKey(k)) {
        assertThat(log.read(k)).as("key %d", k).get().isEqualTo(model.get(k));
      } else {
        assertThat(log.read(k)).as("deleted key %d", k).isEmpty();
      }
    }
  }

  @Test
  void tombstonesKeepDeletedKeysDeletedUntilNoOlderRecordRemains() throws IOException {
    try (SegmentLog log = SegmentLog.open(settings(), CODECS)) {
      churn(log);
      long dropped = 0;
      long copied = 0;
      for (int pass = 0; pass < 4; pass++) {
        CompactionResult result = log.compact();
        dropped += result.tombstonesDropped();
        copied += result.recordsCopied();
        checkModel(log);
      }
      // fill more, so that every old segment is sealed and compactable, then compact again
      for (long key = 100; key < 120; key++) {
        byte[] data = payload(key, 100_000, false);
        log.append(Write.of(key, 0, CODECS.raw(), data));
        model.put(key, data);
        assertThat(log.delete(key)).isTrue();
        model.remove(key);
      }
      dropped += log.compact().tombstonesDropped();
      checkModel(log);
      assertThat(dropped).as("tombstones in the oldest segment are dropped").isPositive();
      assertThat(copied).isPositive();
      assertThat(log.stats().tombstones()).as("tombstones of the oldest segments are dropped")
          .isLessThan(deleted.size() + 20);
    }
    try (SegmentLog log = SegmentLog.open(settings(), CODECS)) {
      checkModel(log);
      for (long key : deleted) {
        assertThat(log.read(key)).as("deleted key %d resurrected after compaction + reopen", key).isEmpty();
      }
    }
  }

  @Test
  void crashBetweenCopiesAndDeletionResolvesDuplicatesBySequence() throws IOException {
    Path backup = Files.createTempDirectory("spillway-compaction-backup");
    try {
      try (SegmentLog log = SegmentLog.open(settings(), CODECS)) {
        churn(log);
        for (Path p : SegmentLogTest.segmentFiles(dir)) {
          Files.copy(p, backup.resolve(p.getFileName()));
        }
        assertThat(log.compact().segmentsRewritten()).isPositive();
      }
      // Put the deleted originals back: the state a crash after the copies, before the deletes, leaves.
      List<Path> originals;
      try (var files = Files.list(backup)) {
        originals = files.toList();
      }
      int restored = 0;
      for (Path p : originals) {
        if (!Files.exists(dir.resolve(p.getFileName()))) {
          Files.copy(p, dir.resolve(p.getFileName()));
          restored++;
        }
      }
      assertThat(restored).isPositive();
      try (SegmentLog log = SegmentLog.open(settings(), CODECS)) {
        assertThat(log.recoveryReport().clean()).isTrue();
        // A RETIRE record named each original before it was deleted: recovery deletes the leftovers
        // (their live records were copied first) instead of keeping duplicates for sequence to resolve.
        assertThat(log.recoveryReport().cuts()).hasSize(restored).allMatch(Cut::fileDeleted);
        for (Cut cut : log.recoveryReport().cuts()) {
          assertThat(cut.file()).doesNotExist();
          assertThat(Files.exists(backup.resolve(cut.file().getFileName()))).isTrue();
        }
        checkModel(log);
        log.compact();
        checkModel(log);
      }
      try (SegmentLog log = SegmentLog.open(settings(), CODECS)) {
        checkModel(log);
      }
    } finally {
      try (var files = Files.list(backup)) {
        for (Path p : files.toList()) {
          Files.delete(p);
        }
      }
      Files.delete(backup);
    }
  }

  @Test
  void readsByKeyFollowRecordsThatCompactionMoves() throws Exception {
    try (SegmentLog log = SegmentLog.open(settings(), CODECS)) {
      churn(log);
      var failure = new java.util.concurrent.atomic.AtomicReference<Throwable>();
      var done = new java.util.concurrent.atomic.AtomicBoolean();
      Thread reader = Thread.ofPlatform().start(() -> {
        try {
          while (!done.get()) {
            checkModel(log);
          }
        } catch (Throwable t) {
          failure.set(t);
        }
      });
      log.compact();
      done.set(true);
      reader.join();
      assertThat(failure.get()).isNull();
    }
  }

  /**
   * The restore's read (payload alone, native {@code pread} into off-heap memory, on a descriptor
   * each segment holds) from two threads while compaction moves the records and deletes the
   * segments they were in: every read returns the model's bytes or follows the record to its copy,
   * never reads a closed or reused descriptor.
   */
  @Test
  @org.junit.jupiter.api.Timeout(120)
  void payloadReadsIntoOffHeapMemoryFollowRecordsThatCompactionMovesFromBothCores() throws Exception {
    try (SegmentLog log = SegmentLog.open(settings(), CODECS)) {
      churn(log);
      var failure = new java.util.concurrent.atomic.AtomicReference<Throwable>();
      var done = new java.util.concurrent.atomic.AtomicBoolean();
      var reads = new java.util.concurrent.atomic.AtomicLong();
      Thread[] readers = new Thread[2];
      for (int t = 0; t < readers.length; t++) {
        readers[t] = Thread.ofPlatform().start(() -> {
          java.nio.ByteBuffer into = java.nio.ByteBuffer.allocateDirect(1 << 20);
          try {
            while (!done.get()) {
              for (long key = 0; key < KEYS; key++) {
                long n = log.readInto(key, into, 16, into.capacity() - 16);
                byte[] want = model.get(key);
                if (want == null) {
                  assertThat(n).as("deleted key %d", key).isEqualTo(-1);
                  continue;
                }
                byte[] got = new byte[(int) n];
                into.get(16, got);
                assertThat(got).as("key %d", key).isEqualTo(want);
                reads.incrementAndGet();
              }
            }
          } catch (Throwable e) {
            failure.set(e);
          }
        });
      }
      long passes = 0;
      while (passes < 3 || reads.get() < 10L * KEYS) {
        // The same live records are copied again on every pass: rewrite a few to keep segments dying.
        for (long key = 0; key < KEYS; key += 7) {
          if (model.containsKey(key)) {
            log.append(Write.of(key, 2, CODECS.raw(), model.get(key)));
          }
        }
        log.compact();
        passes++;
        if (failure.get() != null) {
          break;
        }
      }
      done.set(true);
      for (Thread t : readers) {
        t.join(30_000);
      }
      assertThat(failure.get()).isNull();
      checkModel(log);
    }
  }
}
