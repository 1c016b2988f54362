package dev.spillway.core.tier;

import static dev.spillway.core.tier.SegmentDescriptor.*;

import dev.spillway.codec.Codecs;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * Reopens a durable map's log: lists the directory (unfinished {@code .tmp} files are deleted; any
 * file that is not the map's fails the open, naming it), checks every segment's file header, replays
 * the newest valid index checkpoint into the map, then every record after the checkpoint's end in log
 * order. A damaged checkpoint is passed over for the one before it; with none valid, the whole log is
 * replayed (exact, because compaction only ever removes the oldest segments). A torn record at the end
 * of the newest segment (a crash mid-write) is cut off; a damaged record anywhere else fails the open
 * with the file and offset: replaying past it could bring back a removed key.
 */
public final class MapLogRecovery {
  private MapLogRecovery() {}

  /**
   * What recovery did.
   *
   * @param checkpoint the checkpoint replayed, or null (a full replay of the log)
   * @param checkpointEntries the entries it held
   * @param tailRecords records replayed after it
   * @param tailBytes their bytes
   * @param notes what was repaired or passed over (a damaged checkpoint, a torn tail cut off)
   * @param millis how long the replay took
   */
  public record Report(int segments, Path checkpoint, long checkpointBytes, long checkpointEntries, long tailRecords,
      long tailBytes, List<String> notes, long millis) {}

  record State(ConcurrentSkipListMap<Long, MapLog.Segment> segments, long nextSegmentId, long nextSequence,
      MapCheckpoint checkpoints, Report report) {}

  /** A file the map's directory may hold besides segments and checkpoints. */
  static boolean isKnownOtherFile(String fileName) {
    return fileName.equals(DirectoryLock.FILE_NAME) || fileName.equals(MapLogFormat.MANIFEST);
  }

