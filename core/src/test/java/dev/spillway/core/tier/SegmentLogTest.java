package dev.spillway.core.tier;

import dev.spillway.memory.TierStats;
import static dev.spillway.core.tier.TierTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spillway.config.TierSettings;
import dev.spillway.config.TierSettings.Durability;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Append / read / delete / reopen through the public API, model-checked against a HashMap.
 * Run: {@code mvn -B -pl core -am test -Dsurefire.failIfNoSpecifiedTests=false -Dtest='SegmentLogTest'}
 */
class SegmentLogTest {
  @TempDir Path dir;

  @ParameterizedTest(name = "durability {0}")
  @EnumSource(Durability.class)
  void rawAndLz4RoundTripEverySizeAndSurviveReopen(Durability durability) throws IOException {
    int[] sizes = {0, 1, 2, 47, 48, 4096, 100_000, 3 << 20};
    Map<Long, byte[]> expected = new HashMap<>();
    try (SegmentLog log = SegmentLog.open(settings(dir, 4L << 20, durability), CODECS)) {
      List<Write> batch = new ArrayList<>();
      long key = 0;
      for (int size : sizes) {
        for (boolean compressible : new boolean[] {true, false}) {
          for (var codec : List.of(CODECS.raw(), CODECS.lz4())) {
            byte[] data = payload(key, size, compressible);
            expected.put(key, data);
            batch.add(Write.of(key++, 7, codec, data));
          }
        }
      }
      List<RecordLocation> locations = log.append(batch);
      assertThat(locations).hasSize(batch.size());
      for (int i = 0; i < batch.size(); i++) {
        assertThat(log.read(locations.get(i))).isEqualTo(expected.get((long) i));
      }
      checkAll(log, expected);
      assertThat(log.stats().segments()).as("3 MiB records in 4 MiB segments roll").isGreaterThan(1);
    }
    try (SegmentLog log = SegmentLog.open(settings(dir, 4L << 20, durability), CODECS)) {
      assertThat(log.recoveryReport().clean()).isTrue();
      assertThat(log.recoveryReport().liveKeys()).isEqualTo(expected.size());
      checkAll(log, expected);
    }
  }

