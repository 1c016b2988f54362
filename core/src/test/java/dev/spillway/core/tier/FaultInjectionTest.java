package dev.spillway.core.tier;

import static dev.spillway.core.tier.SegmentDescriptor.*;
import static dev.spillway.core.tier.TierTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spillway.config.TierSettings.Durability;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Full-device and fsync failures injected through {@link FaultyChannel}, at exact points a real
 * device cannot be made to fail at: inside the second run of a batch that rolls, at a new segment's
 * header, and in {@code force}. Works wherever {@link DiskFullTest} cannot mount a small file system.
 * Run: {@code mvn -B -pl core -am test -Dsurefire.failIfNoSpecifiedTests=false -Dtest='FaultInjectionTest'}
 */
class FaultInjectionTest {
  private static final int SIZE = 300_000;
  private static final int RECORD = RECORD_HEADER_LENGTH + SIZE;
  @TempDir Path dir;
  private final FaultyChannel.Faults faults = new FaultyChannel.Faults();
  private final Map<Long, byte[]> acknowledged = new HashMap<>();

  private SegmentLog open() throws IOException {
    return FileSegmentLog.open(settings(dir, 1L << 20, Durability.BATCH), CODECS, faults);
  }

  private static List<Write> batch(long firstKey, int n) {
    List<Write> out = new ArrayList<>();
    for (long k = firstKey; k < firstKey + n; k++) {
      out.add(Write.of(k, 0, CODECS.raw(), payload(k, SIZE, false)));
    }
    return out;
  }

  private void checkAcknowledged(SegmentLog log) throws IOException {
    for (Map.Entry<Long, byte[]> e : acknowledged.entrySet()) {
      assertThat(log.read(e.getKey())).as("key %d", e.getKey()).get().isEqualTo(e.getValue());
    }
  }

  @Test
  void deviceFullInsideTheSecondRunOfARollingBatch() throws IOException {
    // 5 records of ~300 KB in 1 MiB segments: run 1 = keys 0-2 in segment 0, run 2 = keys 3-4 in segment 1.
    faults.budget.set(FILE_HEADER_LENGTH + 3L * RECORD + FILE_HEADER_LENGTH + RECORD + 1000);
    try (SegmentLog log = open()) {
      SegmentWriteException e = org.assertj.core.api.Assertions.catchThrowableOfType(SegmentWriteException.class,
          () -> log.append(batch(0, 5)));
      assertThat(e).isNotNull();
      assertThat(e.getMessage()).contains("seg-0000000000000001.spw").contains("free space");
      assertThat(e.getCause()).hasMessageContaining("No space left on device");
      assertThat(e.acknowledged()).hasSize(3).allMatch(l -> l.segmentId() == 0);
      for (long k = 0; k < 3; k++) {
        acknowledged.put(k, payload(k, SIZE, false));
      }
      checkAcknowledged(log);
      assertThat(log.read(3)).isEmpty();
      assertThat(log.read(4)).isEmpty();
      assertThat(Files.size(dir.resolve(fileName(1)))).as("the failed run was truncated away")
          .isEqualTo(FILE_HEADER_LENGTH);

      faults.budget.set(Long.MAX_VALUE); // space returns
      log.append(batch(3, 2)).forEach(l -> assertThat(l.segmentId()).isGreaterThan(1));
      acknowledged.put(3L, payload(3, SIZE, false));
      acknowledged.put(4L, payload(4, SIZE, false));
      checkAcknowledged(log);
    }
    try (SegmentLog log = FileSegmentLog.open(settings(dir, 1L << 20, Durability.BATCH), CODECS, ChannelOpener.FILES)) {
      assertThat(log.recoveryReport().clean()).as("%s", log.recoveryReport()).isTrue();
      checkAcknowledged(log);
    }
  }

  @Test
  void deviceFullWhileStartingASegmentLeavesNoFileBehind() throws IOException {
    try (SegmentLog log = open()) {
      log.append(batch(0, 3));
      for (long k = 0; k < 3; k++) {
        acknowledged.put(k, payload(k, SIZE, false));
      }
      faults.budget.set(10); // the next segment's 32-byte header does not fit
      assertThatThrownBy(() -> log.append(batch(3, 1)))
          .isInstanceOf(SegmentWriteException.class).hasMessageContaining("cannot start segment file");
      assertThat(SegmentLogTest.segmentFiles(dir)).hasSize(1);
      checkAcknowledged(log);
      faults.budget.set(Long.MAX_VALUE);
      log.append(batch(3, 1));
      acknowledged.put(3L, payload(3, SIZE, false));
      checkAcknowledged(log);
    }
    try (SegmentLog log = open()) {
      assertThat(log.recoveryReport().clean()).isTrue();
      checkAcknowledged(log);
    }
  }

  @Test
  void failedFsyncDoesNotAcknowledgeAndRollsBack() throws IOException {
    try (SegmentLog log = open()) {
      log.append(batch(0, 1));
      acknowledged.put(0L, payload(0, SIZE, false));
      faults.failForce = true;
      assertThatThrownBy(() -> log.append(batch(1, 1)))
          .isInstanceOfSatisfying(SegmentWriteException.class, e -> assertThat(e.acknowledged()).isEmpty())
          .hasMessageContaining("injected fsync failure");
      assertThat(log.read(1)).isEmpty();
      faults.failForce = false;
      log.append(batch(2, 1));
      acknowledged.put(2L, payload(2, SIZE, false));
      checkAcknowledged(log);
    }
    try (SegmentLog log = open()) {
      assertThat(log.recoveryReport().clean()).isTrue();
      checkAcknowledged(log);
      assertThat(log.read(1)).isEmpty();
    }
  }
}
