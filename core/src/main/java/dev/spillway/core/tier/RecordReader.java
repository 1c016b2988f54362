package dev.spillway.core.tier;

import static dev.spillway.core.tier.SegmentDescriptor.*;

import dev.spillway.codec.Codec;
import dev.spillway.codec.CodecException;
import dev.spillway.codec.Codecs;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.function.Function;
import java.util.zip.CRC32C;

/**
 * Positional reads of single records: read the header, validate every field and length (against the
 * format and the file's size) before sizing any buffer, read the payload, verify the CRC, decode.
 * Stateless; safe from many threads at once (positional {@link FileChannel} reads).
 */
final class RecordReader {
  private static final int CHUNK = 64 << 10;

  private RecordReader() {}

  /** A record whose header and payload passed validation. */
  record Verified(RecordFormat.Header header, ByteBuffer stored) {}

  /** Reads and validates the header at {@code offset} of a file whose valid bytes end at {@code fileSize}. */
  static RecordFormat.Header readHeader(FileChannel ch, Path file, long offset, long fileSize, Codecs codecs)
      throws IOException {
    if (offset < FILE_HEADER_LENGTH || fileSize - offset < RECORD_HEADER_LENGTH) {
      throw new CorruptRecordException(file, offset, "no room for a " + RECORD_HEADER_LENGTH
          + "-byte record header (file holds " + fileSize + " bytes)");
    }
    ByteBuffer h = RecordFormat.allocateHeader();
    readFully(ch, h, offset, file);
    return RecordFormat.parseHeader(h, file, offset, fileSize, codecs);
  }

  /**
   * Reads the record at {@code offset}: header validated first, then a payload buffer of the
   * validated stored length from {@code allocate}, then the CRC over both.
   */
  static Verified read(FileChannel ch, Path file, long offset, long fileSize, Codecs codecs,
      Function<RecordFormat.Header, ByteBuffer> allocate) throws IOException {
    RecordFormat.Header header = readHeader(ch, file, offset, fileSize, codecs);
    ByteBuffer stored = allocate.apply(header);
    if (stored.remaining() != header.storedLength()) {
      stored = stored.slice(stored.position(), header.storedLength());
    }
    readFully(ch, stored, offset + RECORD_HEADER_LENGTH, file);
    stored.flip();
    CRC32C crc = new CRC32C();
    crcHeaderOf(crc, header);
    crc.update(stored.duplicate());
    checkCrc(crc, header, file, offset);
    return new Verified(header, stored);
  }

  /**
   * Reads a whole record of {@code length} bytes (as the index recorded it) at {@code offset} with one
   * positional read into {@code buf[at, at + length)} ({@code buf} little-endian, with room for it),
   * then validates it as {@link #read} does, in place and allocating nothing: its fields are read with
   * {@link RecordFormat#codecAt} and the like. On return {@code buf}'s position and limit frame the
   * stored payload, {@code [at + 48, at + length)}.
   */
  static void readWhole(FileChannel ch, Path file, long offset, long fileSize, Codecs codecs, int length,
      ByteBuffer buf, int at) throws IOException {
    if (offset < FILE_HEADER_LENGTH || length < RECORD_HEADER_LENGTH || fileSize - offset < length) {
      throw new CorruptRecordException(file, offset, "no room for a " + length + "-byte record (file holds "
          + fileSize + " bytes)");
    }
    buf.limit(buf.capacity()).position(at).limit(at + length);
    readFully(ch, buf, offset, file);
    RecordFormat.validateHeader(buf, at, file, offset, fileSize, codecs);
    int recordLength = RECORD_HEADER_LENGTH + RecordFormat.storedLengthAt(buf, at);
    if (recordLength != length) {
      throw new CorruptRecordException(file, offset, "record length " + recordLength
          + " differs from the " + length + " bytes the index recorded");
    }
    CRC32C crc = new CRC32C();
    RecordFormat.crcHeader(crc, buf, at);
    buf.position(at + RECORD_HEADER_LENGTH);
    RecordFormat.crcPayload(crc, buf);
    checkCrc(crc, RecordFormat.crcAt(buf, at), file, offset);
  }

  private static void checkCrc(CRC32C crc, RecordFormat.Header header, Path file, long offset)
      throws CorruptRecordException {
    checkCrc(crc, header.crc(), file, offset);
  }

  private static void checkCrc(CRC32C crc, int stored, Path file, long offset) throws CorruptRecordException {
    if ((int) crc.getValue() != stored) {
      throw new CorruptRecordException(file, offset, String.format("checksum mismatch (stored 0x%08x,"
          + " computed 0x%08x)", stored, (int) crc.getValue()));
    }
  }

