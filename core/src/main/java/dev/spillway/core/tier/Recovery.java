package dev.spillway.core.tier;

import static dev.spillway.core.tier.SegmentDescriptor.*;

import dev.spillway.codec.Codecs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * Rebuilds a log's state from its files when its owner opens it: the {@link LogScanner} every
 * {@code inspect} runs (each record verified in full, the index rebuilt, a higher sequence superseding,
 * a tombstone deleting), then exactly the repairs {@code inspect --repair} makes, no more: a torn tail
 * of the newest segment is truncated, a newest segment file shorter than its header is deleted, and
 * retired segments whose file a crash left behind are deleted. Corrupt records and regions stay where
 * they are: they are never indexed, so never returned, and the {@link RecoveryReport} names each. The
 * retired set of the latest RETIRE record is kept, so the next one compaction writes extends it.
 */
final class Recovery {
  /** Everything the log needs to start. */
  record State(NavigableMap<Long, SegmentFile> segments, LogIndex index, SegmentFile active,
      long nextSegmentId, long nextSequence, RetiredSegments retired, RecoveryReport report) {}

  private Recovery() {}

  static State run(TierDirectories directories, Codecs codecs, long segmentSize) throws IOException {
    LogScanner.Listing listing = LogScanner.list(directories.all());
    for (Map.Entry<Long, List<Path>> e : listing.segments().entrySet()) {
      if (e.getValue().size() > 1) {
        throw new IOException("segment " + e.getKey() + " exists twice: " + e.getValue().get(0) + " and "
            + e.getValue().get(1) + ". Fix: remove the stale copy (spillway.tier.directories must not share files)");
      }
    }
    LogIndex index = new LogIndex();
    LogScanner.Scan scan = LogScanner.scan(directories.all(), listing, directories::openExisting, codecs, index, true);
    NavigableMap<Long, SegmentFile> segments = new ConcurrentSkipListMap<>();
    boolean success = false;
    try {
      Map<Path, LogScanner.Segment> byFile = new HashMap<>();
      scan.segments().forEach(s -> byFile.put(s.file(), s));
      List<Cut> cuts = new ArrayList<>();
      Set<Path> deleted = new HashSet<>();
      for (Finding f : scan.findings()) {
        Cut cut = repair(f, byFile.get(f.file()));
        if (cut != null) {
          cuts.add(cut);
          if (cut.fileDeleted()) {
            deleted.add(cut.file());
          }
        }
      }
      SegmentFile active = null;
      for (LogScanner.Segment s : scan.segments()) {
        if (s.channel() == null) {
          continue; // shorter than a header: no record to read
        }
        SegmentScanner.Result r = s.result();
        long size = r.tornTail() != null ? r.tornTail().offset() : r.size();
        SegmentFile segment = new SegmentFile(s.id(), s.file(), s.channel(), size);
        segments.put(s.id(), segment);
        // Appends continue only in the newest file, written by this format, ending on a record boundary.
        if (s.id() == listing.highestId() && r.appendable() && r.header().version() == FORMAT_VERSION
            && size < segmentSize) {
          active = segment;
        }
      }
      long highest = scan.retired().highest();
      for (Map.Entry<Long, List<Path>> e : listing.segments().entrySet()) {
        if (!deleted.contains(e.getValue().getFirst())) {
          highest = Math.max(highest, e.getKey());
        }
      }
      long live = index.keys() - index.tombstones();
      RecoveryReport report = new RecoveryReport(segments.size(), scan.records(), live, scan.maxSequence() + 1,
          corruptions(scan.findings()), truncations(scan.findings()), scan.findings(), cuts);
      success = true;
      // A deleted newest file held no record: its id is given out again, so no gap is left behind.
      return new State(segments, index, active, highest + 1, scan.maxSequence() + 1, scan.retired(), report);
    } finally {
      if (!success) {
        for (LogScanner.Segment s : scan.segments()) {
          if (s.channel() != null) {
            s.channel().close();
          }
        }
      }
    }
  }

  /** Applies the repair {@code f} calls for, if any; returns what was cut. */
  static Cut repair(Finding f, LogScanner.Segment segment) throws IOException {
    if (f.severity() != Finding.Severity.REPAIRABLE) {
      return null;
    }
    return switch (f.kind()) {
      case TORN_TAIL -> {
        segment.channel().truncate(f.offset());
        segment.channel().force(true);
        yield new Cut(f.file(), f.offset(), f.bytes(), false, "torn tail: " + f.reason());
      }
      case FILE_TOO_SHORT, RETIRED_SEGMENT_PRESENT -> {
        Files.delete(f.file());
        TierDirectories.syncDirectory(f.file().getParent());
        yield new Cut(f.file(), 0, f.bytes(), true, (f.kind() == Finding.Kind.FILE_TOO_SHORT
            ? "file shorter than its header: " : "retired segment left behind: ") + f.reason());
      }
      default -> throw new IllegalStateException("no repair for " + f);
    };
  }

  /** The findings of damage left in place, as the report's corruptions (a missing file has no bytes to skip). */
  private static List<RecoveryReport.Corruption> corruptions(List<Finding> findings) {
    List<RecoveryReport.Corruption> out = new ArrayList<>();
    for (Finding f : findings) {
      if (f.severity() == Finding.Severity.DAMAGE && f.kind() != Finding.Kind.MISSING_SEGMENT) {
        out.add(new RecoveryReport.Corruption(f.file(), f.offset(), f.bytes(), f.reason()));
      }
    }
    return out;
  }

  private static List<RecoveryReport.TornTail> truncations(List<Finding> findings) {
    List<RecoveryReport.TornTail> out = new ArrayList<>();
    for (Finding f : findings) {
      if (f.kind() == Finding.Kind.TORN_TAIL
          || (f.kind() == Finding.Kind.FILE_TOO_SHORT && f.severity() == Finding.Severity.REPAIRABLE)) {
        out.add(new RecoveryReport.TornTail(f.file(), f.offset(), f.bytes(), f.reason()));
      }
    }
    return out;
  }
}
