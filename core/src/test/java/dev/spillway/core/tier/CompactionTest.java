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
import org.junit.jupiter.api.io.TempDir;

/**
 * Compaction frees disk space, keeps every live record readable, never resurrects a deleted key, and
 * is safe against a crash between the copies and the deletion of the old file.
 * Run: {@code mvn -B -pl core -am test -Dsurefire.failIfNoSpecifiedTests=false -Dtest='CompactionTest'}
 */
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
}