  private static void checkAll(SegmentLog log, Map<Long, byte[]> expected) throws IOException {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment buffer = arena.allocate(4L << 20);
      for (Map.Entry<Long, byte[]> e : expected.entrySet()) {
        assertThat(log.read(e.getKey())).get().isEqualTo(e.getValue());
        long n = log.readInto(e.getKey(), buffer);
        assertThat(n).isEqualTo(e.getValue().length);
        assertThat(buffer.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE)).isEqualTo(e.getValue());
        assertThat(log.lookup(e.getKey())).get().extracting(RecordInfo::rawLength).isEqualTo(e.getValue().length);
      }
    }
  }

  @Test
  void forgetDropsKeysWithoutTombstonesAndCompactionReclaimsTheirBytes() throws IOException {
    try (SegmentLog log = SegmentLog.open(settings(dir, 1L << 20, Durability.NONE), CODECS)) {
      for (int k = 1; k <= 40; k++) {
        log.append(Write.of(k, 0, CODECS.raw(), payload(k, 60 << 10, false)));
      }
      long[] keys = new long[39];
      for (int k = 0; k < 39; k++) {
        keys[k] = k + 1L;
      }
      assertThat(log.forget(keys, 39)).isEqualTo(39);
      assertThat(log.forget(keys, 39)).as("already forgotten").isZero();
      assertThat(log.lookup(1)).isEmpty();
      assertThat(log.read(40)).isPresent();
      TierStats before = log.stats();
      assertThat(before.tombstones()).isZero();
      assertThat(before.liveRecords()).isEqualTo(1);
      log.compact(1); // one segment at least, however small the allowance
      log.compact();
      assertThat(log.stats().bytesOnDisk()).isLessThan(before.bytesOnDisk());
      assertThat(log.read(40).orElseThrow()).isEqualTo(payload(40, 60 << 10, false));
    }
  }

  @Test
  void lz4StoresRawWhenTheGainIsUnderTenPercent() throws IOException {
    try (SegmentLog log = SegmentLog.open(settings(dir), CODECS)) {
      log.append(Write.of(1, 0, CODECS.lz4(), payload(1, 64 << 10, false)));
      log.append(Write.of(2, 0, CODECS.lz4(), payload(2, 64 << 10, true)));
      assertThat(log.lookup(1).orElseThrow().codec()).isEqualTo(CODECS.raw().id());
      RecordInfo compressed = log.lookup(2).orElseThrow();
      assertThat(compressed.codec()).isEqualTo(CODECS.lz4().id());
      assertThat(compressed.location().length()).isLessThan((64 << 10) / 4);
    }
  }

  /**
   * The absolute-offset forms a spill and a restore use: encode from the middle of a shared buffer and
   * read back into the middle of another, for raw, LZ4-compressed and LZ4-stored-raw payloads, small
   * and over the one-read limit; neither buffer's position moves, and bad bounds fail before anything
   * is written.
   */
  @Test
  void absoluteOffsetsOfSharedBuffersEncodeAndReadBack() throws IOException {
    int big = FileSegmentLog.SMALL_READ + 10;
    java.nio.ByteBuffer shared = java.nio.ByteBuffer.allocateDirect(3 * big);
    shared.position(7);
    try (SegmentLog log = SegmentLog.open(settings(dir), CODECS)) {
      long key = 0;
      Map<Long, byte[]> expected = new java.util.LinkedHashMap<>();
      for (int size : new int[] {1, 4096, big}) {
        for (boolean compressible : new boolean[] {true, false}) {
          for (var codec : List.of(CODECS.raw(), CODECS.lz4())) {
            byte[] data = payload(key, size, compressible);
            int at = size == big ? big : 1000;
            shared.put(at, data);
            List<EncodedRecord> records = List.of(log.encode(key, 3, codec, shared, at, size));
            try {
              log.appendEncoded(records);
            } finally {
              records.forEach(EncodedRecord::release);
            }
            shared.put(at, new byte[size]); // the record owns a copy
            expected.put(key++, data);
          }
        }
      }
      assertThat(shared.position()).isEqualTo(7);
      java.nio.ByteBuffer into = java.nio.ByteBuffer.allocateDirect(2 * big);
      for (Map.Entry<Long, byte[]> e : expected.entrySet()) {
        byte[] data = e.getValue();
        assertThat(log.readInto(e.getKey(), into, 5, data.length)).isEqualTo(data.length);
        byte[] got = new byte[data.length];
        into.get(5, got);
        assertThat(got).as("key %d", e.getKey()).isEqualTo(data);
      }
      assertThat(into.position()).isZero();
      assertThat(log.readInto(999, into, 0, 10)).as("no such key").isEqualTo(-1);
      assertThatThrownBy(() -> log.readInto(4, into, 0, 4095))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("holds only 4095");
      assertThatThrownBy(() -> log.readInto(4, into, into.capacity() - 10, 4096))
          .isInstanceOf(IndexOutOfBoundsException.class);
      long before = log.stats().liveRecords();
      assertThatThrownBy(() -> log.encode(99, 0, CODECS.raw(), shared, shared.capacity() - 1, 2))
          .isInstanceOf(IndexOutOfBoundsException.class);
      assertThatThrownBy(() -> log.encode(99, 0, dev.spillway.codec.Codecs.from(new dev.spillway.config.CodecSettings(0.10, List.of())).raw(), shared, 0, 2))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("does not belong");
      assertThat(log.stats().liveRecords()).isEqualTo(before);
    }
  }

  @Test
  void offHeapSourceAndDestination() throws IOException {
    try (SegmentLog log = SegmentLog.open(settings(dir), CODECS); Arena arena = Arena.ofConfined()) {
      MemorySegment src = arena.allocate(10_000);
      byte[] data = payload(5, 10_000, true);
      MemorySegment.copy(data, 0, src, ValueLayout.JAVA_BYTE, 0, data.length);
      log.append(List.of(new Write(5, 1, CODECS.lz4(), src), new Write(6, 1, CODECS.raw(), src)));
      MemorySegment dst = arena.allocate(10_000);
      for (long key : new long[] {5, 6}) {
        dst.fill((byte) 0);
        assertThat(log.readInto(key, dst)).isEqualTo(10_000);
        assertThat(dst.toArray(ValueLayout.JAVA_BYTE)).isEqualTo(data);
      }
      assertThatThrownBy(() -> log.readInto(5, arena.allocate(9_999)))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("holds only 9999");
    }
  }

  @Test
  void laterSequenceSupersedesAndTombstonesDeleteAcrossReopen() throws IOException {
    Map<Long, byte[]> model = new HashMap<>();
    Random random = new Random(11);
    try (SegmentLog log = SegmentLog.open(settings(dir), CODECS)) {
      for (int round = 0; round < 400; round++) {
        long key = random.nextInt(50);
        if (random.nextInt(4) == 0) {
          assertThat(log.delete(key)).isEqualTo(model.remove(key) != null);
        } else {
          byte[] data = payload(round, random.nextInt(20_000), random.nextBoolean());
          log.append(Write.of(key, round, random.nextBoolean() ? CODECS.lz4() : CODECS.raw(), data));
          model.put(key, data);
        }
      }
      checkModel(log, model);
    }
    try (SegmentLog log = SegmentLog.open(settings(dir), CODECS)) {
      assertThat(log.recoveryReport().clean()).isTrue();
      checkModel(log, model);
      // appends continue in the recovered log with higher sequence numbers
      long before = log.stats().nextSequence();
      log.append(Write.of(999, 0, CODECS.raw(), new byte[] {1}));
      assertThat(log.lookup(999).orElseThrow().sequence()).isEqualTo(before);
    }
  }

  private static void checkModel(SegmentLog log, Map<Long, byte[]> model) throws IOException {
    for (long key = 0; key < 50; key++) {
      Optional<byte[]> got = log.read(key);
      if (model.containsKey(key)) {
        assertThat(got).as("key %d", key).get().isEqualTo(model.get(key));
      } else {
        assertThat(got).as("key %d", key).isEmpty();
      }
    }
    assertThat(log.stats().liveRecords()).isEqualTo(model.size());
  }

  @Test
  void segmentsAreStripedRoundRobinAcrossDirectories(@TempDir Path other) throws IOException {
    TierSettings s = settings(dir, 1L << 20, Durability.NONE).withDirectories(List.of(dir, other));
    try (SegmentLog log = SegmentLog.open(s, CODECS)) {
      for (int i = 0; i < 8; i++) {
        log.append(Write.of(i, 0, CODECS.raw(), payload(i, 600_000, false)));
      }
      assertThat(log.stats().segments()).isEqualTo(8);
    }
    assertThat(segmentFiles(dir)).hasSize(4);
    assertThat(segmentFiles(other)).hasSize(4);
    try (SegmentLog log = SegmentLog.open(s, CODECS)) {
      for (int i = 0; i < 8; i++) {
        assertThat(log.read(i)).get().isEqualTo(payload(i, 600_000, false));
      }
    }
  }

  static List<Path> segmentFiles(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(p -> p.getFileName().toString().matches("seg-[0-9a-f]{16}\\.spw")).sorted().toList();
    }
  }

  @Test
  void readsRunConcurrentlyWithAppends() throws Exception {
    try (SegmentLog log = SegmentLog.open(settings(dir, 1L << 20, Durability.NONE), CODECS)) {
      AtomicBoolean done = new AtomicBoolean();
      AtomicReference<Throwable> failure = new AtomicReference<>();
      Thread reader = Thread.ofPlatform().start(() -> {
        Random r = new Random(3);
        try {
          while (!done.get()) {
            long key = r.nextInt(200);
            Optional<byte[]> got = log.read(key);
            if (got.isPresent() && !java.util.Arrays.equals(got.get(), payload(key, (int) (key * 97), true))) {
              throw new AssertionError("wrong bytes for key " + key);
            }
          }
        } catch (Throwable t) {
          failure.set(t);
        }
      });
      for (int k = 0; k < 200; k++) {
        log.append(Write.of(k, 0, CODECS.lz4(), payload(k, k * 97, true)));
      }
      done.set(true);
      reader.join();
      assertThat(failure.get()).isNull();
    }
  }

  @Test
  void secondOpenOfTheSameDirectoryFailsAndClosedLogRefusesWork() throws IOException {
    SegmentLog log = SegmentLog.open(settings(dir), CODECS);
    assertThatThrownBy(() -> SegmentLog.open(settings(dir), CODECS))
        .isInstanceOf(IOException.class).hasMessageContaining("already in use").hasMessageContaining(dir.toString());
    log.close();
    assertThatThrownBy(() -> log.read(1)).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    assertThatThrownBy(() -> log.append(Write.of(1, 0, CODECS.raw(), new byte[1])))
        .isInstanceOf(IllegalStateException.class);
    SegmentLog.open(settings(dir), CODECS).close();
  }

  @Test
  @SuppressWarnings("restricted") // a 1 GiB + 1 view of address 0, never touched: the size check comes first
  void oversizedRecordIsRefusedBeforeAnythingIsWritten() throws IOException {
    try (SegmentLog log = SegmentLog.open(settings(dir), CODECS)) {
      MemorySegment huge = MemorySegment.ofAddress(0).reinterpret((1L << 30) + 1);
      assertThatThrownBy(() -> log.append(new Write(1, 0, CODECS.raw(), huge)))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at most 1073741824");
      assertThat(log.stats().segments()).isZero();
    }
  }
}
