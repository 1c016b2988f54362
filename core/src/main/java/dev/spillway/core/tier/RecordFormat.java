package dev.spillway.core.tier;

import static dev.spillway.core.tier.SegmentDescriptor.*;

import dev.spillway.codec.Codec;
import dev.spillway.codec.Codecs;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * The segment-file format, version 2: how file headers and record headers are laid out, written and
 * validated. A segment file is a 32-byte file header followed by records appended back to back;
 * nothing is ever rewritten in place. Every field is little-endian; offsets are the constants of
 * {@link SegmentDescriptor}. Version-1 files (no stripe count, no RETIRE records) are still read.
 *
 * <pre>
 * file header (32 bytes)
 *  0        4        6        8                16               24       28       32
 *  +--------+--------+--------+----------------+----------------+--------+--------+
 *  | magic  |version |stripes |   segment id   | created millis |reserved| CRC32C |
 *  | "SPWS" |  u16=2 |  u16   |      u64       |      u64       |  u32=0 |  [0,28)|
 *  +--------+--------+--------+----------------+----------------+--------+--------+
 *  stripes: directories the log is striped over (version 1: flags, always 0)
 *
 * record (48-byte header, then stored-length payload bytes)
 *  0        4        8    9    10       12       16               24               32
 *  +--------+--------+----+----+--------+--------+----------------+----------------+
 *  | magic  | record |kind|codc| flags  |  gen   |     key id     |    sequence    |
 *  | "SPWR" | length | u8 | u8 |  u16=0 |  u32   |      u64       |      u64       |
 *  +--------+--------+----+----+--------+--------+----------------+----------------+
 *  32       36       40       44       48
 *  +--------+--------+--------+--------+------------------------------------ - - -
 *  |  raw   | stored |reserved| CRC32C |  payload (stored length bytes)
 *  | length | length |  u32=0 |        |
 *  +--------+--------+--------+--------+------------------------------------ - - -
 *
 *  record length = 48 + stored length
 *  kind: 1 = DATA, 2 = TOMBSTONE (delete of key), 3 = RETIRE (retired segment ids, see RetiredSegments)
 *  CRC32C covers the 48 header bytes with the CRC field zeroed, then the payload
 *  raw length &lt;= 1 GiB; stored length &lt;= the codec's bound for the raw length;
 *  a tombstone has codec 0 (raw) and no payload; a RETIRE record has codec 0, key 0, generation 0
 *  and a non-empty payload of 16-byte ranges
 * </pre>
 *
 * <p>Validation never trusts a length: {@link #parseHeader} checks every field against the format's
 * limits and against the bytes the file holds after the record's offset before anything is sized from
 * it, so a forged length is reported as a {@link CorruptRecordException}, never allocated.
 */
final class RecordFormat {
  private RecordFormat() {}

  /** A validated record header. */
  record Header(
      byte kind, int codec, int generation, long key, long sequence, int rawLength, int storedLength,
      int crc) {
    int length() {
      return RECORD_HEADER_LENGTH + storedLength;
    }

    boolean tombstone() {
      return kind == KIND_TOMBSTONE;
    }
  }

  /**
   * A validated file header.
   *
   * @param version the format version it was written with
   * @param stripes directories the log is striped over; 0 when unknown (version 1)
   */
  record FileHeader(int version, int stripes, long segmentId, long createdMillis) {}

  /** The CRC field as the checksum sees it. */
  private static final byte[] ZERO_CRC = new byte[4];

  static ByteBuffer allocateHeader() {
    return ByteBuffer.allocate(RECORD_HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
  }

  /**
   * Writes a record header into {@code h} at index 0 with the CRC field zero; {@link #sealCrc} fills it
   * once the payload is known.
   */
  static void writeHeader(ByteBuffer h, byte kind, int codec, int generation, long key, long sequence,
      int rawLength, int storedLength) {
    writeHeader(h, 0, kind, codec, generation, key, sequence, rawLength, storedLength);
  }

  /**
   * Writes a record header into {@code h[at, at + 48)} (absolute puts: position and limit untouched)
   * with the CRC field zero. {@code h} must be little-endian.
   */
  static void writeHeader(ByteBuffer h, int at, byte kind, int codec, int generation, long key, long sequence,
      int rawLength, int storedLength) {
    h.putInt(at + RECORD_MAGIC_OFFSET, RECORD_MAGIC);
    h.putInt(at + RECORD_LENGTH_OFFSET, RECORD_HEADER_LENGTH + storedLength);
    h.put(at + RECORD_KIND_OFFSET, kind);
    h.put(at + RECORD_CODEC_OFFSET, (byte) codec);
    h.putShort(at + RECORD_FLAGS_OFFSET, (short) 0);
    h.putInt(at + RECORD_GENERATION_OFFSET, generation);
    h.putLong(at + RECORD_KEY_OFFSET, key);
    h.putLong(at + RECORD_SEQUENCE_OFFSET, sequence);
    h.putInt(at + RECORD_RAW_LENGTH_OFFSET, rawLength);
    h.putInt(at + RECORD_STORED_LENGTH_OFFSET, storedLength);
    h.putInt(at + RECORD_RESERVED_OFFSET, 0);
    h.putInt(at + RECORD_CRC_OFFSET, 0);
  }

  /** Computes the record CRC over {@code h} (CRC field zero) and {@code payload}, and stores it in {@code h}. */
  static int sealCrc(ByteBuffer h, ByteBuffer payload) {
    int crc = crc(h, payload);
    h.putInt(RECORD_CRC_OFFSET, crc);
    return crc;
  }

  /** CRC32C of the header bytes with the CRC field read as zero, then of the payload (positions untouched). */
  static int crc(ByteBuffer h, ByteBuffer payload) {
    CRC32C crc = new CRC32C();
    crcHeader(crc, h, 0);
    if (payload != null) {
      crcPayload(crc, payload);
    }
    return (int) crc.getValue();
  }

  static void crcHeader(CRC32C crc, ByteBuffer h) {
    crcHeader(crc, h, 0);
  }

  /**
   * Feeds {@code crc} the header at {@code h[at, at + 48)} with its CRC field read as zero. Moves
   * {@code h}'s position and limit meanwhile and restores them: nothing is allocated, so the caller must
   * own {@code h} for the call.
   */
  static void crcHeader(CRC32C crc, ByteBuffer h, int at) {
    int position = h.position();
    int limit = h.limit();
    h.limit(h.capacity()).position(at).limit(at + RECORD_CRC_OFFSET);
    crc.update(h);
    h.limit(limit).position(position);
    crc.update(ZERO_CRC, 0, ZERO_CRC.length);
  }

  /** Feeds {@code crc} the remaining bytes of {@code payload}; its position is restored afterwards. */
  static void crcPayload(CRC32C crc, ByteBuffer payload) {
    int position = payload.position();
    crc.update(payload);
    payload.position(position);
  }

  /**
   * Validates the 48 header bytes of a record found at {@code offset} in a file of {@code fileSize}
   * bytes: magic, kind, codec, reserved fields, every length against the format's limits and against
   * the bytes left in the file. The CRC is checked later, with the payload.
   */
  static Header parseHeader(ByteBuffer h, Path file, long offset, long fileSize, Codecs codecs)
      throws CorruptRecordException {
    return parseHeader(h, 0, file, offset, fileSize, codecs);
  }

  /** {@link #parseHeader} of the header at {@code h[at, at + 48)} (absolute gets; {@code h} little-endian). */
  static Header parseHeader(ByteBuffer h, int at, Path file, long offset, long fileSize, Codecs codecs)
      throws CorruptRecordException {
    validateHeader(h, at, file, offset, fileSize, codecs);
    return header(h, at);
  }

  /** {@link #parseHeader} of a map log's record ({@link #validateKeyedHeader}). */
  static Header parseKeyedHeader(ByteBuffer h, int at, Path file, long offset, long fileSize, Codecs codecs)
      throws CorruptRecordException {
    validateKeyedHeader(h, at, file, offset, fileSize, codecs);
    return header(h, at);
  }

  private static Header header(ByteBuffer h, int at) {
    return new Header(h.get(at + RECORD_KIND_OFFSET), Byte.toUnsignedInt(h.get(at + RECORD_CODEC_OFFSET)),
        h.getInt(at + RECORD_GENERATION_OFFSET), h.getLong(at + RECORD_KEY_OFFSET),
        h.getLong(at + RECORD_SEQUENCE_OFFSET), h.getInt(at + RECORD_RAW_LENGTH_OFFSET),
        h.getInt(at + RECORD_STORED_LENGTH_OFFSET), h.getInt(at + RECORD_CRC_OFFSET));
  }

  /**
   * The checks of {@link #parseHeader} on the header at {@code h[at, at + 48)}, allocating nothing on
   * success; its fields are then read with {@link #kindAt} and the like.
   */
  static void validateHeader(ByteBuffer h, int at, Path file, long offset, long fileSize, Codecs codecs)
      throws CorruptRecordException {
    validate(h, at, file, offset, fileSize, codecs, false);
  }

  /**
   * {@link #validateHeader} for a record of a map log ({@link MapLogFormat}): kinds 4 (entry) and 5
   * (remove) only, whose generation field is the key's length and whose payload starts with the
   * 8-byte time and the key.
   */
  static void validateKeyedHeader(ByteBuffer h, int at, Path file, long offset, long fileSize, Codecs codecs)
      throws CorruptRecordException {
    validate(h, at, file, offset, fileSize, codecs, true);
  }

  private static void validate(ByteBuffer h, int at, Path file, long offset, long fileSize, Codecs codecs,
      boolean keyed) throws CorruptRecordException {
    if (h.getInt(at + RECORD_MAGIC_OFFSET) != RECORD_MAGIC) {
      throw new CorruptRecordException(file, offset, String.format(
          "bad record magic 0x%08x (expected 0x%08x)", h.getInt(at + RECORD_MAGIC_OFFSET), RECORD_MAGIC));
    }
    byte kind = h.get(at + RECORD_KIND_OFFSET);
    if (!keyed && kind != KIND_DATA && kind != KIND_TOMBSTONE && kind != KIND_RETIRE) {
      throw new CorruptRecordException(file, offset, "unknown record kind " + kind
          + " (allowed 1 = data, 2 = tombstone, 3 = retire)");
    }
    if (keyed && kind != MapLogFormat.KIND_ENTRY && kind != MapLogFormat.KIND_REMOVE) {
      throw new CorruptRecordException(file, offset, "unknown record kind " + kind + " in a map log (allowed "
          + MapLogFormat.KIND_ENTRY + " = entry, " + MapLogFormat.KIND_REMOVE + " = remove)");
    }
    int codecId = Byte.toUnsignedInt(h.get(at + RECORD_CODEC_OFFSET));
    Codec codec = codecs.byId(codecId);
    if (codec == null) {
      throw new CorruptRecordException(file, offset, "unknown codec id " + codecId);
    }
    if (h.getShort(at + RECORD_FLAGS_OFFSET) != 0 || h.getInt(at + RECORD_RESERVED_OFFSET) != 0) {
      throw new CorruptRecordException(file, offset, "reserved header fields are not zero");
    }
    long rawLength = Integer.toUnsignedLong(h.getInt(at + RECORD_RAW_LENGTH_OFFSET));
    long storedLength = Integer.toUnsignedLong(h.getInt(at + RECORD_STORED_LENGTH_OFFSET));
    long recordLength = Integer.toUnsignedLong(h.getInt(at + RECORD_LENGTH_OFFSET));
    if (rawLength > MAX_RAW_LENGTH) {
      throw new CorruptRecordException(file, offset, "raw length " + rawLength + " exceeds the limit of "
          + MAX_RAW_LENGTH);
    }
    long bound = codec.maxStoredLength(rawLength);
    if (storedLength > bound) {
      throw new CorruptRecordException(file, offset, "stored length " + storedLength + " exceeds the "
          + codec.name() + " bound of " + bound + " for raw length " + rawLength);
    }
    if (rawLength > codec.maxRawLength(storedLength)) {
      throw new CorruptRecordException(file, offset, "raw length " + rawLength + " is more than " + codec.name()
          + " can decode from " + storedLength + " stored bytes (at most " + codec.maxRawLength(storedLength) + ")");
    }
    if (bound == rawLength && storedLength != rawLength) {
      throw new CorruptRecordException(file, offset, "stored length " + storedLength + " differs from raw length "
          + rawLength + ", but codec " + codec.name() + " stores raw bytes as they are");
    }
    if (kind == KIND_TOMBSTONE && (rawLength != 0 || storedLength != 0 || codecId != 0)) {
      throw new CorruptRecordException(file, offset, "a tombstone must have codec 0 and no payload, found codec "
          + codecId + ", raw " + rawLength + ", stored " + storedLength);
    }
    if (kind == KIND_RETIRE && (codecId != 0 || storedLength == 0 || storedLength % RETIRE_RANGE_BYTES != 0
        || h.getLong(at + RECORD_KEY_OFFSET) != 0 || h.getInt(at + RECORD_GENERATION_OFFSET) != 0)) {
      throw new CorruptRecordException(file, offset, "a retire record must have codec 0, key 0, generation 0 and"
          + " a payload of whole " + RETIRE_RANGE_BYTES + "-byte ranges, found codec " + codecId + ", key "
          + h.getLong(at + RECORD_KEY_OFFSET) + ", generation " + h.getInt(at + RECORD_GENERATION_OFFSET)
          + ", stored " + storedLength);
    }
    if (keyed) {
      MapLogFormat.checkKeyed(kind, codecId, h.getInt(at + RECORD_GENERATION_OFFSET), rawLength, storedLength,
          file, offset);
    }
    if (recordLength != RECORD_HEADER_LENGTH + storedLength) {
      throw new CorruptRecordException(file, offset, "record length " + recordLength
          + " is not header (" + RECORD_HEADER_LENGTH + ") + stored length (" + storedLength + ")");
    }
    long remaining = fileSize - offset;
    if (recordLength > remaining) {
      throw new CorruptRecordException(file, offset, "record length " + recordLength
          + " runs past the end of the file (" + remaining + " bytes left)");
    }
  }

  // Fields of a header validated in place (little-endian buffer, header at index at).

  static byte kindAt(ByteBuffer h, int at) {
    return h.get(at + RECORD_KIND_OFFSET);
  }

  static int codecAt(ByteBuffer h, int at) {
    return Byte.toUnsignedInt(h.get(at + RECORD_CODEC_OFFSET));
  }

  static int generationAt(ByteBuffer h, int at) {
    return h.getInt(at + RECORD_GENERATION_OFFSET);
  }

  static long keyAt(ByteBuffer h, int at) {
    return h.getLong(at + RECORD_KEY_OFFSET);
  }

  static long sequenceAt(ByteBuffer h, int at) {
    return h.getLong(at + RECORD_SEQUENCE_OFFSET);
  }

  static int rawLengthAt(ByteBuffer h, int at) {
    return h.getInt(at + RECORD_RAW_LENGTH_OFFSET);
  }

  static int storedLengthAt(ByteBuffer h, int at) {
    return h.getInt(at + RECORD_STORED_LENGTH_OFFSET);
  }

  static int crcAt(ByteBuffer h, int at) {
    return h.getInt(at + RECORD_CRC_OFFSET);
  }

  /**
   * A file header for {@code segmentId} of a log striped over {@code stripes} directories, CRC
   * included, ready to write at offset 0.
   */
  static ByteBuffer fileHeader(long segmentId, long createdMillis, int stripes) {
    if (stripes < 1 || stripes > 0xFFFF) {
      throw new IllegalArgumentException("stripes = " + stripes + ": allowed 1 to 65535 directories");
    }
    ByteBuffer b = ByteBuffer.allocate(FILE_HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(FILE_MAGIC_OFFSET, FILE_MAGIC);
    b.putShort(FILE_VERSION_OFFSET, FORMAT_VERSION);
    b.putShort(FILE_STRIPES_OFFSET, (short) stripes);
    b.putLong(FILE_SEGMENT_ID_OFFSET, segmentId);
    b.putLong(FILE_CREATED_MILLIS_OFFSET, createdMillis);
    b.putInt(FILE_RESERVED_OFFSET, 0);
    sealFileHeader(b);
    return b;
  }

  /** Computes and stores the CRC of the file header in {@code b} (little-endian, 32 bytes). */
  static void sealFileHeader(ByteBuffer b) {
    b.putInt(FILE_CRC_OFFSET, fileHeaderCrc(b));
  }

  private static int fileHeaderCrc(ByteBuffer b) {
    CRC32C crc = new CRC32C();
    crc.update(b.duplicate().clear().limit(FILE_CRC_OFFSET));
    return (int) crc.getValue();
  }

  /**
   * Validates a file header read from {@code file}: magic, checksum, a readable version, and the
   * stripe field (zero in version 1, at least 1 in version 2). Whether its segment id matches the
   * file name is the caller's check: a mismatch is a different finding (a renamed file).
   */
  static FileHeader parseFileHeader(ByteBuffer b, Path file) throws CorruptRecordException {
    b = b.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    if (b.getInt(FILE_MAGIC_OFFSET) != FILE_MAGIC) {
      throw new CorruptRecordException(file, 0, String.format("bad file magic 0x%08x (expected 0x%08x):"
          + " not a Spillway segment file", b.getInt(FILE_MAGIC_OFFSET), FILE_MAGIC));
    }
    if (b.getInt(FILE_CRC_OFFSET) != fileHeaderCrc(b)) {
      throw new CorruptRecordException(file, 0, String.format("file header checksum mismatch (stored 0x%08x,"
          + " computed 0x%08x)", b.getInt(FILE_CRC_OFFSET), fileHeaderCrc(b)));
    }
    int version = Short.toUnsignedInt(b.getShort(FILE_VERSION_OFFSET));
    if (version < OLDEST_READABLE_VERSION || version > FORMAT_VERSION) {
      throw new CorruptRecordException(file, 0, "format version " + version + " is not supported (this"
          + " build reads versions " + OLDEST_READABLE_VERSION + " to " + FORMAT_VERSION + ")");
    }
    int stripes = Short.toUnsignedInt(b.getShort(FILE_STRIPES_OFFSET));
    if (version == 1 && stripes != 0) {
      throw new CorruptRecordException(file, 0, "flags " + stripes + " are not zero in a version-1 file header");
    }
    if (version >= 2 && stripes == 0) {
      throw new CorruptRecordException(file, 0, "stripe count 0 in a version-" + version + " file header (at least 1)");
    }
    if (b.getInt(FILE_RESERVED_OFFSET) != 0) {
      throw new CorruptRecordException(file, 0, "reserved file header field is not zero");
    }
    return new FileHeader(version, stripes, b.getLong(FILE_SEGMENT_ID_OFFSET), b.getLong(FILE_CREATED_MILLIS_OFFSET));
  }
}
