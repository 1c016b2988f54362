package dev.spillway.core.tier;

import static dev.spillway.core.tier.SegmentDescriptor.*;

import dev.spillway.config.TierSettings.Durability;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.NavigableMap;

/**
 * Appends encoded records to the active segment. Each run of records that lands in one segment is
 * staged into one direct buffer (headers written in place, small payloads copied after them) and goes
 * out in positional writes of up to {@link #STAGING_BYTES}, a large payload straight from its own
 * buffer; then a force when the durability asks for it ({@code always}: one run and one force per
 * record). The active segment rolls to a new file, in the next directory round-robin, when the next
 * record would take it past the segment size. A failed write is rolled back by truncating the file to
 * where it started, and the writer rolls to a fresh segment on the next append, so a half-written
 * record never sits before later ones. Not thread-safe: the log calls it under its write lock.
 */
final class SegmentWriter {
  /**
   * A record ready to write: header fields plus the stored payload; the writer assigns the sequence.
   * A class, not a record, so that an {@link EncodedRecord} is its own pending write.
   */
  static class Pending {
    final byte kind;
    final int codec;
    final int generation;
    final long key;
    final int rawLength;
    final ByteBuffer stored;
    /** The record's CRC32C as written (its header's CRC field); set by the writer. */
    private int crc;

    Pending(byte kind, int codec, int generation, long key, int rawLength, ByteBuffer stored) {
      this.kind = kind;
      this.codec = codec;
      this.generation = generation;
      this.key = key;
      this.rawLength = rawLength;
      this.stored = stored;
    }

    byte kind() {
      return kind;
    }

    int codec() {
      return codec;
    }

    int generation() {
      return generation;
    }

    long key() {
      return key;
    }

    int rawLength() {
      return rawLength;
    }

    /** The stored payload, position to limit; null for none. */
    ByteBuffer stored() {
      return stored;
    }

    int length() {
      return RECORD_HEADER_LENGTH + (stored == null ? 0 : stored.remaining());
    }

    /** The CRC32C the writer gave the record (valid once it is acknowledged). */
    int crc() {
      return crc;
    }
  }

  /** Called for each record once it is acknowledged (written, and durable as requested). */
  interface Acknowledge {
    void written(Pending record, long sequence, RecordLocation location);
  }

  /**
   * Bytes of records staged for one positional write: headers, and payloads of up to
   * {@link #STAGED_PAYLOAD} bytes, are copied here, so a run of small records goes out in a few large
   * writes and allocates nothing (no header buffer, no view of a payload).
   */
  static final int STAGING_BYTES = 1 << 20;
  /** Payloads above this are written from their own buffer instead of being copied into the staging. */
  static final int STAGED_PAYLOAD = 64 << 10;

  private final ByteBuffer staging = ByteBuffer.allocateDirect(STAGING_BYTES).order(java.nio.ByteOrder.LITTLE_ENDIAN);
  private final java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
  private final TierDirectories directories;
  private final NavigableMap<Long, SegmentFile> segments;
  private final long segmentSize;
  private SegmentFile active;
  private boolean mustRoll;
  private long nextSegmentId;
  private long nextSequence;

  SegmentWriter(TierDirectories directories, NavigableMap<Long, SegmentFile> segments, long segmentSize,
      SegmentFile active, long nextSegmentId, long nextSequence) {
    this.directories = directories;
    this.segments = segments;
    this.segmentSize = segmentSize;
    this.active = active;
    this.nextSegmentId = nextSegmentId;
    this.nextSequence = nextSequence;
  }

  long nextSequence() {
    return nextSequence;
  }

  /** The segment appends currently go to, or null before the first append. */
  SegmentFile active() {
    return active;
  }

  /**
   * Writes {@code records} in order and calls {@code ack} for each once {@code durability} is met.
   * On failure throws {@link SegmentWriteException} listing the records acknowledged before it.
   */
  void write(List<Pending> records, Durability durability, Acknowledge ack) throws SegmentWriteException {
    List<RecordLocation> acknowledged = new ArrayList<>();
    Acknowledge tracking = (r, seq, loc) -> {
      acknowledged.add(loc);
      ack.written(r, seq, loc);
    };
    int i = 0;
    while (i < records.size()) {
      ensureRoom(records.get(i).length(), durability, acknowledged);
      int end = i;
      long size = active.size();
      do {
        size += records.get(end).length();
        end++;
      } while (end < records.size() && size + records.get(end).length() <= segmentSize);
      if (durability == Durability.ALWAYS) {
        for (int k = i; k < end; k++) {
          writeRun(records.subList(k, k + 1), /* force= */ true, tracking, acknowledged);
        }
      } else {
        writeRun(records.subList(i, end), /* force= */ durability == Durability.BATCH, tracking, acknowledged);
      }
      i = end;
    }
  }

