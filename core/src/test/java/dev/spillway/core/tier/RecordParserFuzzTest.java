package dev.spillway.core.tier;

import static dev.spillway.core.tier.SegmentDescriptor.*;
import static dev.spillway.core.tier.TierTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spillway.config.TierSettings.Durability;
import dev.spillway.codec.Codec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fuzzes the record parser with random and mutated records (fixed seeds, printed on failure): it
 * either returns exactly the record that was encoded or throws {@link CorruptRecordException}, never
 * another exception, and never sizes a buffer from a length the file cannot hold.
 * Run: {@code mvn -B -pl core -am test -Dsurefire.failIfNoSpecifiedTests=false -Dtest='RecordParserFuzzTest'}
 */
class RecordParserFuzzTest {
  private static final int CASES = 5_000;
  @TempDir Path dir;

  /** Encodes one record exactly as the writer does; returns its bytes and the raw payload. */
  @SuppressWarnings("ArrayRecordComponent") // a carrier the test reads, never compares or hashes
  record Encoded(byte[] bytes, byte[] raw, byte kind) {}

  static Encoded encode(Random r) {
    boolean tombstone = r.nextInt(8) == 0;
    byte[] raw = tombstone ? new byte[0] : payload(r.nextLong(), r.nextInt(2_000), r.nextBoolean());
    Codec codec = tombstone ? CODECS.raw() : java.util.List.of(CODECS.raw(), CODECS.lz4(), CODECS.zstd()).get(r.nextInt(3));
    ByteBuffer stored = ByteBuffer.allocate((int) codec.maxStoredLength(raw.length));
    int n = codec.encode(ByteBuffer.wrap(raw), stored);
    if (n == Codec.STORE_RAW) {
      codec = CODECS.raw();
      n = codec.encode(ByteBuffer.wrap(raw), stored);
    }
    ByteBuffer payload = stored.slice(0, n);
    ByteBuffer h = RecordFormat.allocateHeader();
    RecordFormat.writeHeader(h, tombstone ? KIND_TOMBSTONE : KIND_DATA, codec.id(), r.nextInt(), r.nextLong(),
        r.nextLong() & Long.MAX_VALUE, raw.length, n);
    RecordFormat.sealCrc(h, payload);
    byte[] bytes = new byte[RECORD_HEADER_LENGTH + n];
    h.get(0, bytes, 0, RECORD_HEADER_LENGTH);
    payload.get(0, bytes, RECORD_HEADER_LENGTH, n);
    return new Encoded(bytes, raw, tombstone ? KIND_TOMBSTONE : KIND_DATA);
  }

  /** Mutates {@code bytes}: flips, forged length fields, truncation, or pure noise. */
  static byte[] mutate(byte[] bytes, Random r) {
    byte[] b = bytes.clone();
    ByteBuffer le = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    switch (r.nextInt(6)) {
      case 0 -> {
        for (int i = 1 + r.nextInt(3); i > 0; i--) {
          int pos = r.nextInt(b.length);
          b[pos] ^= (byte) (1 + r.nextInt(255));
        }
      }
      case 1 -> {
        int[] fields = {RECORD_LENGTH_OFFSET, RECORD_RAW_LENGTH_OFFSET, RECORD_STORED_LENGTH_OFFSET};
        int[] forged = {1 << 30, -1, Integer.MAX_VALUE, (1 << 30) + 1, b.length * 2, 0, r.nextInt()};
        le.putInt(fields[r.nextInt(fields.length)], forged[r.nextInt(forged.length)]);
      }
      case 2 -> {
        return java.util.Arrays.copyOf(b, r.nextInt(b.length));
      }
      case 3 -> {
        byte[] noise = new byte[r.nextInt(300)];
        r.nextBytes(noise);
        if (noise.length >= 4 && r.nextBoolean()) {
          ByteBuffer.wrap(noise).order(ByteOrder.LITTLE_ENDIAN).putInt(0, RECORD_MAGIC);
        }
        return noise;
      }
      case 4 -> le.put(r.nextBoolean() ? RECORD_KIND_OFFSET : RECORD_CODEC_OFFSET, (byte) r.nextInt());
      default -> {
        // a forged header whose lengths are consistent with each other but not with the file
        le.putInt(RECORD_STORED_LENGTH_OFFSET, 1 << 30);
        le.putInt(RECORD_RAW_LENGTH_OFFSET, 1 << 30);
        le.putInt(RECORD_LENGTH_OFFSET, (1 << 30) + RECORD_HEADER_LENGTH);
      }
    }
    return b;
  }