  static State run(Path dir, String name, Codecs codecs, MapLog.Owner owner, boolean readOnly) throws IOException {
    long started = System.nanoTime();
    List<String> notes = new ArrayList<>();
    TreeMap<Long, Path> segmentFiles = new TreeMap<>();
    List<Path> checkpointFiles = new ArrayList<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
      for (Path file : files) {
        String n = file.getFileName().toString();
        if (n.endsWith(".tmp") && (n.startsWith(MapCheckpoint.PREFIX) || n.startsWith(MapLogFormat.FILE_PREFIX))) {
          if (readOnly) {
            notes.add("left the unfinished " + n + " (read-only)");
            continue;
          }
          Files.delete(file); // a checkpoint or copy a crash left unfinished
          notes.add("deleted the unfinished " + n);
        } else if (MapLogFormat.parseFileName(n) >= 0 && Files.isRegularFile(file)) {
          segmentFiles.put(MapLogFormat.parseFileName(n), file);
        } else if (MapCheckpoint.parseFileName(n) >= 0 && Files.isRegularFile(file)) {
          checkpointFiles.add(file);
        } else if (!isKnownOtherFile(n)) {
          throw new IOException("map '" + name + "': its directory " + dir + " holds " + n + ", which is not a file"
              + " of a Spillway map (segments map-*.spm, checkpoints index-*.spi). Fix: move it out, or give the map"
              + " a directory of its own in spillway.maps." + name + ".directory");
        }
      }
    }
    ConcurrentSkipListMap<Long, MapLog.Segment> segments = new ConcurrentSkipListMap<>();
    boolean success = false;
    try {
      openSegments(dir, name, segmentFiles, segments, notes, readOnly);
      MapCheckpoint.Header used = null;
      for (Path file : MapCheckpoint.newestFirst(checkpointFiles)) {
        try {
          MapCheckpoint.Header h = MapCheckpoint.readHeader(file);
          checkEnd(h, segments);
          MapCheckpoint.replay(h, segments::containsKey, owner);
          used = h;
          break;
        } catch (CorruptRecordException e) {
          notes.add("passed over the damaged checkpoint " + file.getFileName() + ": " + e.getMessage());
        }
      }
      long start = used != null ? used.end() : MapLogFormat.location(
          segments.isEmpty() ? 0 : segments.firstKey(), FILE_HEADER_LENGTH);
      long[] tail = replayTail(name, segments, start, codecs, owner, notes, readOnly);
      long nextSequence = Math.max(used == null ? 0 : used.nextSequence(), tail[2]);
      long highest = segments.isEmpty() ? (used == null ? -1 : MapLogFormat.segmentOf(used.end()))
          : segments.lastKey();
      Report report = new Report(segments.size(), used == null ? null : used.file(),
          used == null ? 0 : used.entryBytes() + MapCheckpoint.HEADER, used == null ? 0 : used.entries(),
          tail[0], tail[1], List.copyOf(notes), (System.nanoTime() - started) / 1_000_000);
      List<Path> kept = new ArrayList<>(MapCheckpoint.newestFirst(checkpointFiles));
      success = true;
      return new State(segments, highest + 1, nextSequence, new MapCheckpoint(dir, name, kept, used == null ? -1 : used.end()), report);
    } finally {
      if (!success) {
        for (MapLog.Segment s : segments.values()) {
          s.file.close();
        }
      }
    }
  }

  private static void openSegments(Path dir, String name, java.util.SortedMap<Long, Path> files,
      ConcurrentSkipListMap<Long, MapLog.Segment> segments, List<String> notes, boolean readOnly) throws IOException {
    for (Map.Entry<Long, Path> e : files.entrySet()) {
      Path file = e.getValue();
      FileChannel ch = readOnly ? FileChannel.open(file, java.nio.file.StandardOpenOption.READ)
          : TierDirectories.openFile(file);
      boolean kept = false;
      try {
        long size = ch.size();
        if (size < FILE_HEADER_LENGTH && e.getKey().equals(files.lastKey()) && !readOnly) {
          ch.close();
          Files.delete(file); // created by a crash before its header was whole: it held no record
          TierDirectories.syncDirectory(dir);
          notes.add("deleted " + file.getFileName() + ", shorter than its header (" + size + " bytes)");
          continue;
        }
        ByteBuffer h = ByteBuffer.allocate((int) Math.min(size, FILE_HEADER_LENGTH)).order(ByteOrder.LITTLE_ENDIAN);
        while (h.hasRemaining() && ch.read(h, h.position()) >= 0) {
          // read the header
        }
        long id = MapLogFormat.parseFileHeader(h.flip(), file);
        if (id != e.getKey()) {
          throw new CorruptRecordException(file, 0, "the file header says segment " + id + ", the name says "
              + e.getKey() + ": a renamed or foreign file");
        }
        segments.put(id, new MapLog.Segment(new SegmentFile(id, file, ch, size)));
        kept = true;
      } catch (CorruptRecordException ex) {
        throw new IOException("map '" + name + "': " + ex.getMessage(), ex);
      } finally {
        if (!kept && ch.isOpen()) {
          ch.close();
        }
      }
    }
  }

  /** A checkpoint whose end lies beyond what its segment holds names records that are not there. */
  private static void checkEnd(MapCheckpoint.Header h, Map<Long, MapLog.Segment> segments)
      throws CorruptRecordException {
    MapLog.Segment s = segments.get(MapLogFormat.segmentOf(h.end()));
    if (s != null && MapLogFormat.offsetOf(h.end()) > s.file.size()) {
      throw new CorruptRecordException(h.file(), 0, "the checkpoint ends at " + MapLogFormat.describe(h.end())
          + ", past the " + s.file.size() + " bytes that segment holds");
    }
  }

  /** Replays every record from {@code start} on; returns {records, bytes, next sequence}. */
  private static long[] replayTail(String name, ConcurrentSkipListMap<Long, MapLog.Segment> segments, long start,
      Codecs codecs, MapLog.Owner owner, List<String> notes, boolean readOnly) throws IOException {
    long records = 0;
    long bytes = 0;
    long nextSequence = 0;
    ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
    ByteBuffer raw = ByteBuffer.allocateDirect(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
    for (MapLog.Segment s : segments.tailMap(MapLogFormat.segmentOf(start), true).values()) {
      SegmentFile f = s.file;
      long offset = f.id == MapLogFormat.segmentOf(start) ? MapLogFormat.offsetOf(start) : FILE_HEADER_LENGTH;
      boolean newest = f.id == segments.lastKey();
      while (offset < f.size()) {
        long left = f.size() - offset;
        String torn = null;
        RecordFormat.Header h = null;
        try {
          if (left < RECORD_HEADER_LENGTH) {
            torn = "a record header cut short (" + left + " of " + RECORD_HEADER_LENGTH + " bytes)";
          } else {
            buf.clear().limit(RECORD_HEADER_LENGTH);
            MapLog.readFully(f, buf, offset);
            buf.flip();
            h = RecordFormat.parseKeyedHeader(buf, 0, f.path, offset, Long.MAX_VALUE, codecs);
            if (h.length() > left) {
              torn = "a record of " + h.length() + " bytes cut short (" + left + " bytes left)";
            }
          }
          if (torn == null) {
            if (buf.capacity() < h.length()) {
              buf = ByteBuffer.allocateDirect(h.length()).order(ByteOrder.LITTLE_ENDIAN);
            }
            buf.clear().limit(h.length());
            MapLog.readFully(f, buf, offset);
            buf.flip();
            ByteBuffer payload = buf.slice(RECORD_HEADER_LENGTH, h.storedLength()).order(ByteOrder.LITTLE_ENDIAN);
            try {
              MapLog.checkCrc(buf, payload, h, f.path, offset);
            } catch (CorruptRecordException e) {
              if (!(newest && offset + h.length() == f.size())) {
                throw e;
              }
              torn = "the last record's checksum does not match (written only in part)";
            }
            if (torn == null) {
              ByteBuffer plain = payload;
              if (h.codec() != codecs.raw().id()) {
                if (raw.capacity() < h.rawLength()) {
                  raw = ByteBuffer.allocateDirect(h.rawLength()).order(ByteOrder.LITTLE_ENDIAN);
                }
                plain = raw.clear().limit(h.rawLength());
                try {
                  codecs.byId(h.codec()).decode(payload, plain);
                } catch (RuntimeException e) {
                  throw new CorruptRecordException(f.path, offset, "the payload does not decode: " + e, e);
                }
              }
              int keyLength = h.generation();
              owner.recover(h.kind() == MapLogFormat.KIND_REMOVE, h.key(),
                  MemorySegment.ofBuffer(plain).asSlice(MapLogFormat.TIME_BYTES, keyLength), keyLength,
                  MapLogFormat.location(f.id, offset), h.length(),
                  h.rawLength() - MapLogFormat.TIME_BYTES - keyLength, plain.getLong(0));
              records++;
              bytes += h.length();
              nextSequence = Math.max(nextSequence, h.sequence() + 1);
              offset += h.length();
              continue;
            }
          }
        } catch (CorruptRecordException e) {
          if (!newest || h != null) {
            throw new IOException("map '" + name + "': a damaged record at " + f.path + " offset " + offset + ": "
                + e.reason() + ". The log cannot be replayed past it without risking a removed key coming back."
                + " Fix: restore the map from a snapshot (spillway snapshot), or inspect it with spillway inspect", e);
          }
          torn = e.reason();
        }
        if (!newest || readOnly) {
          throw new IOException("map '" + name + "': " + f.path + " ends with " + torn + " at offset " + offset
              + ", but it is not the newest segment: the log cannot be replayed past it. Fix: restore the map from"
              + " a snapshot (spillway snapshot), or inspect it with spillway inspect");
        }
        f.channel.truncate(offset);
        f.channel.force(true);
        notes.add("cut a torn tail off " + f.path.getFileName() + " at offset " + offset + " (" + (f.size() - offset)
            + " bytes: " + torn + ")");
        f.size(offset);
      }
    }
    return new long[] {records, bytes, nextSequence};
  }
}
