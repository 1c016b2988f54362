package dev.spillway.core.tier;

import static dev.spillway.core.tier.SegmentDescriptor.*;

import dev.spillway.codec.Codecs;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * Scans a whole segment log, the files of all its directories, without changing anything: lists the
 * directories, scans every segment file with a {@link SegmentScanner} (newest first, so that when a
 * segment is reached every RETIRE record that could name it has been read), feeds each valid record
 * to a {@link LogIndex}, and adds what only the log as a whole shows: retired segments whose file is
 * still present (skipped, not indexed: compaction copied their live records before retiring them),
 * missing segment ids, duplicate ids, unknown files. Recovery and {@code inspect} both run it;
 * recovery then applies the repairs, {@code inspect} only reports. Channels come from an
 * {@link Opener}: read-only ones for {@code inspect}, the log's own for recovery.
 */
final class LogScanner {
  /** Opens one segment file for the scan. */
  interface Opener {
    FileChannel open(Path file) throws IOException;
  }

  /**
   * The files of a log's directories.
   *
   * @param segments segment files by id; two or more when several directories hold one id
   * @param unknown every other entry except the lock file, sorted
   */
  record Listing(NavigableMap<Long, List<Path>> segments, List<Path> unknown) {
    /** The highest segment id with a file, or -1. */
    long highestId() {
      return segments.isEmpty() ? -1 : segments.lastKey();
    }
  }

  /**
   * One scanned segment file.
   *
   * @param channel its channel, still open when the scan was asked to keep it, else null
   */
  record Segment(long id, Path file, FileChannel channel, SegmentScanner.Result result) {}

  /**
   * A whole log's scan.
   *
   * @param segments the segment files scanned, by ascending id (retired ones are not scanned)
   * @param findings everything found, by segment id and offset, then the notes about the directories
   * @param retired the set of the latest RETIRE record, or none
   * @param maxSequence the highest sequence of any valid record, or -1
   * @param records valid data and tombstone records
   */
  record Scan(List<Segment> segments, List<Finding> findings, RetiredSegments retired, long maxSequence,
      long records) {}

  private LogScanner() {}