  @Test
  void parserThrowsOnlyItsOwnExceptionAndNeverAllocatesFromAForgedLength() throws IOException {
    Path file = dir.resolve("fuzz.spw");
    Random seeds = new Random(0x5EED);
    int accepted = 0;
    int rejected = 0;
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
        StandardOpenOption.WRITE)) {
      for (int i = 0; i < CASES; i++) {
        long seed = seeds.nextLong();
        Random r = new Random(seed);
        Encoded e = encode(r);
        boolean mutated = r.nextInt(5) != 0;
        byte[] bytes = mutated ? mutate(e.bytes(), r) : e.bytes();
        ch.truncate(0);
        ch.write(ByteBuffer.wrap(new byte[FILE_HEADER_LENGTH]), 0);
        ch.write(ByteBuffer.wrap(bytes), FILE_HEADER_LENGTH);
        long fileSize = ch.size();
        try {
          RecordReader.Verified v = RecordReader.read(ch, file, FILE_HEADER_LENGTH, fileSize, CODECS, h -> {
            assertThat((long) h.storedLength()).as("seed %d: stored buffer sized past the file", seed)
                .isLessThanOrEqualTo(fileSize - FILE_HEADER_LENGTH - RECORD_HEADER_LENGTH);
            return ByteBuffer.allocate(h.storedLength());
          });
          long rawBound = CODECS.byId(v.header().codec()).maxRawLength(fileSize);
          assertThat((long) v.header().rawLength()).as("seed %d", seed).isLessThanOrEqualTo(rawBound);
          ByteBuffer raw = ByteBuffer.allocate(v.header().rawLength());
          RecordReader.decode(v, CODECS, raw, file, FILE_HEADER_LENGTH);
          // A record that passes the CRC must be the one encoded, byte for byte.
          assertThat(raw.array()).as("seed %d", seed).isEqualTo(e.raw());
          assertThat(v.header().kind()).as("seed %d", seed).isEqualTo(e.kind());
          accepted++;
        } catch (CorruptRecordException expected) {
          assertThat(mutated).as("seed %d: an intact record was rejected: %s", seed, expected).isTrue();
          assertThat(expected.offset()).isEqualTo(FILE_HEADER_LENGTH);
          rejected++;
        } catch (Throwable t) {
          throw new AssertionError("seed " + seed + ": unexpected " + t, t);
        }
      }
    }
    assertThat(accepted).isGreaterThan(CASES / 10);
    assertThat(rejected).isGreaterThan(CASES / 2);
  }

  @Test
  void forgedGigabyteLengthInAHundredByteFileIsRejectedBeforeAnyAllocation() throws IOException {
    Path file = dir.resolve("forged.spw");
    ByteBuffer h = RecordFormat.allocateHeader();
    RecordFormat.writeHeader(h, KIND_DATA, 0, 1, 2, 3, 1 << 30, 1 << 30);
    RecordFormat.sealCrc(h, null);
    byte[] bytes = new byte[100];
    h.get(0, bytes, FILE_HEADER_LENGTH, RECORD_HEADER_LENGTH);
    Files.write(file, bytes);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      assertThatThrownBy(() -> RecordReader.read(ch, file, FILE_HEADER_LENGTH, 100, CODECS, header -> {
        throw new AssertionError("allocation of " + header.storedLength() + " bytes requested");
      })).isInstanceOfSatisfying(CorruptRecordException.class,
          e -> assertThat(e.reason()).contains("runs past the end of the file"));
      assertThatThrownBy(() -> RecordReader.verify(ch, file, FILE_HEADER_LENGTH, 100, CODECS, RecordReader.scratch()))
          .isInstanceOf(CorruptRecordException.class);
    }
  }

  @Test
  void recoveryOfMutatedSegmentsNeverThrowsAndNeverIndexesWrongBytes() throws IOException {
    Random seeds = new Random(99);
    for (int i = 0; i < 150; i++) {
      long seed = seeds.nextLong();
      Random r = new Random(seed);
      Path sub = dir.resolve("case-" + i);
      java.util.Map<Long, byte[]> written = new java.util.HashMap<>();
      try (SegmentLog log = SegmentLog.open(settings(sub, 1L << 20, Durability.NONE), CODECS)) {
        for (long key = 0; key < 8; key++) {
          byte[] data = payload(seed + key, r.nextInt(1_500), r.nextBoolean());
          written.put(key, data);
          log.append(Write.of(key, 0, r.nextBoolean() ? CODECS.lz4() : CODECS.raw(), data));
        }
      }
      Path seg = SegmentLogTest.segmentFiles(sub).getFirst();
      byte[] bytes = Files.readAllBytes(seg);
      for (int m = 1 + r.nextInt(6); m > 0; m--) {
        int pos = r.nextInt(bytes.length);
        if (r.nextBoolean()) {
          bytes[pos] ^= (byte) (1 + r.nextInt(255));
        } else { // plant a record magic to lure resync
          ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(Math.min(pos, bytes.length - 4), RECORD_MAGIC);
        }
      }
      if (r.nextInt(3) == 0) {
        bytes = java.util.Arrays.copyOf(bytes, r.nextInt(bytes.length));
      }
      Files.write(seg, bytes);
      try (SegmentLog log = SegmentLog.open(settings(sub, 1L << 20, Durability.NONE), CODECS)) {
        for (long key = 0; key < 8; key++) {
          var got = log.read(key);
          if (got.isPresent()) {
            assertThat(got.get()).as("seed %d key %d", seed, key).isEqualTo(written.get(key));
          }
        }
      } catch (Throwable t) {
        throw new AssertionError("seed " + seed + ": " + t, t);
      }
    }
  }
}
