package dev.spillway.core.tier;

import static dev.spillway.core.tier.TierTestSupport.CODECS;
import static dev.spillway.core.tier.TierTestSupport.payload;
import static dev.spillway.core.tier.TierTestSupport.settings;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.spillway.config.TierSettings.Durability;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The restore's read of a record stored raw ({@link SegmentLog#readInto(long, ByteBuffer, int, int)}
 * into direct memory): the payload alone, read natively straight into the destination and checked
 * against the CRC the index recorded. Every byte of every payload is flipped in turn on some record:
 * each flip fails the read, never returns bytes; a flip in a header on disk returns exactly the
 * bytes written (the index, not the disk header, describes the record); heap destinations and
 * compressed records take the scratch-buffer path and agree.
 */
@Timeout(120)
class PayloadReadTest {
  private static final int[] SIZES = {1, 7, 100, 4096, 65_536, 200_000};

  @TempDir Path dir;

  @Test
  void payloadsReadStraightIntoDirectMemoryAreExactAndEveryFlipIsCaught() throws IOException {
    assumeTrue(NativeFiles.available(), "native reads exist on Linux only");
    try (SegmentLog log = SegmentLog.open(settings(dir, 4L << 20, Durability.NONE), CODECS)) {
      List<byte[]> written = new ArrayList<>();
      List<RecordLocation> at = new ArrayList<>();
      for (int i = 0; i < SIZES.length; i++) {
        byte[] p = payload(i, SIZES[i], false);
        written.add(p);
        at.add(log.append(Write.of(i, 7, CODECS.raw(), p)));
      }
      ByteBuffer dst = ByteBuffer.allocateDirect(1 << 20);
      for (int i = 0; i < SIZES.length; i++) {
        assertThat(readBack(log, i, dst, 5)).as("record %d", i).isEqualTo(written.get(i));
      }
      SplittableRandom r = new SplittableRandom(42);
      for (int i = 0; i < SIZES.length; i++) {
        RecordLocation loc = at.get(i);
        Path file = dir.resolve(SegmentDescriptor.fileName(loc.segmentId()));
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
          for (int flip = 0; flip < 20; flip++) {
            long pos = loc.offset() + SegmentDescriptor.RECORD_HEADER_LENGTH + r.nextInt(SIZES[i]);
            flipAt(ch, pos);
            long key = i;
            assertThatThrownBy(() -> readBack(log, key, dst, 5)).as("payload flip at %d of record %d", pos, i)
                .isInstanceOfSatisfying(CorruptRecordException.class, e -> {
                  assertThat(e.file()).isEqualTo(file);
                  assertThat(e.offset()).isEqualTo(loc.offset());
                  assertThat(e.reason()).contains("checksum mismatch");
                });
            flipAt(ch, pos); // back as it was
          }
          long header = loc.offset() + r.nextInt(SegmentDescriptor.RECORD_HEADER_LENGTH);
          flipAt(ch, header);
          assertThat(readBack(log, i, dst, 5)).as("header flip at %d of record %d", header, i)
              .isEqualTo(written.get(i));
          flipAt(ch, header);
        }
        assertThat(readBack(log, i, dst, 5)).isEqualTo(written.get(i));
      }
    }
  }

  @Test
  void heapDestinationsAndCompressedRecordsAgreeWithTheDirectPath() throws IOException {
    try (SegmentLog log = SegmentLog.open(settings(dir, 4L << 20, Durability.NONE), CODECS)) {
      for (int i = 0; i < SIZES.length; i++) {
        log.append(Write.of(i, 1, CODECS.raw(), payload(i, SIZES[i], false)));
        log.append(Write.of(100 + i, 1, CODECS.lz4(), payload(100 + i, SIZES[i], true)));
      }
      ByteBuffer direct = ByteBuffer.allocateDirect(1 << 20);
      ByteBuffer heap = ByteBuffer.allocate(1 << 20);
      for (int i = 0; i < SIZES.length; i++) {
        for (long key : new long[] {i, 100 + i}) {
          byte[] expected = log.read(key).orElseThrow();
          assertThat(readBack(log, key, direct, 0)).isEqualTo(expected);
          assertThat(readBack(log, key, heap, 11)).isEqualTo(expected);
        }
      }
      assertThatThrownBy(() -> log.readInto(0 + 5, direct, 0, SIZES[5] - 1))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("holds only " + (SIZES[5] - 1));
      assertThat(log.readInto(999, direct, 0, 16)).as("no such key").isEqualTo(-1);
    }
  }

  private static byte[] readBack(SegmentLog log, long key, ByteBuffer dst, int offset) throws IOException {
    long n = log.readInto(key, dst, offset, dst.capacity() - offset);
    byte[] out = new byte[(int) n];
    dst.get(offset, out);
    return out;
  }

  private static void flipAt(FileChannel ch, long pos) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(1);
    ch.read(b, pos);
    b.put(0, (byte) (b.get(0) ^ 0x10)).position(0);
    ch.write(b, pos);
  }
}
