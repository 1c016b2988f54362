package dev.spillway.core.tier;

import static dev.spillway.core.tier.SegmentDescriptor.*;
import static dev.spillway.core.tier.TierTestSupport.CODECS;
import static dev.spillway.core.tier.TierTestSupport.payload;
import static org.assertj.core.api.Assertions.assertThat;

import dev.spillway.config.TierSettings;
import dev.spillway.config.TierSettings.Durability;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The healthy logs the corpus of damaged directories starts from, all written through
 * {@link SegmentLog} with 1 MiB segments and deterministic payloads, and the tools that describe their
 * bytes (damage is done with {@link dev.spillway.testing.FileBytes}).
 *
 * <p>The standard log: keys 0-399 (raw payloads of 3,000 to 11,999 bytes), then tombstones for keys
 * 0-9, new values for keys 10-19, then keys 400-459: 480 records in 4 segments, 450 live keys, 10
 * tombstones.
 */
final class CorpusLog {
  static final int KEYS = 460;
  static final long SEGMENT_SIZE = 1 << 20;

  private CorpusLog() {}

  static TierSettings settings(Path dir) {
    return TierSettings.in(dir).withSegmentSize(SEGMENT_SIZE).withDurability(Durability.NONE);
  }

  static int size(long key) {
    return 3_000 + (int) (key * 7919 % 9_000);
  }

  /** What key {@code key} reads as in the standard log, or empty when it was deleted. */
  static Optional<byte[]> expected(long key) {
    if (key < 10) {
      return Optional.empty();
    }
    long version = key < 20 ? key + 1_000 : key;
    return Optional.of(payload(version, size(version), false));
  }

  /** Writes the standard log into {@code dir}. */
  static void writeStandard(Path dir) throws IOException {
    try (SegmentLog log = SegmentLog.open(settings(dir), CODECS)) {
      appendKeys(log, 0, 400, k -> k);
      long[] deleted = new long[10];
      for (int i = 0; i < 10; i++) {
        deleted[i] = i;
      }
      assertThat(log.deleteAll(deleted, 10)).isEqualTo(10);
      appendKeys(log, 10, 20, k -> k + 1_000);
      appendKeys(log, 400, KEYS, k -> k);
    }
    Files.delete(dir.resolve(".lock")); // a log at rest, as a copy of it would be
    assertThat(segmentIds(dir)).as("the corpus assumes this layout").containsExactly(0L, 1L, 2L, 3L);
  }

  /** Keys in the compacted log. */
  static final int COMPACTED_KEYS = 300;

  /** What key {@code key} reads as in the compacted log. */
  static Optional<byte[]> expectedCompacted(long key) {
    long version = key < 240 ? key + 5_000 : key;
    return Optional.of(payload(version, size(version), false));
  }

  /**
   * The compacted log: keys 0-299, new values for keys 0-239, then one compaction pass that retires
   * the segments left mostly dead. With {@code backup} non-null, every segment file as it was just
   * before the compaction is copied there. Returns the compaction's result.
   */
  static CompactionResult writeCompacted(Path dir, Path backup) throws IOException {
    try (SegmentLog log = SegmentLog.open(settings(dir).withCompactLiveFractionBelow(0.5), CODECS)) {
      appendKeys(log, 0, COMPACTED_KEYS, k -> k);
      appendKeys(log, 0, 240, k -> k + 5_000);
      if (backup != null) {
        copy(dir, backup);
      }
      CompactionResult result = log.compact();
      assertThat(result.segmentsRewritten()).as("the corpus assumes segments were retired").isGreaterThan(1);
      return result;
    } finally {
      Files.deleteIfExists(dir.resolve(".lock"));
    }
  }

  private static void appendKeys(SegmentLog log, long from, long to, java.util.function.LongUnaryOperator version)
      throws IOException {
    List<Write> batch = new ArrayList<>();
    for (long k = from; k < to; k++) {
      long v = version.applyAsLong(k);
      batch.add(Write.of(k, 0, CODECS.raw(), payload(v, size(v), false)));
      if (batch.size() == 20) {
        log.append(batch);
        batch.clear();
      }
    }
    if (!batch.isEmpty()) {
      log.append(batch);
    }
  }

  /** A record's place in a segment file. */
  record Rec(long offset, long length) {
    long end() {
      return offset + length;
    }
  }

  /** The records of a healthy segment file, in order, from their length fields. */
  static List<Rec> records(Path file) throws IOException {
    List<Rec> out = new ArrayList<>();
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = ch.size();
      ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
      for (long pos = FILE_HEADER_LENGTH; pos < size; ) {
        b.clear();
        ch.read(b, pos + RECORD_LENGTH_OFFSET);
        long length = Integer.toUnsignedLong(b.getInt(0));
        out.add(new Rec(pos, length));
        pos += length;
      }
    }
    return out;
  }

  static Path seg(Path dir, long id) {
    return dir.resolve(fileName(id));
  }

  static List<Long> segmentIds(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(f -> parseFileName(f.getFileName().toString())).filter(id -> id >= 0).sorted().toList();
    }
  }

  /** Copies every file of {@code from} but its lock file into a new directory {@code to}. */
  static Path copy(Path from, Path to) throws IOException {
    Files.createDirectories(to);
    try (Stream<Path> files = Files.list(from)) {
      for (Path f : files.toList()) {
        if (!f.getFileName().toString().equals(".lock")) {
          Files.copy(f, to.resolve(f.getFileName()));
        }
      }
    }
    return to;
  }

  /**
   * A digest of a directory: its listing and, per entry, size, modification time and bytes. Equal
   * digests before and after an operation mean it changed nothing there.
   */
  static String digest(Path dir) throws Exception {
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    List<String> listing = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.sorted().toList()) {
        listing.add(f.getFileName() + " " + Files.size(f) + " " + Files.getLastModifiedTime(f).toInstant());
        if (Files.isRegularFile(f)) {
          sha.update(Files.readAllBytes(f));
        }
      }
    }
    sha.update(String.join("\n", listing).getBytes(java.nio.charset.StandardCharsets.UTF_8));
    return String.join("\n", listing) + "\n" + HexFormat.of().formatHex(sha.digest());
  }
}
