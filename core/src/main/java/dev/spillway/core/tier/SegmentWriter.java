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
 * Appends encoded records to the active segment. Each run of records that lands in one segment goes
 * out in ONE gathering {@link FileChannel#write(ByteBuffer[])} (looped until every byte is written),
 * followed by a force when the durability asks for it ({@code always}: one write and one force per
 * record). The active segment rolls to a new file, in the next directory round-robin, when the next
 * record would take it past the segment size. A failed write is rolled back by truncating the file to
 * where it started, and the writer rolls to a fresh segment on the next append, so a half-written
 * record never sits before later ones. Not thread-safe: the log calls it under its write lock.
 */
final class SegmentWriter {
  /** A record ready to write: header fields plus the stored payload; the writer assigns the sequence. */
  record Pending(byte kind, int codec, int generation, long key, int rawLength, ByteBuffer stored) {
    int length() {
      return RECORD_HEADER_LENGTH + (stored == null ? 0 : stored.remaining());
    }
  }

  /** Called for each record once it is acknowledged (written, and durable as requested). */
  interface Acknowledge {
    void written(Pending record, long sequence, RecordLocation location);
  }

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
      ByteBuffer header = RecordFormat.fileHeader(id, System.currentTimeMillis());
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
    ByteBuffer[] buffers = new ByteBuffer[run.size() * 2];
    long[] sequences = new long[run.size()];
    long total = 0;
    int n = 0;
    for (int k = 0; k < run.size(); k++) {
      Pending r = run.get(k);
      sequences[k] = nextSequence++;
      int stored = r.stored() == null ? 0 : r.stored().remaining();
      ByteBuffer h = RecordFormat.allocateHeader();
      RecordFormat.writeHeader(h, r.kind(), r.codec(), r.generation(), r.key(), sequences[k], r.rawLength(), stored);
      RecordFormat.sealCrc(h, r.stored());
      buffers[n++] = h;
      if (stored > 0) {
        buffers[n++] = r.stored().duplicate();
      }
      total += r.length();
    }
    try {
      FileChannel ch = segment.channel;
      ch.position(start);
      long written = 0;
      while (written < total) {
        written += ch.write(buffers, 0, n); // gathering: one writev per call, looped only on short writes
      }
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
      throw new SegmentWriteException("append of " + run.size() + " record(s), " + total + " bytes, to "
          + segment.path + " at offset " + start + " failed: " + e + ". The write was rolled back and records"
          + " acknowledged earlier stay readable. Fix: free space on the device (or the I/O error's cause);"
          + " appends resume once it is fixed",
          e, acknowledged);
    }
    segment.size(start + total);
    long offset = start;
    for (int k = 0; k < run.size(); k++) {
      Pending r = run.get(k);
      ack.written(r, sequences[k], new RecordLocation(segment.id, offset, r.length()));
      offset += r.length();
    }
  }
}
