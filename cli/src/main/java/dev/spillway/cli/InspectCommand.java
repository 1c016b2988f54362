package dev.spillway.cli;

import dev.spillway.config.Sizes;
import dev.spillway.config.SpillwaySettings;
import dev.spillway.codec.Codecs;
import dev.spillway.core.tier.Cut;
import dev.spillway.core.tier.Finding;
import dev.spillway.core.tier.InspectionReport;
import dev.spillway.core.tier.LogInspector;
import dev.spillway.core.tier.RepairReport;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * {@code inspect [--repair] <dir>...}: checks a segment log and prints a summary line, one line per
 * finding (severity, kind, file, offset, bytes, reason) and a verdict line. Inspection only reads: it
 * opens files read-only, creates nothing, takes no lock, so it works on a read-only copy and never
 * changes what it inspects. {@code --repair} then makes the cuts opening the log would make, under the
 * log's lock (a log a running process holds is refused). Several directories are one log striped over
 * them; a Spillway tier directory whose segments are in its {@code spill} subdirectory is accepted.
 * Exit status: 0 when nothing is wrong (notes allowed), 1 when anything is (after {@code --repair}:
 * when damage repair cannot undo remains), 2 for wrong arguments.
 */
final class InspectCommand {
  static final String HELP = """
      usage: spillway inspect [--repair] <dir>...
             spillway inspect [--verify] <map dir or snapshot>
        Checks a segment log without changing it: every record of every segment file (checksums
        included), missing segments, files a crash left behind. Several directories are one log
        striped over them: give all of them. A tier directory whose segments are in its spill
        subdirectory is accepted.
        A durable map's directory (map-*.spm, index-*.spi) is checked record by record and replayed:
        live entries and bytes, each checkpoint, what a reopen would cut.
        --verify  a snapshot's MANIFEST: every file's size and SHA-256 (checked for any snapshot;
                  with --verify a directory without a manifest is an error)
        --repair  then cut what a crash left, exactly as opening the log would: a torn tail of the
                  newest segment, a newest file shorter than its header, segments compaction retired
                  but did not get to delete. Takes the log's lock. Corrupt records in the middle of a
                  file stay (recovery skips them; their keys are lost).
        --help    print this text
      exit status: 0 nothing wrong (notes allowed); 1 something wrong (with --repair: damage that
      repair cannot undo remains); 2 wrong arguments""";

  private final PrintStream out;
  private final PrintStream err;

  InspectCommand(PrintStream out, PrintStream err) {
    this.out = out;
    this.err = err;
  }

  /** Runs {@code inspect} with the arguments after the command word; returns the exit status. */
  int run(String[] args) {
    boolean repair = false;
    boolean verify = false;
    List<String> names = new ArrayList<>();
    for (String a : args) {
      switch (a) {
        case "--repair" -> repair = true;
        case "--verify" -> verify = true;
        case "--help", "-h" -> {
          out.println(HELP);
          return 0;
        }
        default -> {
          if (a.startsWith("-")) {
            return usage("unknown option '" + a + "'");
          }
          names.add(a);
        }
      }
    }
    if (names.isEmpty()) {
      return usage("inspect needs at least one directory");
    }
    try {
      if (names.size() == 1 && dev.spillway.core.tier.MapLogInspector.isMapDirectory(Path.of(names.getFirst()))) {
        if (repair) {
          return usage("--repair is for spill logs: a durable map repairs itself when it is opened");
        }
        return inspectMap(Path.of(names.getFirst()), verify);
      }
    } catch (IOException e) {
      throw new CommandException("inspect: " + e.getMessage(), e);
    }
    if (verify) {
      return usage("--verify checks a snapshot of a durable map; " + String.join(" ", names) + " is not one");
    }
    List<Path> dirs;
    try {
      dirs = segmentDirectories(names);
    } catch (IllegalArgumentException e) {
      return usage(e.getMessage());
    }
    Codecs codecs = Codecs.from(SpillwaySettings.defaults().codec());
    try {
      InspectionReport report = LogInspector.inspect(dirs, codecs);
      print(report);
      if (!repair) {
        out.println("verdict: " + verdict(report, dirs));
        return report.healthy() ? 0 : 1;
      }
      RepairReport repaired = LogInspector.repair(dirs, codecs);
      if (repaired.cuts().isEmpty()) {
        out.println("repair: nothing to cut");
      }
      for (Cut c : repaired.cuts()) {
        out.println("repair: " + c);
      }
      InspectionReport after = repaired.after();
      out.println("verdict after repair: " + (after.healthy() ? "OK, nothing wrong is left"
          : verdict(after, dirs)));
      return after.healthy() ? 0 : 1;
    } catch (IOException e) {
      throw new CommandException("inspect: " + e.getMessage(), e);
    }
  }

