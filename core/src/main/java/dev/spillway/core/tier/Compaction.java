package dev.spillway.core.tier;

import static dev.spillway.core.tier.SegmentDescriptor.*;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One compaction pass, run under the log's write lock. Candidates are the sealed segments (never the
 * active one) whose live fraction, live bytes / file bytes, is under the configured threshold, in id
 * order. For each, the records the index points into it are read (CRC verified) and appended to the
 * active segment in batches, each forced before the index moves to the copy; copies get new, higher
 * sequence numbers, so if a crash leaves both copy and original, recovery keeps the copy. Once every
 * copy is durable, a RETIRE record naming the segment (with every segment retired before it) is
 * appended and forced, and only then is the old file deleted (and the directory synced): a segment id
 * without a file is then either named by the latest RETIRE record or lost, and a file a crash left
 * behind after its RETIRE record is a leftover recovery deletes.
 *
 * <p>Tombstones: sequence numbers grow with segment ids, so a tombstone in the oldest remaining
 * segment shadows nothing that survives the deletion of that segment, and is dropped; a tombstone in
 * any other segment is copied, because an older segment may still hold a record of its key.
 */
final class Compaction {
  /**
   * Live records are copied in batches of at most this many bytes (the log's copy buffer), each forced
   * before the index moves.
   */
  static final int COPY_BATCH_BYTES = 8 << 20;
  private final FileSegmentLog log;
  private final long maxCopyBytes;
  private int rewritten;
  private long copied;
  private long dropped;

  /** A pass that copies at most about {@code maxCopyBytes} of live records (at least one segment). */
  Compaction(FileSegmentLog log, long maxCopyBytes) {
    this.log = log;
    this.maxCopyBytes = maxCopyBytes;
  }

  CompactionResult run() throws IOException {
    double threshold = log.settings().compactLiveFractionBelow();
    if (threshold <= 0) {
      return new CompactionResult(0, 0, 0, 0);
    }
    SegmentFile active = log.writer().active();
    List<SegmentFile> candidates = new ArrayList<>();
    for (SegmentFile s : log.segments().values()) {
      if (s != active) {
        candidates.add(s);
      }
    }
    if (candidates.isEmpty()) {
      return new CompactionResult(0, 0, 0, 0);
    }
    // Choose first, from the per-segment usage alone (no walk of the index): emptiest first, and at
    // most maxCopyBytes copied per pass, since the pass holds the write lock and a caller that
    // compacts often (the spill log's housekeeping) must never stall appends for long.
    candidates.sort(Comparator.comparingDouble(s -> liveFraction(s)));
    List<SegmentFile> chosen = new ArrayList<>();
    long planned = 0;
    for (SegmentFile s : candidates) {
      boolean oldest = log.segments().firstKey() == s.id;
      long live = liveBytes(s, oldest);
      if (live < threshold * s.size()) {
        if (!chosen.isEmpty() && planned + live > maxCopyBytes) {
          break;
        }
        chosen.add(s);
        planned += live;
      }
    }
    if (chosen.isEmpty()) {
      return new CompactionResult(0, 0, 0, 0);
    }
    Map<Long, List<LogIndex.Entry>> bySegment = new HashMap<>();
    for (SegmentFile s : chosen) {
      bySegment.put(s.id, new ArrayList<>());
    }
    long[] ids = chosen.stream().mapToLong(c -> c.id).toArray();
    log.index().forEachIn(ids, e -> bySegment.get(e.location().segmentId()).add(e));
    long diskBefore = diskBytes();
    for (SegmentFile s : chosen) {
      rewrite(s, log.segments().firstKey() == s.id, bySegment.get(s.id));
    }
    return new CompactionResult(rewritten, copied, dropped, diskBefore - diskBytes());
  }

  private long liveBytes(SegmentFile s, boolean oldest) {
    LogIndex.Usage u = log.index().usage(s.id);
    return u.dataBytes.get() + (oldest ? 0 : u.tombstoneBytes.get());
  }

  private double liveFraction(SegmentFile s) {
    return s.size() == 0 ? 0 : (double) liveBytes(s, false) / s.size();
  }

