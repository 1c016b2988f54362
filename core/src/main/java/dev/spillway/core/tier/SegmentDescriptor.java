package dev.spillway.core.tier;

/**
 * Offsets, sizes and limits of the segment-file format; the layout itself is drawn in
 * {@link RecordFormat}. All multi-byte fields are little-endian.
 */
final class SegmentDescriptor {
  private SegmentDescriptor() {}

  /** Format version written into every file header. */
  static final short FORMAT_VERSION = 2;
  /**
   * The oldest version a reader accepts. Version 1 differs only in the file header's bytes 6-7 (a
   * {@code flags} field that must be zero, where version 2 stores the stripe count) and has no
   * {@link #KIND_RETIRE} records.
   */
  static final short OLDEST_READABLE_VERSION = 1;

  // ---- file header (32 bytes) ----
  /** "SPWS" as bytes on disk. */
  static final int FILE_MAGIC = 0x53575053;
  static final int FILE_MAGIC_OFFSET = 0;
  static final int FILE_VERSION_OFFSET = 4;
  /**
   * u16: how many directories the log's segments are striped over (segment {@code id} lives in
   * directory {@code id mod stripes}), at least 1. Version 1 calls these bytes {@code flags}, always 0:
   * the stripe count of a version-1 file is unknown.
   */
  static final int FILE_STRIPES_OFFSET = 6;
  static final int FILE_SEGMENT_ID_OFFSET = 8;
  static final int FILE_CREATED_MILLIS_OFFSET = 16;
  /** Four bytes, zero. */
  static final int FILE_RESERVED_OFFSET = 24;
  /** CRC32C of bytes [0, 28). */
  static final int FILE_CRC_OFFSET = 28;
  static final int FILE_HEADER_LENGTH = 32;

  // ---- record header (48 bytes), followed by the payload ----
  /** "SPWR" as bytes on disk. */
  static final int RECORD_MAGIC = 0x52575053;
  static final int RECORD_MAGIC_OFFSET = 0;
  /** u32: header + stored payload. */
  static final int RECORD_LENGTH_OFFSET = 4;
  /** u8: {@link #KIND_DATA}, {@link #KIND_TOMBSTONE} or {@link #KIND_RETIRE}. */
  static final int RECORD_KIND_OFFSET = 8;
  /** u8: the codec id of the payload. */
  static final int RECORD_CODEC_OFFSET = 9;
  /** Two bytes, zero. */
  static final int RECORD_FLAGS_OFFSET = 10;
  /** u32. */
  static final int RECORD_GENERATION_OFFSET = 12;
  /** u64. */
  static final int RECORD_KEY_OFFSET = 16;
  /** u64, monotonic across the whole log. */
  static final int RECORD_SEQUENCE_OFFSET = 24;
  /** u32. */
  static final int RECORD_RAW_LENGTH_OFFSET = 32;
  /** u32. */
  static final int RECORD_STORED_LENGTH_OFFSET = 36;
  /** Four bytes, zero. */
  static final int RECORD_RESERVED_OFFSET = 40;
  /** u32: CRC32C over the 48 header bytes with this field zeroed, then the payload. */
  static final int RECORD_CRC_OFFSET = 44;
  static final int RECORD_HEADER_LENGTH = 48;

  static final byte KIND_DATA = 1;
  static final byte KIND_TOMBSTONE = 2;
  /**
   * Written by compaction before it deletes a segment: the payload lists every segment id the log has
   * retired, as coalesced ranges (see {@link RetiredSegments}). Key, generation and codec are 0; never
   * indexed as a key.
   */
  static final byte KIND_RETIRE = 3;
  /** Bytes of one retired range in a RETIRE payload: u64 first id, u64 id after the last. */
  static final int RETIRE_RANGE_BYTES = 16;

  /** The largest raw payload of one record (the largest block Spillway allocates). */
  static final int MAX_RAW_LENGTH = 1 << 30;

  /** File names: {@code seg-} + 16 lower-case hex digits of the segment id + {@code .spw}. */
  static final String FILE_PREFIX = "seg-";
  static final String FILE_SUFFIX = ".spw";

  static String fileName(long segmentId) {
    return FILE_PREFIX + String.format("%016x", segmentId) + FILE_SUFFIX;
  }

  /** The segment id in a file name, or -1 when the name is not a segment file's. */
  static long parseFileName(String name) {
    return parseHexName(name, FILE_PREFIX, FILE_SUFFIX);
  }

  /**
   * The number in a file name {@code prefix + 16 lower-case hex digits + suffix} (segments,
   * checkpoints), or -1 when the name has another form or the number does not fit a positive long.
   */
  static long parseHexName(String name, String prefix, String suffix) {
    if (name.length() != prefix.length() + 16 + suffix.length() || !name.startsWith(prefix) || !name.endsWith(suffix)) {
      return -1;
    }
    String hex = name.substring(prefix.length(), prefix.length() + 16);
    for (int i = 0; i < hex.length(); i++) {
      char c = hex.charAt(i);
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        return -1;
      }
    }
    long id = Long.parseUnsignedLong(hex, 16);
    return id < 0 ? -1 : id;
  }
}
