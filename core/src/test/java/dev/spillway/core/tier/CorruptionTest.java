package dev.spillway.core.tier;

import static dev.spillway.core.tier.TierTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.spillway.config.TierSettings.Durability;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Single-byte flips anywhere in a segment and truncations anywhere: every one is detected (recovery
 * reports it or the reader throws {@link CorruptRecordException}) and nothing returned differs from
 * what was written. Run: {@code mvn -B -pl core -am test -Dsurefire.failIfNoSpecifiedTests=false -Dtest='CorruptionTest'}
 */
class CorruptionTest {
  private static final int RECORDS = 40;
  @TempDir Path dir;
  private final Map<Long, byte[]> written = new HashMap<>();
  private final List<RecordLocation> locations = new ArrayList<>();
  private Path segment;
  private byte[] original;

  @BeforeEach
  void writeSegment() throws IOException {
    List<Write> batch = new ArrayList<>();
    Random r = new Random(5);
    for (long key = 0; key < RECORDS; key++) {
      byte[] data = payload(key, r.nextInt(3_000), key % 2 == 0);
      written.put(key, data);
      batch.add(Write.of(key, (int) key, key % 3 == 0 ? CODECS.raw() : CODECS.lz4(), data));
    }
    try (SegmentLog log = SegmentLog.open(settings(dir, 1L << 20, Durability.NONE), CODECS)) {
      locations.addAll(log.append(batch));
    }
    segment = SegmentLogTest.segmentFiles(dir).getFirst();
    original = Files.readAllBytes(segment);
  }

  /** The key whose record covers byte {@code pos}, or -1 for the file header. */
  private long keyAt(long pos) {
    for (int i = 0; i < locations.size(); i++) {
      RecordLocation l = locations.get(i);
      if (pos >= l.offset() && pos < l.offset() + l.length()) {
        return i;
      }
    }
    return -1;
  }

  /** Reads every key; asserts returned bytes are exact; returns the keys that were not returned. */
  private List<Long> checkReturnedBytesAreExact(SegmentLog log, long seed) throws IOException {
    List<Long> missing = new ArrayList<>();
    for (long key = 0; key < RECORDS; key++) {
      try {
        Optional<byte[]> got = log.read(key);
        if (got.isEmpty()) {
          missing.add(key);
        } else {
          assertThat(got.get()).as("key %d, seed %d", key, seed).isEqualTo(written.get(key));
        }
      } catch (CorruptRecordException e) {
        missing.add(key);
      }
    }
    return missing;
  }

  @Test
  void everySingleByteFlipFoundByRecoveryAndOnlyItsRecordIsLost() throws IOException {
    Random random = new Random(20261123);
    for (int trial = 0; trial < 300; trial++) {
      long seed = random.nextLong();
      Random r = new Random(seed);
      int pos = trial < 32 ? trial : r.nextInt(original.length); // every header byte, then anywhere
      byte[] bytes = original.clone();
      bytes[pos] ^= (byte) (1 + r.nextInt(255));
      Files.write(segment, bytes);
      try (SegmentLog log = SegmentLog.open(settings(dir, 1L << 20, Durability.NONE), CODECS)) {
        RecoveryReport report = log.recoveryReport();
        assertThat(report.clean()).as("flip at %d (seed %d) must be reported: %s", pos, seed, report).isFalse();
        List<Long> missing = checkReturnedBytesAreExact(log, seed);
        long hit = keyAt(pos);
        // resync finds every record after the damaged one
        assertThat(missing).as("flip at %d (seed %d)", pos, seed).isEqualTo(hit < 0 ? List.of() : List.of(hit));
      }
    }
  }