  private long diskBytes() {
    long sum = 0;
    for (SegmentFile s : log.segments().values()) {
      sum += s.size();
    }
    return sum;
  }

  private void rewrite(SegmentFile segment, boolean oldest, List<LogIndex.Entry> entries) throws IOException {
    entries.sort(Comparator.comparingLong(e -> e.location().offset()));
    List<LogIndex.Entry> drop = new ArrayList<>();
    List<SegmentWriter.Pending> batch = new ArrayList<>();
    // Records are read whole into the log's copy buffer, back to back, and written from there: a pass
    // allocates a view per record, not its bytes. A record too large for the buffer gets its own.
    ByteBuffer buffer = log.copyBuffer();
    int used = 0;
    for (LogIndex.Entry e : entries) {
      if (e.tombstone() && oldest) {
        drop.add(e);
        continue;
      }
      long offset = e.location().offset();
      int length = e.location().length();
      SegmentWriter.Pending copy;
      long key;
      long sequence;
      if (length <= buffer.capacity()) {
        if (used + length > buffer.capacity()) {
          flush(batch);
          batch.clear();
          used = 0;
        }
        RecordReader.readWhole(segment.channel, segment.path, offset, segment.size(), log.codecs(), length, buffer,
            used);
        int stored = RecordFormat.storedLengthAt(buffer, used);
        key = RecordFormat.keyAt(buffer, used);
        sequence = RecordFormat.sequenceAt(buffer, used);
        copy = new SegmentWriter.Pending(RecordFormat.kindAt(buffer, used), RecordFormat.codecAt(buffer, used),
            RecordFormat.generationAt(buffer, used), key, RecordFormat.rawLengthAt(buffer, used),
            stored == 0 ? null : buffer.slice(used + RECORD_HEADER_LENGTH, stored));
        used += length;
      } else {
        RecordReader.Verified v = RecordReader.read(segment.channel, segment.path, offset, segment.size(),
            log.codecs(), header -> ByteBuffer.allocate(header.storedLength()));
        RecordFormat.Header h = v.header();
        key = h.key();
        sequence = h.sequence();
        copy = new SegmentWriter.Pending(h.kind(), h.codec(), h.generation(), h.key(), h.rawLength(),
            h.storedLength() == 0 ? null : v.stored());
      }
      if (key != e.key() || sequence != e.sequence()) {
        throw new CorruptRecordException(segment.path, offset, "holds key " + key
            + " sequence " + sequence + " but the index expected key " + e.key() + " sequence " + e.sequence());
      }
      batch.add(copy);
      if (length > buffer.capacity()) {
        flush(batch); // one large record is a batch of its own
        batch.clear();
        used = 0;
      }
    }
    flush(batch);
    retire(segment);
    log.deleteSegment(segment);
    for (LogIndex.Entry e : drop) {
      if (log.index().remove(e)) {
        dropped++;
      }
    }
    log.index().forgetSegment(segment.id);
    rewritten++;
  }


  /**
   * Appends and forces a RETIRE record of every retired segment plus {@code segment}. A write of its
   * own, after the copies were forced rather than in their batch: pages of one write may reach the
   * device in any order, and a RETIRE record that outlived a lost copy would let recovery delete the
   * only durable original.
   */
  private void retire(SegmentFile segment) throws IOException {
    RetiredSegments next = log.retired().with(segment.id);
    ByteBuffer payload = next.encode();
    log.writer().write(List.of(new SegmentWriter.Pending(KIND_RETIRE, log.codecs().raw().id(), 0, 0,
        payload.remaining(), payload)), FileSegmentLog.copyDurability(), (r, seq, loc) -> { });
    log.retired(next);
  }

  private void flush(List<SegmentWriter.Pending> batch) throws IOException {
    if (batch.isEmpty()) {
      return;
    }
    log.writer().write(batch, FileSegmentLog.copyDurability(), (r, seq, loc) -> {
      log.index().apply(new LogIndex.Entry(r.key(), r.generation(), seq, r.codec(), r.rawLength(),
          r.kind() == KIND_TOMBSTONE, loc, r.crc()));
      copied++;
    });
  }
}
