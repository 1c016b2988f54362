package dev.spillway.core.tier;

import dev.spillway.codec.Codecs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;

/**
 * Checks a segment log without changing it, and repairs it on request. {@link #inspect} opens every
 * file for reading only, creates nothing (no lock file, no probe), takes no lock, and so works on a
 * read-only copy and beside a running owner (it then sees the files as they were when it read them).
 * It classifies every byte of every segment with the scanner recovery uses, so what it reports is what
 * the next open would find. {@link #repair} is the separate, explicit operation: it takes the
 * directories' locks (refusing a log a live process holds) and makes exactly the cuts recovery makes
 * when a log is opened, no others. Stateless.
 */
public final class LogInspector {
  private LogInspector() {}

  /**
   * Inspects the log whose segments are in {@code directories} (several for a striped log: give all of
   * them, or missing segments are not looked for). Changes nothing.
   *
   * @throws IOException when a directory is missing or a file cannot be read
   */
  public static InspectionReport inspect(List<Path> directories, Codecs codecs) throws IOException {
    return inspect(directories, codecs, FileOpener.FILES);
  }

  /** {@link #inspect}, opening files through {@code opener}. */
  static InspectionReport inspect(List<Path> directories, Codecs codecs, FileOpener opener) throws IOException {
    List<Path> dirs = existing(directories);
    LogIndex index = new LogIndex();
    LogScanner.Scan scan = LogScanner.scan(dirs, LogScanner.list(dirs),
        file -> opener.open(file, EnumSet.of(StandardOpenOption.READ)), codecs, index, false);
    List<InspectionReport.SegmentSummary> segments = new ArrayList<>();
    long bytes = 0;
    for (LogScanner.Segment s : scan.segments()) {
      RecordFormat.FileHeader h = s.result().header();
      segments.add(new InspectionReport.SegmentSummary(s.id(), s.file(), s.result().size(), s.result().records(),
          h == null ? 0 : h.version(), h == null ? 0 : h.stripes()));
      bytes += s.result().size();
    }
    long tombstones = index.tombstones();
    return new InspectionReport(dirs, segments, bytes, scan.records(), index.keys() - tombstones, tombstones,
        index.liveBytes(), scan.findings());
  }

  /**
   * Repairs the log in {@code directories} (all of its directories): with every directory's lock held,
   * truncates a torn tail of the newest segment, deletes a newest file shorter than its header and
   * deletes retired segments left behind, exactly as opening the log would. Damage in the middle of a
   * file stays: recovery skips those records, and their keys are lost.
   *
   * @throws IOException when a live process holds a directory's lock, when fewer directories are given
   *     than the log is striped over, or when a file cannot be read or changed
   */
  public static RepairReport repair(List<Path> directories, Codecs codecs) throws IOException {
    List<Path> dirs = existing(directories);
    InspectionReport before = inspect(dirs, codecs);
    int stripes = before.segments().stream().mapToInt(InspectionReport.SegmentSummary::stripes).max().orElse(0);
    if (stripes > dirs.size()) {
      throw new IOException("cannot repair " + dirs + ": the file headers say the log is striped over " + stripes
          + " directories but " + dirs.size() + " were given, and which segment is the newest (the only one a"
          + " torn tail is cut from) depends on all of them. Fix: repair all " + stripes + " directories together");
    }
    List<DirectoryLock> locks = new ArrayList<>();
    try {
      for (Path dir : dirs) {
        locks.add(lock(dir));
      }
      TierDirectories tier = TierDirectories.open(dirs, ChannelOpener.FILES);
      // The segment size only decides whether the newest segment could take more appends; none follow.
      Recovery.State state = Recovery.run(tier, codecs, Long.MAX_VALUE);
      for (SegmentFile s : state.segments().values()) {
        s.close(); // recovery forced what it truncated; nothing else was written
      }
      return new RepairReport(before, state.report().cuts(), inspect(dirs, codecs));
    } finally {
      for (DirectoryLock lock : locks) {
        lock.close();
      }
    }
  }

  private static DirectoryLock lock(Path dir) throws IOException {
    java.util.Optional<DirectoryLock> lock = DirectoryLock.tryAcquire(dir, /* create= */ true);
    if (lock.isEmpty()) {
      throw new IOException("cannot repair " + dir + ": a running process has this log open; " + DirectoryLock.holder(dir)
          + " holds its lock " + dir.resolve(DirectoryLock.FILE_NAME) + ". Fix: stop that process and repair"
          + " again, or let it be: opening a log makes the same repairs");
    }
    return lock.get();
  }

  private static List<Path> existing(List<Path> directories) throws IOException {
    if (directories.isEmpty()) {
      throw new IllegalArgumentException("no directory given");
    }
    List<Path> out = new ArrayList<>();
    for (Path dir : directories) {
      Path abs = dir.toAbsolutePath().normalize();
      if (!Files.isDirectory(abs)) {
        throw new IOException(abs + " is not a directory" + (Files.exists(abs) ? "" : " (it does not exist)"));
      }
      if (out.contains(abs)) {
        throw new IllegalArgumentException(abs + " is given twice");
      }
      out.add(abs);
    }
    return out;
  }
}
