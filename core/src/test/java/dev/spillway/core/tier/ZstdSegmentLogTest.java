package dev.spillway.core.tier;

import static dev.spillway.core.tier.TierTestSupport.payload;
import static dev.spillway.core.tier.TierTestSupport.settings;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spillway.codec.Codec;
import dev.spillway.codec.Codecs;
import dev.spillway.config.CodecSettings;
import dev.spillway.config.SpillwaySettings;
import dev.spillway.config.TierSettings.Durability;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Zstd records (codec id 3) in a segment log, mirroring what the LZ4 records get in {@link
 * SegmentLogTest} and {@link PayloadReadTest}: every size round-trips through every read path and
 * survives a reopen (by codecs of another level) and a compaction; records that do not pay are stored
 * raw; a damaged payload fails the read and never returns bytes; a header forging a raw length beyond
 * what Zstd can decode from its payload is refused; and inspection, with the codecs the command line
 * builds, reads such a log as healthy and names a damaged zstd record. Run: {@code mvn -B -o test -pl
 * core -am -Dsurefire.failIfNoSpecifiedTests=false -Dtest=ZstdSegmentLogTest}
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ZstdSegmentLogTest {
  private static final Codecs CODECS = Codecs.from(new CodecSettings(0.10, List.of()));
  private static final int[] SIZES = {1, 47, 48, 4096, 100_000, 3 << 20};

  @TempDir Path dir;

  /** Writes each size, compressible and not, through Zstd; returns key to bytes. */
  private static Map<Long, byte[]> writeAll(SegmentLog log, Codec zstd) throws IOException {
    Map<Long, byte[]> expected = new HashMap<>();
    List<Write> batch = new ArrayList<>();
    long key = 0;
    for (int size : SIZES) {
      for (boolean compressible : new boolean[] {true, false}) {
        byte[] data = payload(key, size, compressible);
        expected.put(key, data);
        batch.add(Write.of(key++, 7, zstd, data));
      }
    }
    List<RecordLocation> at = log.append(batch);
    for (int i = 0; i < at.size(); i++) {
      assertThat(log.read(at.get(i))).isEqualTo(expected.get((long) i));
    }
    return expected;
  }

  private static void checkEveryReadPath(SegmentLog log, Map<Long, byte[]> expected) throws IOException {
    ByteBuffer direct = ByteBuffer.allocateDirect(4 << 20);
    ByteBuffer heap = ByteBuffer.allocate(4 << 20);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment segment = arena.allocate(4L << 20);
      for (Map.Entry<Long, byte[]> e : expected.entrySet()) {
        byte[] want = e.getValue();
        long key = e.getKey();
        assertThat(log.read(key)).get().as("key %d", key).isEqualTo(want);
        assertThat(log.readInto(key, segment)).isEqualTo(want.length);
        assertThat(segment.asSlice(0, want.length).toArray(ValueLayout.JAVA_BYTE)).isEqualTo(want);
        for (ByteBuffer dst : List.of(direct, heap)) {
          assertThat(log.readInto(key, dst, 13, dst.capacity() - 13)).isEqualTo(want.length);
          assertThat(dst.position()).isZero();
          byte[] got = new byte[want.length];
          dst.get(13, got);
          assertThat(got).as("key %d into a %s buffer", key, dst.isDirect() ? "direct" : "heap").isEqualTo(want);
        }
      }
    }
  }

  @Test
  void zstdRecordsRoundTripEverySizeThroughEveryReadPathAndSurviveReopenAndCompaction() throws IOException {
    Map<Long, byte[]> expected;
    try (SegmentLog log = SegmentLog.open(settings(dir, 4L << 20, Durability.BATCH), CODECS)) {
      expected = writeAll(log, CODECS.zstd());
      checkEveryReadPath(log, expected);
      for (long key = 0; key < expected.size(); key++) {
        RecordInfo info = log.lookup(key).orElseThrow();
        int size = expected.get(key).length;
        boolean compressible = key % 2 == 0;
        if (compressible && size >= 4096) {
          assertThat(info.codec()).as("key %d", key).isEqualTo(3);
          assertThat(info.location().length()).isLessThan(48 + size / 4);
        }
        if (!compressible) {
          assertThat(info.codec()).as("key %d: random bytes are stored raw", key).isZero();
        }
      }
    }
    // Another level decodes them all: the level is a property of writing only.
    Codecs other = Codecs.from(new CodecSettings(0.10, 19, 0.5, List.of()));
    try (SegmentLog log = SegmentLog.open(settings(dir, 4L << 20, Durability.BATCH), other)) {
      assertThat(log.recoveryReport().clean()).isTrue();
      assertThat(log.recoveryReport().liveKeys()).isEqualTo(expected.size());
      checkEveryReadPath(log, expected);
      for (long key = 0; key < expected.size(); key += 2) {
        log.append(Write.of(key, 8, other.zstd(), expected.get(key))); // the old copies become garbage
      }
      log.compact();
      checkEveryReadPath(log, expected);
    }
  }

  /** The spill path's absolute-offset encode, from the middle of a shared direct buffer. */
  @Test
  void encodeFromASharedBufferAndAppendEncoded() throws IOException {
    byte[] data = payload(1, 64 << 10, true);
    ByteBuffer shared = ByteBuffer.allocateDirect(200 << 10);
    shared.put(1000, data).position(17);
    try (SegmentLog log = SegmentLog.open(settings(dir), CODECS)) {
      EncodedRecord r = log.encode(1, 2, CODECS.zstd(), shared, 1000, data.length);
      assertThat(shared.position()).isEqualTo(17);
      log.appendEncoded(List.of(r));
      RecordInfo info = log.lookup(1).orElseThrow();
      assertThat(info.codec()).isEqualTo(CODECS.zstd().id());
      assertThat(info.rawLength()).isEqualTo(data.length);
      assertThat(log.read(1)).get().isEqualTo(data);
    }
  }

  @Test
  void aFlippedPayloadByteFailsTheReadAndNeverReturnsBytes() throws IOException {
    try (SegmentLog log = SegmentLog.open(settings(dir, 4L << 20, Durability.NONE), CODECS)) {
      byte[] data = payload(5, 100_000, true);
      RecordLocation loc = log.append(Write.of(5, 0, CODECS.zstd(), data));
      assertThat(log.lookup(5).orElseThrow().codec()).isEqualTo(3);
      Path file = dir.resolve(SegmentDescriptor.fileName(loc.segmentId()));
      int stored = loc.length() - SegmentDescriptor.RECORD_HEADER_LENGTH;
      try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
        for (int i = 0; i < stored; i += Math.max(1, stored / 50)) {
          long pos = loc.offset() + SegmentDescriptor.RECORD_HEADER_LENGTH + i;
          flipAt(ch, pos);
          assertThatThrownBy(() -> log.read(5)).as("flip at payload byte %d", i)
              .isInstanceOf(CorruptRecordException.class);
          ByteBuffer dst = ByteBuffer.allocateDirect(data.length);
          assertThatThrownBy(() -> log.readInto(5, dst, 0, data.length)).isInstanceOf(CorruptRecordException.class);
          flipAt(ch, pos);
        }
      }
      assertThat(log.read(5)).get().isEqualTo(data);
    }
  }

  /** Raw lengths the payload cannot hold, and stored lengths over Zstd's bound, are refused from the header alone. */
  @Test
  void headersForgingLengthsAreRefusedBeforeAnyBufferIsSized() {
    ByteBuffer h = ByteBuffer.allocate(SegmentDescriptor.RECORD_HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
    Path file = dir.resolve("seg-0000000000000000.spw");
    RecordFormat.writeHeader(h, SegmentDescriptor.KIND_DATA, 3, 0, 1, 1, 32_768 * 10 + 1, 10);
    assertThatThrownBy(() -> RecordFormat.validateHeader(h, 0, file, 32, 1 << 20, CODECS))
        .isInstanceOf(CorruptRecordException.class)
        .hasMessageContaining("more than zstd can decode from 10 stored bytes");
    RecordFormat.writeHeader(h, SegmentDescriptor.KIND_DATA, 3, 0, 1, 1, 1000, 1100);
    assertThatThrownBy(() -> RecordFormat.validateHeader(h, 0, file, 32, 1 << 20, CODECS))
        .isInstanceOf(CorruptRecordException.class)
        .hasMessageContaining("exceeds the zstd bound of " + CODECS.zstd().maxStoredLength(1000));
    RecordFormat.writeHeader(h, SegmentDescriptor.KIND_DATA, 3, 0, 1, 1, 32_768 * 10, 10);
    org.assertj.core.api.Assertions.assertThatCode(() -> RecordFormat.validateHeader(h, 0, file, 32, 1 << 20, CODECS))
        .as("at the bound: the payload is checked by its CRC and decoded next").doesNotThrowAnyException();
    RecordFormat.writeHeader(h, SegmentDescriptor.KIND_DATA, 4, 0, 1, 1, 100, 100);
    assertThatThrownBy(() -> RecordFormat.validateHeader(h, 0, file, 32, 1 << 20, CODECS))
        .isInstanceOf(CorruptRecordException.class).hasMessageContaining("unknown codec id 4");
  }

  /**
   * What {@code spillway inspect} does, with the codecs it builds (the embedded defaults): a log of
   * zstd records is healthy and counted; a zstd record whose payload is damaged is one CORRUPT_RECORD.
   */
  @Test
  void inspectionReadsALogOfZstdRecordsAndNamesADamagedOne() throws IOException {
    Codecs asInspectBuildsThem = Codecs.from(SpillwaySettings.defaults().codec());
    List<RecordLocation> at;
    try (SegmentLog log = SegmentLog.open(settings(dir, 1L << 20, Durability.NONE), CODECS)) {
      List<Write> batch = new ArrayList<>();
      for (long k = 0; k < 30; k++) {
        batch.add(Write.of(k, 0, CODECS.zstd(), payload(k, 40_000, k % 3 != 0)));
      }
      at = log.append(batch);
      log.delete(29);
    }
    java.nio.file.Files.deleteIfExists(dir.resolve(".lock"));
    InspectionReport healthy = LogInspector.inspect(List.of(dir), asInspectBuildsThem);
    assertThat(healthy.findings()).isEmpty();
    assertThat(healthy.records()).isEqualTo(31);
    assertThat(healthy.liveKeys()).isEqualTo(29);
    assertThat(healthy.tombstones()).isEqualTo(1);

    RecordLocation victim = at.get(4); // compressible: a zstd record
    Path file = dir.resolve(SegmentDescriptor.fileName(victim.segmentId()));
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      flipAt(ch, victim.offset() + SegmentDescriptor.RECORD_HEADER_LENGTH + 20);
    }
    InspectionReport damaged = LogInspector.inspect(List.of(dir), asInspectBuildsThem);
    assertThat(damaged.findings()).singleElement().satisfies(f -> {
      assertThat(f.kind()).isEqualTo(Finding.Kind.CORRUPT_RECORD);
      assertThat(f.file()).isEqualTo(file);
      assertThat(f.offset()).isEqualTo(victim.offset());
      assertThat(f.bytes()).isEqualTo(victim.length());
    });
    assertThat(damaged.damaged()).isTrue();
  }

  private static void flipAt(FileChannel ch, long pos) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(1);
    ch.read(b, pos);
    b.put(0, (byte) (b.get(0) ^ 0x10)).position(0);
    ch.write(b, pos);
  }
}
