package dev.spillway.core.tier;

import static dev.spillway.core.tier.SegmentDescriptor.*;

import dev.spillway.codec.Codecs;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code inspect} of a durable map's directory, reading only: every segment's header and every record
 * (lengths, CRC32C, the payload decoded), the whole log replayed to count the live entries and their
 * bytes, each checkpoint checked against its own checksums, and, in a snapshot, the manifest's sizes
 * and SHA-256s. Nothing is written, cut or deleted: what a reopen would repair (a torn tail, an
 * unfinished temporary file) is reported as such.
 */
public final class MapLogInspector {
  private MapLogInspector() {}

  /**
   * What inspection found.
   *
   * @param liveEntries keys whose latest record is an ENTRY (what the map holds when reopened)
   * @param liveBytes the bytes of those records
   * @param repairable what a reopen cuts or deletes (a torn tail, unfinished files): not damage
   * @param damage what no reopen repairs: damaged records, foreign files, a manifest that does not match
   */
  public record Report(Path directory, int segments, long diskBytes, long records, long entries, long removes,
      long liveEntries, long liveBytes, List<String> checkpoints, boolean snapshot, List<String> repairable,
      List<String> damage) {
    public boolean healthy() {
      return damage.isEmpty();
    }
  }

  /** Whether {@code dir} holds a map's files (segments, checkpoints, or a snapshot manifest). */
  public static boolean isMapDirectory(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return false;
    }
    try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
      for (Path f : s) {
        String n = f.getFileName().toString();
        if (MapLogFormat.parseFileName(n) >= 0 || MapCheckpoint.parseFileName(n) >= 0 || n.equals(MapLogFormat.MANIFEST)) {
          return true;
        }
      }
    }
    return false;
  }

  public static Report inspect(Path directory, Codecs codecs) throws IOException {
    Path dir = directory.toAbsolutePath();
    List<String> repairable = new ArrayList<>();
    List<String> damage = new ArrayList<>();
    TreeMap<Long, Path> segments = new TreeMap<>();
    List<Path> checkpointFiles = new ArrayList<>();
    try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
      for (Path f : s) {
        String n = f.getFileName().toString();
        if (n.endsWith(".tmp") && (n.startsWith(MapCheckpoint.PREFIX) || n.startsWith(MapLogFormat.FILE_PREFIX))) {
          repairable.add(n + ": unfinished (a crash mid-write); the next open deletes it");
        } else if (MapLogFormat.parseFileName(n) >= 0) {
          segments.put(MapLogFormat.parseFileName(n), f);
        } else if (MapCheckpoint.parseFileName(n) >= 0) {
          checkpointFiles.add(f);
        } else if (!MapLogRecovery.isKnownOtherFile(n)) {
          damage.add(n + ": not a file of a Spillway map");
        }
      }
    }
    boolean snapshot = MapSnapshot.isSnapshot(dir);
    if (snapshot) {
      for (String p : MapSnapshot.verify(dir)) {
        damage.add("manifest: " + p);
      }
    }
    Map<ByteBuffer, Long> live = new HashMap<>(); // key -> record length
    long disk = 0;
    long records = 0;
    long entries = 0;
    long removes = 0;
    ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
    ByteBuffer raw = ByteBuffer.allocateDirect(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
    for (Map.Entry<Long, Path> e : segments.entrySet()) {
      Path file = e.getValue();
      boolean newest = e.getKey().equals(segments.lastKey());
      try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
        long size = ch.size();
        disk += size;
        if (size < FILE_HEADER_LENGTH) {
          (newest ? repairable : damage).add(file.getFileName() + ": " + size + " bytes, shorter than a header");
          continue;
        }
        ByteBuffer h = ByteBuffer.allocate(FILE_HEADER_LENGTH);
        ch.read(h, 0);
        try {
          long id = MapLogFormat.parseFileHeader(h.flip(), file);
          if (id != e.getKey()) {
            damage.add(file.getFileName() + ": the header says segment " + id);
            continue;
          }
        } catch (CorruptRecordException ex) {
          damage.add(file.getFileName() + ": " + ex.reason());
          continue;
        }
        SegmentFile f = new SegmentFile(e.getKey(), file, ch, size);
        try {
          long offset = FILE_HEADER_LENGTH;
          while (offset < size) {
            long left = size - offset;
            if (left < RECORD_HEADER_LENGTH) {
              (newest ? repairable : damage).add(file.getFileName() + " offset " + offset + ": a record header cut"
                  + " short (" + left + " bytes)" + (newest ? ", a torn tail the next open cuts" : ""));
              break;
            }
            buf.clear().limit(RECORD_HEADER_LENGTH);
            MapLog.readFully(f, buf, offset);
            RecordFormat.Header rh;
            try {
              rh = RecordFormat.parseKeyedHeader(buf.flip(), 0, file, offset, Long.MAX_VALUE, codecs);
            } catch (CorruptRecordException ex) {
              (newest ? repairable : damage).add(file.getFileName() + " offset " + offset + ": " + ex.reason()
                  + (newest ? " (read as a torn tail: the next open cuts it)" : "; the rest of the segment is unreadable"));
              break;
            }
            if (rh.length() > left) {
              (newest ? repairable : damage).add(file.getFileName() + " offset " + offset + ": a record of "
                  + rh.length() + " bytes cut short (" + left + " left)" + (newest ? ", a torn tail" : ""));
              break;
            }
            if (buf.capacity() < rh.length()) {
              buf = ByteBuffer.allocateDirect(rh.length()).order(ByteOrder.LITTLE_ENDIAN);
            }
            buf.clear().limit(rh.length());
            MapLog.readFully(f, buf, offset);
            buf.flip();
            ByteBuffer payload = buf.slice(RECORD_HEADER_LENGTH, rh.storedLength()).order(ByteOrder.LITTLE_ENDIAN);
            ByteBuffer plain = payload;
            try {
              MapLog.checkCrc(buf, payload, rh, file, offset);
              if (rh.codec() != codecs.raw().id()) {
                if (raw.capacity() < rh.rawLength()) {
                  raw = ByteBuffer.allocateDirect(rh.rawLength()).order(ByteOrder.LITTLE_ENDIAN);
                }
                plain = raw.clear().limit(rh.rawLength());
                codecs.byId(rh.codec()).decode(payload, plain);
              }
            } catch (CorruptRecordException | RuntimeException ex) {
              String why = ex instanceof CorruptRecordException c ? c.reason() : "the payload does not decode: " + ex;
              boolean last = offset + rh.length() == size;
              (newest && last ? repairable : damage).add(file.getFileName() + " offset " + offset + ": " + why);
              offset += rh.length();
              continue;
            }
            byte[] key = new byte[rh.generation()];
            plain.get(MapLogFormat.TIME_BYTES, key);
            records++;
            if (rh.kind() == MapLogFormat.KIND_ENTRY) {
              entries++;
              live.put(ByteBuffer.wrap(key), (long) rh.length());
            } else {
              removes++;
              live.remove(ByteBuffer.wrap(key));
            }
            offset += rh.length();
          }
        } finally {
          NativeFiles.close(f.fd);
        }
      }
    }
    List<String> checkpoints = new ArrayList<>();
    for (Path cp : MapCheckpoint.newestFirst(checkpointFiles)) {
      disk += Files.size(cp);
      try {
        MapCheckpoint.Header h = MapCheckpoint.readHeader(cp);
        MapCheckpoint.replay(h, segments::containsKey, NO_OWNER);
        checkpoints.add(cp.getFileName() + ": " + h.entries() + " entries up to " + MapLogFormat.describe(h.end())
            + ", " + Files.size(cp) + " bytes");
      } catch (CorruptRecordException ex) {
        // Never damage: the log alone gives the exact state (compaction only removes its oldest
        // segments), so a reopen passes over an unusable checkpoint. An older one that names segments
        // compaction deleted since is expected; anything else is worth a look.
        boolean stale = ex.reason().contains("in a segment that exists") && !checkpoints.isEmpty();
        checkpoints.add(cp.getFileName() + (stale ? ": older, names segments compacted since (not used)"
            : ": unusable: " + ex.reason()));
        if (!stale) {
          repairable.add(cp.getFileName() + ": " + ex.reason() + " (a reopen passes over it: the checkpoint before"
              + " it, or the whole log, gives the state)");
        }
      }
    }
    long liveBytes = live.values().stream().mapToLong(Long::longValue).sum();
    return new Report(dir, segments.size(), disk, records, entries, removes, live.size(), liveBytes,
        List.copyOf(checkpoints), snapshot, List.copyOf(repairable), List.copyOf(damage));
  }

  /** Checkpoint entries checked, not kept. */
  private static final MapLog.Owner NO_OWNER = new MapLog.Owner() {
    @Override
    public void recover(boolean remove, long keyHash, java.lang.foreign.MemorySegment key, int keyLength,
        long location, int recordLength, int valueLength, long timeMillis) {}

    @Override
    public void forEachEntry(long end, MapLog.EntrySink sink) {}

    @Override
    public boolean moveIfCurrent(long keyHash, long location, MapLog.RecordCopy copy) {
      return false;
    }
  };
}
