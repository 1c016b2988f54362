package dev.spillway.core.tier;

import static dev.spillway.core.tier.SegmentDescriptor.*;

import dev.spillway.codec.Codecs;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Scans one segment file from start to end and classifies every byte of it, reading only: the file
 * header, then each record in full (lengths, then CRC, the payload streamed so none is held in
 * memory). Valid data and tombstone records go to a {@link RecordSink}; the latest RETIRE record is
 * kept; everything else becomes a {@link Finding}:
 *
 * <ul>
 *   <li>a record whose header is consistent and fits in the file but whose CRC fails is a
 *       {@code CORRUPT_RECORD}, and the scan trusts its length and goes on right after it, so adjacent
 *       corrupt records are each reported;
 *   <li>bytes that hold no parseable header are skipped up to the next record that validates in full
 *       (magic, every field, CRC) and reported as one {@code CORRUPT_REGION};
 *   <li>at the end of the file, what a crash during an append leaves (a consistent header whose record
 *       runs past the end, fewer than 48 bytes that begin a record header, or zeros to the end) is a
 *       {@code TORN_TAIL} in the newest segment and a {@code TRUNCATED_SEALED_SEGMENT} in any other;
 *       anything else there (a complete record with a bad CRC, garbage) is corruption.
 * </ul>
 *
 * <p>Shared by {@code inspect} (read-only channels) and recovery (the log's own channels); the scanner
 * never writes, truncates or deletes. One instance holds reusable buffers: not thread-safe.
 */
final class SegmentScanner {
  /** Receives every valid data or tombstone record, in file order. */
  interface RecordSink {
    void accept(RecordFormat.Header header, long offset);
  }

  /**
   * What the scan of one file found.
   *
   * @param header the file header, or null when it is missing or failed validation
   * @param size the file's size in bytes when the scan started
   * @param records valid data and tombstone records
   * @param maxSequence the highest sequence of any valid record (RETIRE included), or -1
   * @param retired the set of the latest valid RETIRE record in the file, or null when it has none
   * @param retiredSequence that record's sequence, or -1
   * @param findings everything wrong, in file order
   * @param tornTail the {@code TORN_TAIL} finding among them, or null
   * @param appendable whether appends may continue at the end of the file once a torn tail is cut:
   *     the records run up to it (a corrupt record whose length was trusted counts) and the header is valid
   */
  record Result(RecordFormat.FileHeader header, long size, long records, long maxSequence,
      RetiredSegments retired, long retiredSequence, List<Finding> findings, Finding tornTail, boolean appendable) {

    boolean tooShort() {
      return size < FILE_HEADER_LENGTH;
    }
  }

  private static final byte[] RECORD_MAGIC_BYTES = {'S', 'P', 'W', 'R'};

  private final Codecs codecs;
  private final ByteBuffer scratch = RecordReader.scratch();
  private final ByteBuffer header = RecordFormat.allocateHeader();

  SegmentScanner(Codecs codecs) {
    this.codecs = codecs;
  }

  /**
   * Scans {@code ch}, the file {@code file} named for segment {@code nameId}; {@code newest} says
   * whether it is the log's highest segment id, the only one an append can have been cut short in.
   */
  Result scan(FileChannel ch, Path file, long nameId, boolean newest, RecordSink sink) throws IOException {
    return new Run(ch, file, nameId, newest, sink).scan();
  }

  /** The state of one file's scan. */
  private final class Run {
    final FileChannel ch;
    final Path file;
    final long nameId;
    final boolean newest;
    final RecordSink sink;
    final List<Finding> findings = new ArrayList<>();
    long size;
    long records;
    long maxSequence = -1;
    RetiredSegments retired;
    long retiredSequence = -1;
    Finding tornTail;
    boolean endsOnRecord = true;

    Run(FileChannel ch, Path file, long nameId, boolean newest, RecordSink sink) {
      this.ch = ch;
      this.file = file;
      this.nameId = nameId;
      this.newest = newest;
      this.sink = sink;
    }

    Result scan() throws IOException {
      size = ch.size();
      if (size < FILE_HEADER_LENGTH) {
        findings.add(newest
            ? finding(Finding.Kind.FILE_TOO_SHORT, Finding.Severity.REPAIRABLE, 0, size, "file of " + size
                + " bytes is shorter than its " + FILE_HEADER_LENGTH + "-byte header: a crash while the newest"
                + " segment was being created; it holds no record, and recovery and repair delete it")
            : finding(Finding.Kind.FILE_TOO_SHORT, Finding.Severity.DAMAGE, 0, size, "file of " + size
                + " bytes is shorter than its " + FILE_HEADER_LENGTH + "-byte header, but segment " + nameId
                + " is not the newest: the file lost its contents and its records are lost"));
        return result(null, false);
      }
      RecordFormat.FileHeader fileHeader = readFileHeader();
      long pos = FILE_HEADER_LENGTH;
      while (pos < size) {
        pos = step(pos);
      }
      return result(fileHeader, fileHeader != null && fileHeader.segmentId() == nameId && endsOnRecord);
    }

    private Result result(RecordFormat.FileHeader fileHeader, boolean appendable) {
      return new Result(fileHeader, size, records, maxSequence, retired, retiredSequence, List.copyOf(findings),
          tornTail, appendable);
    }

    private RecordFormat.FileHeader readFileHeader() throws IOException {
      ByteBuffer b = ByteBuffer.allocate(FILE_HEADER_LENGTH);
      RecordReader.readFully(ch, b, 0, file);
      try {
        RecordFormat.FileHeader h = RecordFormat.parseFileHeader(b.flip(), file);
        if (h.segmentId() != nameId) {
          findings.add(finding(Finding.Kind.SEGMENT_ID_MISMATCH, Finding.Severity.DAMAGE, 0, FILE_HEADER_LENGTH,
              "the file header names segment " + h.segmentId() + " but the file name names segment " + nameId
                  + ": a renamed segment file; rename it back to " + fileName(h.segmentId())));
        }
        return h;
      } catch (CorruptRecordException e) {
        findings.add(finding(Finding.Kind.BAD_FILE_HEADER, Finding.Severity.DAMAGE, 0, FILE_HEADER_LENGTH,
            e.reason() + "; the records after it are still checked one by one"));
        return null;
      }
    }

    /** Classifies what starts at {@code pos}; returns where the scan goes on ({@link #size} when done). */
    private long step(long pos) throws IOException {
      long left = size - pos;
      if (left < RECORD_HEADER_LENGTH) {
        ByteBuffer tail = ByteBuffer.allocate((int) left).order(ByteOrder.LITTLE_ENDIAN);
        RecordReader.readFully(ch, tail, pos, file);
        tail.flip();
        if (allZero(tail)) {
          return endsShort(pos, left, left + " zero bytes where a record header would start");
        }
        if (beginsRecordHeader(tail)) {
          return endsShort(pos, left, "the first " + left + " bytes of a " + RECORD_HEADER_LENGTH
              + "-byte record header and nothing after them");
        }
        endsOnRecord = false;
        findings.add(finding(Finding.Kind.CORRUPT_REGION, Finding.Severity.DAMAGE, pos, left, left
            + " bytes at the end of the file that do not begin a record header (bad magic or fields)"));
        return size;
      }
      header.clear();
      RecordReader.readFully(ch, header, pos, file);
      String inconsistent = null;
      try {
        // Consistency first, the file's end apart: a header that is whole and self-consistent tells a
        // record whose end was cut off from bytes that are no record at all.
        RecordFormat.validateHeader(header, 0, file, pos, Long.MAX_VALUE, codecs);
      } catch (CorruptRecordException e) {
        inconsistent = e.reason();
      }
      if (inconsistent == null) {
        long length = RECORD_HEADER_LENGTH + Integer.toUnsignedLong(RecordFormat.storedLengthAt(header, 0));
        if (length <= left) {
          int computed = crcOf(pos, length);
          int stored = RecordFormat.crcAt(header, 0);
          if (computed == stored) {
            accept(RecordFormat.parseHeader(header, 0, file, pos, size, codecs), pos);
          } else {
            findings.add(finding(Finding.Kind.CORRUPT_RECORD, Finding.Severity.DAMAGE, pos, length, String.format(
                "checksum mismatch (stored 0x%08x, computed 0x%08x)", stored, computed)));
          }
          return pos + length; // a consistent header's length is trusted, so the next record is found directly
        }
        String why = "record of " + length + " bytes runs past the end of the file (" + left + " bytes left)";
        long next = RecordReader.resync(ch, file, pos + 1, size, codecs, scratch);
        if (next >= 0) {
          findings.add(finding(Finding.Kind.CORRUPT_REGION, Finding.Severity.DAMAGE, pos, next - pos, why
              + ", yet a valid record follows at offset " + next + ": its length field is corrupt"));
          return next;
        }
        return endsShort(pos, left, "an incomplete record: " + why);
      }
      if (zeroToEnd(pos)) {
        return endsShort(pos, left, left + " zero bytes to the end of the file");
      }
      long next = RecordReader.resync(ch, file, pos + 1, size, codecs, scratch);
      if (next >= 0) {
        findings.add(finding(Finding.Kind.CORRUPT_REGION, Finding.Severity.DAMAGE, pos, next - pos, inconsistent
            + "; skipped to the next valid record at offset " + next));
        return next;
      }
      endsOnRecord = false;
      findings.add(finding(Finding.Kind.CORRUPT_REGION, Finding.Severity.DAMAGE, pos, left, inconsistent
          + "; no valid record follows before the end of the file"));
      return size;
    }

    /** The file ends in what a cut-short append leaves: a torn tail if this is the newest segment. */
    private long endsShort(long pos, long bytes, String what) {
      if (newest) {
        tornTail = finding(Finding.Kind.TORN_TAIL, Finding.Severity.REPAIRABLE, pos, bytes, what
            + ": an append cut short by a crash; recovery and repair truncate the file at offset " + pos);
        findings.add(tornTail);
      } else {
        findings.add(finding(Finding.Kind.TRUNCATED_SEALED_SEGMENT, Finding.Severity.DAMAGE, pos, bytes, what
            + ", but segment " + nameId + " is not the newest (nothing appends to it any more): the file lost"
            + " its end, and the records that were there are lost"));
      }
      return size;
    }

    private void accept(RecordFormat.Header h, long offset) throws IOException {
      maxSequence = Math.max(maxSequence, h.sequence());
      if (h.kind() != KIND_RETIRE) {
        records++;
        sink.accept(h, offset);
        return;
      }
      ByteBuffer payload = ByteBuffer.allocate(h.storedLength());
      RecordReader.readFully(ch, payload, offset + RECORD_HEADER_LENGTH, file);
      try {
        RetiredSegments set = RetiredSegments.decode(payload.flip(), file, offset);
        if (h.sequence() > retiredSequence) {
          retired = set;
          retiredSequence = h.sequence();
        }
      } catch (CorruptRecordException e) {
        findings.add(finding(Finding.Kind.CORRUPT_RECORD, Finding.Severity.DAMAGE, offset, h.length(), e.reason()));
      }
    }

    /**
     * The CRC32C of the record at {@code pos} whose header is in {@link #header}: the header with its
     * CRC field zeroed, then the payload streamed through {@link #scratch}, never held whole.
     */
    private int crcOf(long pos, long length) throws IOException {
      CRC32C crc = new CRC32C();
      RecordFormat.crcHeader(crc, header, 0);
      long end = pos + length;
      for (long at = pos + RECORD_HEADER_LENGTH; at < end; ) {
        scratch.clear().limit((int) Math.min(scratch.capacity(), end - at));
        RecordReader.readFully(ch, scratch, at, file);
        at += scratch.flip().remaining();
        crc.update(scratch);
      }
      return (int) crc.getValue();
    }

    private boolean zeroToEnd(long from) throws IOException {
      for (long pos = from; pos < size; ) {
        scratch.clear().limit((int) Math.min(scratch.capacity(), size - pos));
        RecordReader.readFully(ch, scratch, pos, file);
        if (!allZero(scratch.flip())) {
          return false;
        }
        pos += scratch.limit();
      }
      return true;
    }

    private Finding finding(Finding.Kind kind, Finding.Severity severity, long offset, long bytes, String reason) {
      return new Finding(kind, severity, file, offset, bytes, reason);
    }
  }

  private static boolean allZero(ByteBuffer b) {
    for (int i = b.position(); i < b.limit(); i++) {
      if (b.get(i) != 0) {
        return false;
      }
    }
    return true;
  }

  /**
   * Whether the {@code n < 48} bytes of {@code b} could be the start of a record header: the magic
   * (as far as it goes), then every field that is whole holds a value a writer could have written.
   */
  private boolean beginsRecordHeader(ByteBuffer b) {
    int n = b.limit();
    for (int i = 0; i < Math.min(n, RECORD_MAGIC_BYTES.length); i++) {
      if (b.get(i) != RECORD_MAGIC_BYTES[i]) {
        return false;
      }
    }
    if (n >= RECORD_LENGTH_OFFSET + 4 && Integer.toUnsignedLong(b.getInt(RECORD_LENGTH_OFFSET)) < RECORD_HEADER_LENGTH) {
      return false;
    }
    if (n > RECORD_KIND_OFFSET) {
      byte kind = b.get(RECORD_KIND_OFFSET);
      if (kind != KIND_DATA && kind != KIND_TOMBSTONE && kind != KIND_RETIRE) {
        return false;
      }
    }
    if (n > RECORD_CODEC_OFFSET && codecs.byId(Byte.toUnsignedInt(b.get(RECORD_CODEC_OFFSET))) == null) {
      return false;
    }
    if (n >= RECORD_FLAGS_OFFSET + 2 && b.getShort(RECORD_FLAGS_OFFSET) != 0) {
      return false;
    }
    if (n >= RECORD_RAW_LENGTH_OFFSET + 4
        && Integer.toUnsignedLong(b.getInt(RECORD_RAW_LENGTH_OFFSET)) > MAX_RAW_LENGTH) {
      return false;
    }
    if (n >= RECORD_STORED_LENGTH_OFFSET + 4 && Integer.toUnsignedLong(b.getInt(RECORD_LENGTH_OFFSET))
        != RECORD_HEADER_LENGTH + Integer.toUnsignedLong(b.getInt(RECORD_STORED_LENGTH_OFFSET))) {
      return false;
    }
    return n < RECORD_RESERVED_OFFSET + 4 || b.getInt(RECORD_RESERVED_OFFSET) == 0;
  }
}