  @Test
  void flipsWhileTheLogIsOpenMakeTheReaderThrowNeverReturnWrongBytes() throws IOException {
    Random random = new Random(77);
    try (SegmentLog log = SegmentLog.open(settings(dir, 1L << 20, Durability.NONE), CODECS);
        FileChannel ch = FileChannel.open(segment, StandardOpenOption.READ, StandardOpenOption.WRITE);
        java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
      java.lang.foreign.MemorySegment offHeap = arena.allocate(1 << 20);
      ByteBuffer shared = ByteBuffer.allocateDirect(1 << 20);
      for (int trial = 0; trial < 300; trial++) {
        long seed = random.nextLong();
        Random r = new Random(seed);
        int pos = 32 + r.nextInt(original.length - 32);
        ch.write(ByteBuffer.wrap(new byte[] {(byte) (original[pos] ^ (1 + r.nextInt(255)))}), pos);
        long hit = keyAt(pos);
        for (long key = 0; key < RECORDS; key++) {
          if (key == hit) {
            long k = key;
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> log.read(k))
                .as("flip at %d (seed %d)", pos, seed)
                .isInstanceOfSatisfying(CorruptRecordException.class, e -> {
                  assertThat(e.file()).isEqualTo(segment);
                  assertThat(e.offset()).isEqualTo(locations.get((int) k).offset());
                  assertThat(e.reason()).isNotBlank();
                });
            // The restore's reads (readInto) must refuse it too. Of a record stored raw they read the
            // payload alone and check it against the CRC the index holds: a flip in the header on disk
            // is then no flip in what they read, so they may return the bytes, but only exactly the
            // bytes written.
            boolean inHeader = pos < locations.get((int) k).offset() + SegmentDescriptor.RECORD_HEADER_LENGTH;
            byte[] back = readOrNull(() -> {
              long n = log.readInto(k, offHeap);
              return offHeap.asSlice(0, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
            });
            byte[] backAtOffset = readOrNull(() -> {
              byte[] got = new byte[(int) log.readInto(k, shared, 3, 1 << 19)];
              shared.get(3, got);
              return got;
            });
            for (byte[] b : java.util.Arrays.asList(back, backAtOffset)) {
              if (b != null) {
                assertThat(inHeader).as("readInto returned data despite a payload flip at %d (seed %d)", pos, seed)
                    .isTrue();
                assertThat(b).as("readInto, header flip at %d (seed %d)", pos, seed).isEqualTo(written.get(k));
              }
            }
          } else {
            assertThat(log.read(key)).get().isEqualTo(written.get(key));
            long n = log.readInto(key, offHeap);
            assertThat(offHeap.asSlice(0, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE))
                .as("readInto, flip at %d (seed %d)", pos, seed).isEqualTo(written.get(key));
            assertThat(log.readInto(key, shared, 3, 1 << 19)).isEqualTo(n);
            byte[] got = new byte[(int) n];
            shared.get(3, got);
            assertThat(got).as("readInto at an offset, flip at %d (seed %d)", pos, seed).isEqualTo(written.get(key));
          }
        }
        ch.write(ByteBuffer.wrap(new byte[] {original[pos]}), pos);
      }
    }
  }

  @Test
  void everyTruncationIsDetectedOrFallsOnARecordBoundaryAndAppendsContinue() throws IOException {
    Random random = new Random(4242);
    for (int trial = 0; trial < 150; trial++) {
      long seed = random.nextLong();
      Random r = new Random(seed);
      int cut = trial % 10 == 0 ? (int) locations.get(r.nextInt(RECORDS)).offset() : r.nextInt(original.length);
      Files.write(segment, java.util.Arrays.copyOf(original, cut));
      boolean boundary = cut == 32 || locations.stream().anyMatch(l -> l.offset() + l.length() == cut);
      try (SegmentLog log = SegmentLog.open(settings(dir, 1L << 20, Durability.NONE), CODECS)) {
        RecoveryReport report = log.recoveryReport();
        assertThat(report.corrupt()).as("seed %d", seed).isEmpty();
        if (!boundary) {
          assertThat(report.truncated()).as("cut at %d (seed %d)", cut, seed).hasSize(1);
        }
        List<Long> missing = checkReturnedBytesAreExact(log, seed);
        for (long key = 0; key < RECORDS; key++) {
          RecordLocation l = locations.get((int) key);
          assertThat(missing.contains(key)).as("key %d, cut %d, seed %d", key, cut, seed)
              .isEqualTo(l.offset() + l.length() > cut);
        }
        log.append(Write.of(1000, 0, CODECS.lz4(), payload(1000, 500, true)));
      }
      try (SegmentLog log = SegmentLog.open(settings(dir, 1L << 20, Durability.NONE), CODECS)) {
        assertThat(log.recoveryReport().clean()).as("seed %d", seed).isTrue();
        assertThat(log.read(1000)).get().isEqualTo(payload(1000, 500, true));
      }
      for (Path p : SegmentLogTest.segmentFiles(dir)) {
        if (!p.equals(segment)) {
          Files.delete(p); // a cut inside the file header made recovery delete it; the append started another
        }
      }
    }
  }

  /** A read's bytes, or null when it refused them with a {@link CorruptRecordException}. */
  private static byte[] readOrNull(IoRead read) throws IOException {
    try {
      return read.get();
    } catch (CorruptRecordException refused) {
      return null;
    }
  }

  @FunctionalInterface
  private interface IoRead {
    byte[] get() throws IOException;
  }
}
