package dev.spillway.core.tier;

import static dev.spillway.core.tier.SegmentDescriptor.*;

import dev.spillway.core.codec.Codecs;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * Rebuilds a log's state from its files at open: every segment in id order, its file header and every
 * record verified in full (lengths, then CRC, never holding a payload in memory), the index rebuilt
 * (a higher sequence supersedes, a tombstone deletes). A record that fails is reported and skipped:
 * the scan resynchronises on the next offset holding the record magic whose record validates in full,
 * CRC included, so one bad record never hides the good ones after it. Invalid bytes at the end of the
 * newest segment are a torn tail from a crash: they are truncated so appends continue cleanly.
 */
final class Recovery {
  /** Everything the log needs to start. */
  record State(NavigableMap<Long, SegmentFile> segments, LogIndex index, SegmentFile active,
      long nextSegmentId, long nextSequence, RecoveryReport report) {}

  private Recovery() {}

  static State run(TierDirectories directories, Codecs codecs, long segmentSize) throws IOException {
    TreeMap<Long, Path> files = directories.listSegments();
    NavigableMap<Long, SegmentFile> segments = new java.util.concurrent.ConcurrentSkipListMap<>();
    LogIndex index = new LogIndex();
    List<RecoveryReport.Corruption> corrupt = new ArrayList<>();
    List<RecoveryReport.TornTail> torn = new ArrayList<>();
    ByteBuffer scratch = RecordReader.scratch();
    long maxSequence = -1;
    long records = 0;
    SegmentFile active = null;
    long lastId = files.isEmpty() ? -1 : files.lastKey();
    boolean success = false;
    try {
      for (Map.Entry<Long, Path> f : files.entrySet()) {
        long id = f.getKey();
        Path path = f.getValue();
        boolean last = id == lastId;
        FileChannel ch = directories.openExisting(path);
        boolean scanned = false;
        try {
          long size = ch.size();
          if (size < FILE_HEADER_LENGTH) {
            // A crash while the file was being created: it cannot hold a record.
            ch.close();
            Files.delete(path);
            torn.add(new RecoveryReport.TornTail(path, 0, size, "file of " + size
                + " bytes is shorter than its header; deleted"));
            continue;
          }
          boolean headerOk = true;
          ByteBuffer header = ByteBuffer.allocate(FILE_HEADER_LENGTH);
          RecordReader.readFully(ch, header, 0, path);
          try {
            RecordFormat.parseFileHeader(header.flip(), path, id);
          } catch (CorruptRecordException e) {
            headerOk = false;
            corrupt.add(new RecoveryReport.Corruption(path, 0, FILE_HEADER_LENGTH, e.reason()));
          }
          long pos = FILE_HEADER_LENGTH;
          while (pos < size) {
            try {
              RecordFormat.Header h = RecordReader.verify(ch, path, pos, size, codecs, scratch);
              index.apply(new LogIndex.Entry(h.key(), h.generation(), h.sequence(), h.codec(), h.rawLength(),
                  h.tombstone(), new RecordLocation(id, pos, h.length())));
              maxSequence = Math.max(maxSequence, h.sequence());
              records++;
              pos += h.length();
            } catch (CorruptRecordException e) {
              long next = RecordReader.resync(ch, path, pos + 1, size, codecs, scratch);
              if (next >= 0) {
                corrupt.add(new RecoveryReport.Corruption(path, pos, next - pos, e.reason()));
                pos = next;
                continue;
              }
              if (last) {
                ch.truncate(pos);
                ch.force(true);
                torn.add(new RecoveryReport.TornTail(path, pos, size - pos, e.reason()));
                size = pos;
              } else {
                corrupt.add(new RecoveryReport.Corruption(path, pos, size - pos, e.reason()
                    + " (no valid record follows before the end of the file)"));
              }
              break;
            }
          }
          SegmentFile segment = new SegmentFile(id, path, ch, size);
          segments.put(id, segment);
          scanned = true;
          if (last && headerOk && size < segmentSize) {
            active = segment;
          }
        } finally {
          if (!scanned && ch.isOpen()) {
            ch.close(); // a failure before the segment joined the map: nobody else will close it
          }
        }
      }
      success = true;
    } finally {
      if (!success) {
        for (SegmentFile s : segments.values()) {
          s.close();
        }
      }
    }
    long live = 0;
    for (LogIndex.Entry e : index.entries()) {
      live += e.tombstone() ? 0 : 1;
    }
    RecoveryReport report = new RecoveryReport(segments.size(), records, live, maxSequence + 1, corrupt, torn);
    return new State(segments, index, active, lastId + 1, maxSequence + 1, report);
  }
}
