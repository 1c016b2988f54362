package dev.spillway.cli;

import dev.spillway.config.Sizes;
import dev.spillway.config.SpillwaySettings;
import dev.spillway.core.codec.Codecs;
import dev.spillway.core.tier.RecoveryReport;
import dev.spillway.core.tier.SegmentLog;
import dev.spillway.core.tier.TierStats;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * {@code inspect <dir>}: opens a segment directory as recovery does (every checksum verified; a
 * torn tail left by a crash is truncated, as the next open would), and reports segments, records,
 * live fraction and every corrupt record with its file and offset. A Spillway tier directory is
 * accepted too: its segments are in its {@code spill} subdirectory. The directory is locked while it
 * is inspected, so a log in use by a running Spillway is refused, not disturbed.
 */
final class InspectCommand {
  static final String HELP = """
      usage: spillway inspect <dir>
        Checks a segment directory (or a tier directory with a spill subdirectory).""";

  private final PrintStream out;

  InspectCommand(PrintStream out) {
    this.out = out;
  }

  int run(String[] words) throws Exception {
    Options o = Options.parse("inspect", words, java.util.Set.of(), java.util.Set.of());
    if (o.has("--help")) {
      out.println(HELP);
      return 0;
    }
    if (o.arguments().size() != 1) {
      throw new Options.UsageException("inspect takes one argument, a directory; got " + o.arguments().size());
    }
    return run(o.arguments().getFirst());
  }

  /** Returns the exit code: 0 for a clean log, 1 when corruption was found. */
  int run(String argument) throws IOException {
    Path dir = Path.of(argument).toAbsolutePath().normalize();
    if (!Files.isDirectory(dir)) {
      throw new CommandException("inspect: " + dir + " is not a directory" + (Files.exists(dir) ? "" : " (it does not exist)"));
    }
    if (!hasSegments(dir) && hasSegments(dir.resolve("spill"))) {
      dir = dir.resolve("spill");
    }
    if (!hasSegments(dir)) {
      throw new CommandException("inspect: " + dir + " holds no segment files (seg-<16 hex digits>.spw)");
    }
    SpillwaySettings d = SpillwaySettings.defaults();
    try (SegmentLog log = SegmentLog.open(d.tier().withDirectories(List.of(dir)), Codecs.from(d.codec()))) {
      RecoveryReport report = log.recoveryReport();
      TierStats stats = log.stats();
      out.printf(Locale.ROOT, "%s: %d segments, %s on disk, %d records scanned, %d live keys, %d tombstones%n", dir,
          report.segments(), Sizes.format(stats.bytesOnDisk()), report.records(), report.liveKeys(), stats.tombstones());
      out.printf(Locale.ROOT, "live bytes %s (%.1f %% of the bytes on disk)%n", Sizes.format(stats.liveBytes()),
          stats.bytesOnDisk() == 0 ? 0.0 : 100.0 * stats.liveBytes() / stats.bytesOnDisk());
      for (RecoveryReport.Corruption c : report.corrupt()) {
        out.printf(Locale.ROOT, "CORRUPT %s at offset %d (%d bytes skipped): %s%n", c.file(), c.offset(), c.skippedBytes(),
            c.reason());
      }
      for (RecoveryReport.TornTail t : report.truncated()) {
        out.printf(Locale.ROOT, "TORN TAIL %s at offset %d (%d bytes cut): %s%n", t.file(), t.offset(), t.bytes(),
            t.reason());
      }
      out.println(report.corrupt().isEmpty() ? "no corrupt records" : report.corrupt().size() + " corrupt record(s)");
      return report.corrupt().isEmpty() ? 0 : 1;
    }
  }

  private static boolean hasSegments(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return false;
    }
    try (Stream<Path> files = Files.list(dir)) {
      return files.anyMatch(f -> f.getFileName().toString().matches("seg-[0-9a-f]{16}\\.spw"));
    }
  }
}
