package dev.spillway.cli;

import dev.spillway.config.Sizes;
import dev.spillway.core.tier.MapSnapshot;
import dev.spillway.map.SnapshotInfo;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** {@code ls DIR} and {@code snapshot DIR DEST} (and {@code snapshot --restore SNAPSHOT DIR}) over a durable map. */
final class MapCommands {
  static final String LS_HELP = """
      usage: spillway ls <dir> [--budget SIZE]
        Lists the paths stored in the durable map in <dir> (by spillway ingest --into), sorted: kind, mode,
        size and path; then the totals. A snapshot directory is listed without being changed.""";

  static final String SNAPSHOT_HELP = """
      usage: spillway snapshot <dir> <dest>
             spillway snapshot --restore <snapshot> <dir>
        Takes a point-in-time copy of the durable map in <dir> into <dest> (a new or empty directory): an
        index checkpoint, the log up to it (sealed segments hard-linked where the file system allows) and
        a MANIFEST with the size and SHA-256 of every file. `spillway inspect --verify <dest>` checks it;
        --restore checks it and copies it into a new directory that opens as an ordinary map.""";

  private final PrintStream out;

  MapCommands(PrintStream out) {
    this.out = out;
  }

  int ls(Options o) throws Exception {
    if (o.arguments().size() != 1) {
      throw new Options.UsageException("ls takes one map directory, got " + (o.arguments().isEmpty() ? "none"
          : String.join(" ", o.arguments())));
    }
    try (MapDirectory m = MapDirectory.open(o.arguments().getFirst(), false, o.value("--budget", null), null)) {
      List<String> keys = new ArrayList<>();
      for (String k : m.map.keySet()) {
        if (!TreeEntry.isChunkKey(k)) {
          keys.add(k);
        }
      }
      keys.sort(null);
      long bytes = 0;
      int foreign = 0;
      for (String k : keys) {
        byte[] v = m.map.get(k);
        if (v == null) {
          continue; // removed meanwhile
        }
        try {
          TreeEntry e = TreeEntry.decode(k, v);
          bytes += e.kind() == TreeEntry.Kind.LINK ? 0 : e.size();
          String kind = switch (e.kind()) {
            case DIRECTORY -> "d";
            case LINK -> "l";
            default -> "-";
          };
          out.printf(Locale.ROOT, "%s %04o %12d  %s%s%n", kind, e.mode(), e.size(), k,
              e.kind() == TreeEntry.Kind.LINK ? " -> " + new String(e.payload(), java.nio.charset.StandardCharsets.UTF_8)
                  : "");
        } catch (IllegalArgumentException notATree) {
          foreign++;
          out.printf(Locale.ROOT, "? %4s %12d  %s%n", "", v.length, k);
        }
      }
      out.printf(Locale.ROOT, "%d paths, %s%s%s%n", keys.size(), Sizes.format(bytes),
          foreign == 0 ? "" : "; " + foreign + " values not written by spillway ingest (shown with ?)",
          m.snapshot ? " (a snapshot)" : "");
      return 0;
    }
  }

  int snapshot(Options o) throws Exception {
    if (o.arguments().size() != 2) {
      throw new Options.UsageException("snapshot takes two directories, got " + o.arguments().size());
    }
    Path first = Path.of(o.arguments().get(0)).toAbsolutePath().normalize();
    Path second = Path.of(o.arguments().get(1)).toAbsolutePath().normalize();
    if (o.has("--restore")) {
      try {
        MapSnapshot.restore(first, second);
      } catch (java.io.IOException e) {
        throw new CommandException("snapshot --restore: " + e.getMessage(), e);
      }
      out.println("snapshot: restored " + first + " into " + second + " (its manifest checked first)");
      return 0;
    }
    try (MapDirectory m = MapDirectory.open(first.toString(), false, null, null)) {
      if (m.snapshot) {
        throw new CommandException("snapshot: " + first + " is a snapshot already; copy it, or restore it with --restore");
      }
      SnapshotInfo info = m.map.snapshot(second);
      out.printf(Locale.ROOT, "snapshot: %s -> %s: %d files (%d hard-linked), %s, and a MANIFEST with their SHA-256%n",
          first, info.directory(), info.files(), info.linked(), Sizes.format(info.bytes()));
      return 0;
    }
  }
}