  /** Decodes a verified record into {@code raw} (exactly its raw length remaining). */
  static void decode(Verified v, Codecs codecs, ByteBuffer raw, Path file, long offset) throws CorruptRecordException {
    decode(v.header(), v.stored(), codecs, raw, file, offset);
  }

  /** Decodes the verified payload {@code stored} of {@code header} into {@code raw} (its raw length remaining). */
  static void decode(RecordFormat.Header header, ByteBuffer stored, Codecs codecs, ByteBuffer raw, Path file,
      long offset) throws CorruptRecordException {
    decode(header.codec(), stored, codecs, raw, file, offset);
  }

  /** Decodes the verified payload {@code stored} of codec {@code codecId} into {@code raw} (its raw length remaining). */
  static void decode(int codecId, ByteBuffer stored, Codecs codecs, ByteBuffer raw, Path file, long offset)
      throws CorruptRecordException {
    Codec codec = codecs.byId(codecId);
    try {
      codec.decode(stored, raw);
    } catch (CodecException | IndexOutOfBoundsException e) {
      throw new CorruptRecordException(file, offset, "payload does not decode: " + e.getMessage(), e);
    }
  }

  /**
   * Validates the record at {@code offset} completely (header, lengths, CRC) without holding its
   * payload in memory: the CRC is computed through {@code scratch} in chunks. Used by recovery, where a
   * candidate found by resync may carry any length.
   */
  static RecordFormat.Header verify(FileChannel ch, Path file, long offset, long fileSize, Codecs codecs,
      ByteBuffer scratch) throws IOException {
    RecordFormat.Header header = readHeader(ch, file, offset, fileSize, codecs);
    CRC32C crc = new CRC32C();
    crcHeaderOf(crc, header);
    long pos = offset + RECORD_HEADER_LENGTH;
    long end = pos + header.storedLength();
    while (pos < end) {
      scratch.clear().limit((int) Math.min(scratch.capacity(), end - pos));
      readFully(ch, scratch, pos, file);
      scratch.flip();
      pos += scratch.remaining();
      crc.update(scratch);
    }
    checkCrc(crc, header, file, offset);
    return header;
  }

  /**
   * The offset of the first record after {@code from} that validates in full (magic, every length,
   * CRC), or -1 when none does before {@code fileSize}. Scans for the record magic chunk by chunk.
   */
  static long resync(FileChannel ch, Path file, long from, long fileSize, Codecs codecs, ByteBuffer scratch)
      throws IOException {
    ByteBuffer window = ByteBuffer.allocate(CHUNK + 3);
    long base = Math.max(from, FILE_HEADER_LENGTH);
    while (base + RECORD_HEADER_LENGTH <= fileSize) {
      window.clear().limit((int) Math.min(window.capacity(), fileSize - base));
      readFully(ch, window, base, file);
      window.flip();
      int n = window.remaining();
      for (int i = 0; i + 4 <= n; i++) {
        if (window.get(i) == 'S' && window.get(i + 1) == 'P' && window.get(i + 2) == 'W' && window.get(i + 3) == 'R') {
          long candidate = base + i;
          try {
            verify(ch, file, candidate, fileSize, codecs, scratch);
            return candidate;
          } catch (CorruptRecordException e) {
            // not a record after all: keep scanning
          }
        }
      }
      if (n < window.capacity()) {
        break;
      }
      base += n - 3; // overlap by 3 so a magic across the chunk boundary is still seen
    }
    return -1;
  }

  static ByteBuffer scratch() {
    return ByteBuffer.allocateDirect(CHUNK);
  }

  private static void crcHeaderOf(CRC32C crc, RecordFormat.Header header) {
    ByteBuffer h = RecordFormat.allocateHeader();
    RecordFormat.writeHeader(h, header.kind(), header.codec(), header.generation(), header.key(),
        header.sequence(), header.rawLength(), header.storedLength());
    RecordFormat.crcHeader(crc, h);
  }

  /** Fills {@code dst} from {@code position}; a file that ends early is a corrupt (vanished) record. */
  static void readFully(FileChannel ch, ByteBuffer dst, long position, Path file) throws IOException {
    long start = position;
    while (dst.hasRemaining()) {
      int n = ch.read(dst, position);
      if (n < 0) {
        throw new CorruptRecordException(file, start, "file ends at " + position + " inside a record");
      }
      position += n;
    }
  }
}