  /** Lists {@code directories}: segment files by the id in their name, and what else is there. */
  static Listing list(List<Path> directories) throws IOException {
    NavigableMap<Long, List<Path>> segments = new TreeMap<>();
    List<Path> unknown = new ArrayList<>();
    for (Path dir : directories) {
      List<Path> entries = new ArrayList<>();
      try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
        files.forEach(entries::add);
      }
      Collections.sort(entries);
      for (Path file : entries) {
        String name = file.getFileName().toString();
        long id = parseFileName(name);
        if (id >= 0 && Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
          segments.computeIfAbsent(id, k -> new ArrayList<>()).add(file);
        } else if (!name.equals(".lock")) {
          unknown.add(file);
        }
      }
    }
    return new Listing(segments, unknown);
  }

  /**
   * Scans the log in {@code directories} as {@code listing} found it, adding every valid record of a
   * segment that is not retired to {@code index}. With {@code keepOpen} the channels of scanned files
   * stay open in the result (the caller closes them); otherwise each is closed after its scan. Of two
   * files with one id only the first listed is scanned.
   */
  static Scan scan(List<Path> directories, Listing listing, Opener opener, Codecs codecs, LogIndex index,
      boolean keepOpen) throws IOException {
    SegmentScanner scanner = new SegmentScanner(codecs);
    long newest = listing.highestId();
    Map<Long, List<Finding>> byId = new TreeMap<>();
    List<Segment> segments = new ArrayList<>();
    RetiredSegments retired = RetiredSegments.none();
    long retiredSequence = -1;
    long maxSequence = -1;
    long records = 0;
    boolean success = false;
    try {
      for (Map.Entry<Long, List<Path>> e : listing.segments().descendingMap().entrySet()) {
        long id = e.getKey();
        Path file = e.getValue().getFirst();
        List<Finding> found = byId.computeIfAbsent(id, k -> new ArrayList<>());
        for (Path other : e.getValue().subList(1, e.getValue().size())) {
          found.add(new Finding(Finding.Kind.DUPLICATE_SEGMENT, Finding.Severity.DAMAGE, other, 0, Files.size(other),
              "segment " + id + " also exists as " + file + ": only that one was checked; remove the stale copy"
                  + " (the directories of one log never share a segment id)"));
        }
        if (retired.contains(id)) {
          found.addFirst(new Finding(Finding.Kind.RETIRED_SEGMENT_PRESENT, Finding.Severity.REPAIRABLE, file, 0,
              Files.size(file), "segment " + id + " was retired by compaction (the latest RETIRE record names it)"
                  + " but its file is still here: a crash came between the copies of its live records and its"
                  + " deletion; recovery and repair delete it"));
          continue;
        }
        FileChannel ch = opener.open(file);
        SegmentScanner.Result r;
        try {
          r = scanner.scan(ch, file, id, id == newest, (h, offset) -> index.apply(new LogIndex.Entry(h.key(),
              h.generation(), h.sequence(), h.codec(), h.rawLength(), h.tombstone(),
              new RecordLocation(id, offset, h.length()), h.crc())));
        } catch (IOException | RuntimeException ex) {
          ch.close();
          throw ex;
        }
        if (!keepOpen || r.tooShort()) {
          ch.close();
          ch = null;
        }
        segments.add(new Segment(id, file, ch, r));
        found.addAll(0, r.findings());
        records += r.records();
        maxSequence = Math.max(maxSequence, r.maxSequence());
        if (r.retired() != null && r.retiredSequence() > retiredSequence) {
          retired = r.retired();
          retiredSequence = r.retiredSequence();
        }
      }
      success = true;
    } finally {
      if (!success) {
        for (Segment s : segments) {
          if (s.channel() != null) {
            s.channel().close();
          }
        }
      }
    }
    Collections.reverse(segments);
    List<Finding> notes = new ArrayList<>();
    checkGaps(directories, listing, segments, retired, byId, notes);
    List<Finding> findings = new ArrayList<>();
    byId.values().forEach(findings::addAll);
    for (Path file : listing.unknown()) {
      findings.add(new Finding(Finding.Kind.UNKNOWN_FILE, Finding.Severity.NOTE, file, 0,
          Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS) ? Files.size(file) : 0,
          "neither a segment file (seg-<16 hex digits>.spw) nor the lock file; left alone"));
    }
    findings.addAll(notes);
    return new Scan(List.copyOf(segments), List.copyOf(findings), retired, maxSequence, records);
  }

  /**
   * Ids are assigned consecutively from 0 and only compaction deletes a segment, after naming it in a
   * RETIRE record; so an id between 0 and the highest present with neither a file nor a retirement is
   * a lost segment. Not checked when the headers say the log has more directories than were given
   * (the others hold the rest), nor among ids of version-1 files (written before RETIRE records).
   */
  private static void checkGaps(List<Path> directories, Listing listing, List<Segment> segments,
      RetiredSegments retired, Map<Long, List<Finding>> byId, List<Finding> notes) {
    long highest = listing.highestId();
    if (highest < 0) {
      return;
    }
    int stripes = 0;
    long legacy = -1;
    for (Segment s : segments) {
      RecordFormat.FileHeader h = s.result().header();
      if (h != null) {
        stripes = Math.max(stripes, h.stripes());
        if (h.version() == 1) {
          legacy = Math.max(legacy, s.id());
        }
      }
    }
    Path first = directories.getFirst();
    if (stripes > directories.size()) {
      notes.add(new Finding(Finding.Kind.GAP_CHECK_SKIPPED, Finding.Severity.NOTE, first, 0, 0, "the file headers"
          + " say this log is striped over " + stripes + " directories but " + directories.size() + " "
          + (directories.size() == 1 ? "was" : "were") + " given: the other directories hold the segments"
          + " missing here, so missing segments were not looked for; inspect all " + stripes
          + " directories together"));
      return;
    }
    if (legacy >= 0) {
      notes.add(new Finding(Finding.Kind.GAP_CHECK_SKIPPED, Finding.Severity.NOTE, first, 0, 0, "segments up to "
          + legacy + " include version-1 files, written before compaction recorded the segments it deleted:"
          + " missing ids from 0 to " + legacy + " are not reported"));
    }
    long previous = legacy;
    for (long id : listing.segments().keySet()) {
      if (id > previous + 1) {
        missing(directories, previous + 1, id, retired, byId);
      }
      previous = Math.max(previous, id);
    }
  }

  /** Reports the ids of {@code [from, to)} that no retired range covers, one finding per run. */
  private static void missing(List<Path> directories, long from, long to, RetiredSegments retired,
      Map<Long, List<Finding>> byId) {
    long at = from;
    for (long[] range : retired.ranges()) {
      if (range[1] <= at) {
        continue;
      }
      if (range[0] >= to) {
        break;
      }
      if (range[0] > at) {
        byId.computeIfAbsent(at, k -> new ArrayList<>()).add(missingRun(directories, at, range[0]));
      }
      at = Math.max(at, range[1]);
    }
    if (at < to) {
      byId.computeIfAbsent(at, k -> new ArrayList<>()).add(missingRun(directories, at, to));
    }
  }

  private static Finding missingRun(List<Path> directories, long from, long to) {
    Path file = directories.get((int) Long.remainderUnsigned(from, directories.size())).resolve(fileName(from));
    String which = to - from == 1 ? "segment " + from + " is" : "segments " + from + " to " + (to - 1) + " ("
        + (to - from) + " files) are";
    return new Finding(Finding.Kind.MISSING_SEGMENT, Finding.Severity.DAMAGE, file, 0, 0, which
        + " missing: no file, and no RETIRE record names " + (to - from == 1 ? "it" : "them")
        + " (compaction names every segment it deletes); the records " + (to - from == 1 ? "it" : "they")
        + " held are lost");
  }
}
