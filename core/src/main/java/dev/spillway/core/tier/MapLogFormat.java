package dev.spillway.core.tier;

import static dev.spillway.core.tier.SegmentDescriptor.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * The on-disk format of a durable map's log, version 1: segment files of keyed records in the map's
 * own directory. It shares the 48-byte record header of the spill log ({@link RecordFormat}) and its
 * CRC32C, and differs in three things: a file magic of its own (a spill log and a map log are never
 * mistaken for each other), two record kinds that carry their key, and file names {@code
 * map-<16 hex digits>.spm}.
 *
 * <pre>
 * file header (32 bytes)
 *  0        4        6        8                16               24       28       32
 *  +--------+--------+--------+----------------+----------------+--------+--------+
 *  | magic  |version |reserved|   segment id   | created millis |reserved| CRC32C |
 *  | "SPWM" |  u16=1 |  u16=0 |      u64       |      u64       |  u32=0 |  [0,28)|
 *  +--------+--------+--------+----------------+----------------+--------+--------+
 *
 * record: the 48-byte header of RecordFormat, then the payload
 *  kind 4 ENTRY : generation = key length, key id = the key's 64-bit hash,
 *                 payload = codec( u64 write time (epoch millis) | key bytes | value bytes ),
 *                 raw length = 8 + key length + value length
 *  kind 5 REMOVE: codec 0 (raw), generation = key length, key id = the key's hash,
 *                 payload = u64 remove time (epoch millis) | key bytes, raw = stored = 8 + key length
 *  sequence: increases with the position in the log (segment id, then offset)
 * </pre>
 *
 * <p>A record's place in the log is its <em>location</em>: the segment id in the upper 24 bits and
 * the offset in the lower 40 ({@link #location}). The latest record of a key, in log order, is its
 * state: an ENTRY its value, a REMOVE its absence.
 */
public final class MapLogFormat {
  private MapLogFormat() {}

  /** Format version written into every map-log file header. */
  public static final short VERSION = 1;
  /** "SPWM" as bytes on disk. */
  static final int FILE_MAGIC = 0x4D575053;
  public static final byte KIND_ENTRY = 4;
  public static final byte KIND_REMOVE = 5;
  /** The time at the head of every payload. */
  static final int TIME_BYTES = 8;
  /** {@link #TIME_BYTES}, for the map that reads payloads. */
  public static final int TIME_BYTES_PUBLIC = TIME_BYTES;
  /** Segment files: {@code map-} + 16 hex digits + {@code .spm}. */
  static final String FILE_PREFIX = "map-";
  static final String FILE_SUFFIX = ".spm";
  /** The manifest of a snapshot (file names, sizes, SHA-256), in a snapshot's directory only. */
  public static final String MANIFEST = "MANIFEST";
  static final int OFFSET_BITS = 40;
  static final long OFFSET_MASK = (1L << OFFSET_BITS) - 1;
  /** The largest segment id a location holds (locations stay positive, so they compare as longs). */
  static final long MAX_SEGMENT_ID = (1L << (63 - OFFSET_BITS)) - 1;

  /** The location of the record at {@code offset} of segment {@code segmentId}. */
  public static long location(long segmentId, long offset) {
    return (segmentId << OFFSET_BITS) | offset;
  }

  public static long segmentOf(long location) {
    return location >>> OFFSET_BITS;
  }

  public static long offsetOf(long location) {
    return location & OFFSET_MASK;
  }

  /** "segment 3 offset 4096", for messages. */
  public static String describe(long location) {
    return "segment " + segmentOf(location) + " offset " + offsetOf(location);
  }

  static String fileName(long segmentId) {
    return FILE_PREFIX + String.format("%016x", segmentId) + FILE_SUFFIX;
  }

  /** The segment id in a file name, or -1 when the name is not a map-log segment's. */
  static long parseFileName(String name) {
    long id = SegmentDescriptor.parseHexName(name, FILE_PREFIX, FILE_SUFFIX);
    return id <= MAX_SEGMENT_ID ? id : -1;
  }

  /** A file header for {@code segmentId}, CRC included, ready to write at offset 0. */
  static ByteBuffer fileHeader(long segmentId, long createdMillis) {
    ByteBuffer b = ByteBuffer.allocate(FILE_HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(FILE_MAGIC_OFFSET, FILE_MAGIC);
    b.putShort(FILE_VERSION_OFFSET, VERSION);
    b.putShort(FILE_STRIPES_OFFSET, (short) 0);
    b.putLong(FILE_SEGMENT_ID_OFFSET, segmentId);
    b.putLong(FILE_CREATED_MILLIS_OFFSET, createdMillis);
    b.putInt(FILE_RESERVED_OFFSET, 0);
    b.putInt(FILE_CRC_OFFSET, headerCrc(b));
    return b;
  }

  private static int headerCrc(ByteBuffer b) {
    CRC32C crc = new CRC32C();
    crc.update(b.duplicate().clear().limit(FILE_CRC_OFFSET));
    return (int) crc.getValue();
  }

  /**
   * Validates a map-log file header read from {@code file}; returns its segment id. A spill-log file,
   * a newer version and a foreign file each get their own message.
   */
  static long parseFileHeader(ByteBuffer b, Path file) throws CorruptRecordException {
    b = b.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    if (b.remaining() < FILE_HEADER_LENGTH) {
      throw new CorruptRecordException(file, 0, "shorter than a file header (" + b.remaining() + " of "
          + FILE_HEADER_LENGTH + " bytes)");
    }
    int magic = b.getInt(FILE_MAGIC_OFFSET);
    if (magic == SegmentDescriptor.FILE_MAGIC) {
      throw new CorruptRecordException(file, 0, "a spill-log segment file, not a map log's: spill logs never"
          + " outlive their process and cannot be opened as a map");
    }
    if (magic != FILE_MAGIC) {
      throw new CorruptRecordException(file, 0, String.format("bad file magic 0x%08x (expected 0x%08x):"
          + " not a file of a Spillway map", magic, FILE_MAGIC));
    }
    if (b.getInt(FILE_CRC_OFFSET) != headerCrc(b)) {
      throw new CorruptRecordException(file, 0, String.format("file header checksum mismatch (stored 0x%08x,"
          + " computed 0x%08x)", b.getInt(FILE_CRC_OFFSET), headerCrc(b)));
    }
    int version = Short.toUnsignedInt(b.getShort(FILE_VERSION_OFFSET));
    if (version != VERSION) {
      throw new CorruptRecordException(file, 0, "map-log format version " + version + " is "
          + (version > VERSION ? "newer than this build reads" : "unknown") + " (this build reads version "
          + VERSION + "). Fix: open it with the Spillway release that wrote it");
    }
    if (b.getShort(FILE_STRIPES_OFFSET) != 0 || b.getInt(FILE_RESERVED_OFFSET) != 0) {
      throw new CorruptRecordException(file, 0, "reserved file header fields are not zero");
    }
    return b.getLong(FILE_SEGMENT_ID_OFFSET);
  }

  /** The checks of a keyed record's fields beyond the shared ones (see {@link RecordFormat}). */
  static void checkKeyed(byte kind, int codecId, int keyLength, long rawLength, long storedLength, Path file,
      long offset) throws CorruptRecordException {
    if (keyLength < 0 || TIME_BYTES + (long) keyLength > rawLength) {
      throw new CorruptRecordException(file, offset, "key length " + Integer.toUnsignedString(keyLength)
          + " does not fit in the raw length " + rawLength + " (time " + TIME_BYTES + " + key + value)");
    }
    if (kind == KIND_REMOVE && (codecId != 0 || storedLength != rawLength || rawLength != TIME_BYTES + keyLength)) {
      throw new CorruptRecordException(file, offset, "a remove record must have codec 0 and a raw payload of"
          + " time and key only, found codec " + codecId + ", raw " + rawLength + ", stored " + storedLength
          + ", key " + keyLength);
    }
  }
}