  private int inspectMap(Path dir, boolean verify) {
    Codecs codecs = Codecs.from(SpillwaySettings.defaults().codec());
    dev.spillway.core.tier.MapLogInspector.Report r;
    try {
      r = dev.spillway.core.tier.MapLogInspector.inspect(dir, codecs);
    } catch (IOException e) {
      throw new CommandException("inspect: " + e.getMessage(), e);
    }
    out.printf(Locale.ROOT, "map %s%s: %d segments, %s on disk; %d records (%d entries, %d removes); %d live entries,"
            + " %s of live records%n", r.directory(), r.snapshot() ? " (snapshot)" : "", r.segments(),
        Sizes.format(r.diskBytes()), r.records(), r.entries(), r.removes(), r.liveEntries(), Sizes.format(r.liveBytes()));
    for (String c : r.checkpoints()) {
      out.println("checkpoint " + c);
    }
    if (r.snapshot()) {
      out.println("manifest: " + (r.damage().stream().anyMatch(d -> d.startsWith("manifest:"))
          ? "DOES NOT MATCH (see below)" : "every file's size and SHA-256 match"));
    } else if (verify) {
      out.println("verdict: no MANIFEST: " + dir + " is a map directory, not a snapshot");
      return 1;
    }
    for (String n : r.repairable()) {
      out.println("note: " + n);
    }
    for (String d : r.damage()) {
      out.println("DAMAGE: " + d);
    }
    out.println("verdict: " + (r.healthy() ? "OK" + (r.repairable().isEmpty() ? "" : " (the next open cuts what a crash"
        + " left)") : r.damage().size() + " problems: nothing wrong is ever returned as data, but what is listed is lost"
        + " or changed"));
    return r.healthy() ? 0 : 1;
  }

  /**
   * The directories to inspect: each must exist; one without a log whose {@code spill} subdirectory
   * has one (a tier directory) stands for that subdirectory; at least one must hold a log, that is
   * segment files or the lock file of a log that has not written any yet (a striped log's other
   * directories may still be empty).
   */
  private static List<Path> segmentDirectories(List<String> names) {
    List<Path> dirs = new ArrayList<>();
    boolean any = false;
    for (String name : names) {
      Path dir = Path.of(name).toAbsolutePath().normalize();
      if (!Files.isDirectory(dir)) {
        throw new IllegalArgumentException(dir + " is not a directory" + (Files.exists(dir) ? "" : " (it does not exist)"));
      }
      if (!hasSegments(dir) && hasSegments(dir.resolve("spill"))) {
        dir = dir.resolve("spill");
      }
      if (dirs.contains(dir)) {
        throw new IllegalArgumentException(dir + " is given twice");
      }
      any |= hasSegments(dir);
      dirs.add(dir);
    }
    if (!any) {
      throw new IllegalArgumentException(dirs.stream().map(Path::toString).collect(Collectors.joining(", "))
          + (dirs.size() == 1 ? " holds" : " hold") + " no segment log (no seg-<16 hex digits>.spw files, no .lock)");
    }
    return dirs;
  }

  /** Whether {@code dir} holds a log: segment files, or the lock file of a log that never wrote one. */
  private static boolean hasSegments(Path dir) {
    if (!Files.isDirectory(dir)) {
      return false;
    }
    try (Stream<Path> files = Files.list(dir)) {
      return files.anyMatch(f -> f.getFileName().toString().matches("seg-[0-9a-f]{16}\\.spw|\\.lock"));
    } catch (IOException e) {
      return false;
    }
  }

  private void print(InspectionReport r) {
    out.printf(Locale.ROOT, "summary: %d segments, %s (%d bytes), %d records, %d live keys, %d tombstones,"
            + " live fraction %.1f %%%n", r.segments().size(), Sizes.format(r.bytes()), r.bytes(), r.records(),
        r.liveKeys(), r.tombstones(), 100 * r.liveFraction());
    for (Finding f : r.findings()) {
      out.printf(Locale.ROOT, "%-10s %s%n", f.severity().name().toLowerCase(Locale.ROOT), f);
    }
  }

  private static String verdict(InspectionReport r, List<Path> dirs) {
    long notes = r.findings().stream().filter(Finding::isNote).count();
    if (r.healthy()) {
      return "OK, nothing wrong" + (notes == 0 ? "" : " (" + notes + (notes == 1 ? " note)" : " notes)"));
    }
    long damage = r.findings().stream().filter(f -> f.severity() == Finding.Severity.DAMAGE).count();
    long repairable = r.findings().stream().filter(f -> f.severity() == Finding.Severity.REPAIRABLE).count();
    String cut = repairable + (repairable == 1 ? " finding" : " findings") + " left by a crash, which"
        + " `spillway inspect --repair " + dirs.stream().map(Path::toString).collect(Collectors.joining(" "))
        + "` (or opening the log) cuts without losing an acknowledged record";
    if (damage == 0) {
      return "REPAIRABLE: " + cut;
    }
    String kinds = r.findings().stream().filter(f -> f.severity() == Finding.Severity.DAMAGE)
        .collect(Collectors.groupingBy(Finding::kind, java.util.TreeMap::new, Collectors.counting()))
        .entrySet().stream().map(e -> e.getValue() + " " + e.getKey()).collect(Collectors.joining(", "));
    return "DAMAGED: " + damage + (damage == 1 ? " finding" : " findings") + " that repair cannot undo (" + kinds
        + "): damage stays in place (recovery skips it; the keys whose only record was there are lost)"
        + (repairable == 0 ? "" : "; and " + cut);
  }

  private int usage(String problem) {
    err.println("spillway: inspect: " + problem);
    err.println(HELP);
    return 2;
  }
}