  private void ensureRoom(int length, Durability durability, List<RecordLocation> acknowledged)
      throws SegmentWriteException {
    boolean full = active != null && active.size() > FILE_HEADER_LENGTH && active.size() + length > segmentSize;
    if (active == null || mustRoll || full) {
      active = createSegment(durability != Durability.NONE, acknowledged);
      mustRoll = false;
    }
  }

  private SegmentFile createSegment(boolean durable, List<RecordLocation> acknowledged) throws SegmentWriteException {
    long id = nextSegmentId++;
    Path file = directories.directoryFor(id).resolve(fileName(id));
    FileChannel ch = null;
    try {
      ch = directories.create(file);
      ByteBuffer header = RecordFormat.fileHeader(id, System.currentTimeMillis(), directories.all().size());
      while (header.hasRemaining()) {
        ch.write(header, header.position());
      }
      if (durable) {
        ch.force(true);
        TierDirectories.syncDirectory(file.getParent());
      }
      SegmentFile segment = new SegmentFile(id, file, ch, FILE_HEADER_LENGTH);
      segments.put(id, segment);
      return segment;
    } catch (IOException e) {
      try {
        if (ch != null) {
          ch.close();
        }
        Files.deleteIfExists(file);
        // No file is left with this id: the next segment takes it, so ids stay consecutive (a skipped
        // id would look like a lost segment to recovery and inspect).
        nextSegmentId = id;
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw new SegmentWriteException("cannot start segment file " + file + ": " + e
          + ". Fix: free space or make the directory writable; appends resume once it is", e, acknowledged);
    }
  }

  private void writeRun(List<Pending> run, boolean force, Acknowledge ack, List<RecordLocation> acknowledged)
      throws SegmentWriteException {
    SegmentFile segment = active;
    long start = segment.size();
    long firstSequence = nextSequence;
    nextSequence += run.size(); // spent even if the write fails: a sequence is never used twice
    long total = 0;
    try {
      FileChannel ch = segment.channel;
      long position = start;
      staging.clear();
      for (int k = 0; k < run.size(); k++) {
        Pending r = run.get(k);
        ByteBuffer payload = r.stored();
        int stored = payload == null ? 0 : payload.remaining();
        if (staging.remaining() < RECORD_HEADER_LENGTH) {
          position = flushStaging(ch, position);
        }
        int at = staging.position();
        RecordFormat.writeHeader(staging, at, r.kind(), r.codec(), r.generation(), r.key(), firstSequence + k,
            r.rawLength(), stored);
        crc.reset();
        RecordFormat.crcHeader(crc, staging, at);
        if (stored > 0) {
          RecordFormat.crcPayload(crc, payload);
        }
        r.crc = (int) crc.getValue();
        staging.putInt(at + RECORD_CRC_OFFSET, r.crc);
        staging.position(at + RECORD_HEADER_LENGTH);
        if (stored > 0) {
          if (stored > staging.remaining() && stored <= STAGED_PAYLOAD) {
            position = flushStaging(ch, position);
          }
          int from = payload.position();
          if (stored <= staging.remaining()) {
            staging.put(payload); // small payloads are copied: one write for many records
          } else {
            position = flushStaging(ch, position);
            position = writeFully(ch, payload, position); // a large payload goes out from where it is
          }
          payload.position(from);
        }
        total += r.length();
      }
      flushStaging(ch, position);
      if (force) {
        ch.force(false);
      }
    } catch (IOException e) {
      mustRoll = true;
      try {
        segment.channel.truncate(start);
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw new SegmentWriteException("append of " + run.size() + " record(s) to " + segment.path + " at offset "
          + start + " failed: " + e + ". The write was rolled back and records acknowledged earlier stay"
          + " readable. Fix: free space on the device (or the I/O error's cause); appends resume once it is fixed",
          e, acknowledged);
    }
    segment.size(start + total);
    long offset = start;
    for (int k = 0; k < run.size(); k++) {
      Pending r = run.get(k);
      ack.written(r, firstSequence + k, new RecordLocation(segment.id, offset, r.length()));
      offset += r.length();
    }
  }

  /** Writes what {@link #staging} holds at {@code position}; returns the position after it. */
  private long flushStaging(FileChannel ch, long position) throws IOException {
    staging.flip();
    position = writeFully(ch, staging, position);
    staging.clear();
    return position;
  }

  /** Positional writes until {@code src} is written (a short write is retried; an error throws). */
  private static long writeFully(FileChannel ch, ByteBuffer src, long position) throws IOException {
    while (src.hasRemaining()) {
      position += ch.write(src, position);
    }
    return position;
  }
}
