package dev.spillway.core.tier;

import static dev.spillway.core.tier.SegmentDescriptor.*;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Compaction of a durable map's log: when the segment files hold more than {@link #TRIGGER} times the
 * bytes of live entries, the <em>oldest</em> segments are rewritten, a few per round: each live entry's record is
 * appended again at the end of the log (under the entry's lock, so no newer write of the key can fall
 * between the check and the copy), then the copies are forced, a checkpoint past them is written, and
 * only then are the old segments deleted. Removing only a prefix keeps what remains a suffix of the
 * log's history, so replaying it from any checkpoint, or from its start, gives the exact state: a
 * REMOVE dropped with its segment can only have hidden records that went with it.
 *
 * <p>Victims are also all before the checkpoint written first, so every checkpoint kept afterwards
 * still finds its tail. A failure (a full disk) stops the pass before anything is deleted: entries
 * already copied point at their copies, the others still at their old records, and nothing is lost.
 * Readers are never blocked beyond one entry's copy.
 */
final class MapLogCompactor {
  /** Compact when the files hold more than this many times the live bytes. */
  static final double TRIGGER = 1.25;
  /** ...and down to about this. */
  static final double TARGET = 1.05;

  /** What one pass did. */
  record Result(int segmentsDeleted, long bytesBefore, long bytesAfter, long entriesMoved, long bytesMoved) {}

  private MapLogCompactor() {}

  /** Whether {@code log} is over the trigger. */
  static boolean needed(MapLog log) {
    long disk = log.diskBytes();
    return disk > 2 * log.options().segmentSize() && disk > TRIGGER * log.liveBytes();
  }

  /** Victims per round: each round's segments are deleted before the next round starts. */
  static final int SEGMENTS_PER_ROUND = 4;

  /**
   * Runs rounds while {@link #needed}: each takes up to {@value #SEGMENTS_PER_ROUND} of the oldest
   * segments, so space comes back as the pass goes rather than at its end; returns what it did, or
   * null when nothing was needed.
   */
  static Result compactIfNeeded(MapLog log, MapLog.Owner owner) throws IOException {
    if (!needed(log)) {
      return null;
    }
    long before = log.diskBytes();
    int deleted = 0;
    long[] moved = {0, 0};
    ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
    while (needed(log) && !log.isClosed()) {
      log.checkpoint(owner);
      long bound = MapLogFormat.segmentOf(log.checkpoints().lastEnd());
      long active = log.activeId();
      long target = (long) (TARGET * log.liveBytes());
      long projected = log.diskBytes();
      List<MapLog.Segment> victims = new ArrayList<>();
      for (MapLog.Segment s : log.segmentsInOrder()) {
        if (s.file.id >= bound || s.file.id == active || projected <= target || victims.size() == SEGMENTS_PER_ROUND) {
          break; // a prefix only: see the class comment
        }
        victims.add(s);
        projected -= s.file.size() - s.live.get();
      }
      if (victims.isEmpty()) {
        break;
      }
      long firstNew = log.end();
      for (MapLog.Segment v : victims) {
        buf = copyLive(log, owner, v, buf, moved);
      }
      for (MapLog.Segment v : victims) {
        // Every live entry moved out, each counted off its old segment: anything left means an entry
        // still lives there, and the segment stays (disk space is cheaper than a lost entry).
        if (v.live.get() != 0) {
          throw new IOException("compaction of " + log.directory() + ": " + v.live.get() + " bytes of entries still"
              + " live in " + v.file.path.getFileName() + " after their copy; it is kept");
        }
      }
      log.forceFrom(MapLogFormat.segmentOf(firstNew));
      log.checkpoint(owner);
      for (MapLog.Segment v : victims) {
        log.delete(v.file.id);
        deleted++;
      }
      TierDirectories.syncDirectory(log.directory());
    }
    return deleted == 0 ? null : new Result(deleted, before, log.diskBytes(), moved[0], moved[1]);
  }

  /** Appends again every record of {@code v} whose entry still lives there; returns the buffer used. */
  private static ByteBuffer copyLive(MapLog log, MapLog.Owner owner, MapLog.Segment v, ByteBuffer buf, long[] moved)
      throws IOException {
    SegmentFile f = v.file;
    long offset = FILE_HEADER_LENGTH;
    while (offset < f.size()) {
      buf.clear().limit(RECORD_HEADER_LENGTH);
      MapLog.readFully(f, buf, offset);
      buf.flip();
      RecordFormat.Header h = RecordFormat.parseKeyedHeader(buf, 0, f.path, offset, f.size(), log.codecs());
      if (h.kind() == MapLogFormat.KIND_ENTRY) {
        if (buf.capacity() < h.length()) {
          buf = ByteBuffer.allocateDirect(h.length()).order(ByteOrder.LITTLE_ENDIAN);
        }
        ByteBuffer record = buf.clear().limit(h.length());
        MapLog.readFully(f, record, offset);
        record.flip();
        // Verified before it is copied: a damaged record is never given a new life under a good CRC.
        MapLog.checkCrc(record, record.slice(RECORD_HEADER_LENGTH, h.storedLength()), h, f.path, offset);
        if (owner.moveIfCurrent(h.key(), MapLogFormat.location(f.id, offset), () -> log.appendCopy(record))) {
          moved[0]++;
          moved[1] += h.length();
        }
      }
      offset += h.length();
    }
    return buf;
  }
}
