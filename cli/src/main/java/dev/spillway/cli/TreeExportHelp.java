package dev.spillway.cli;

/** The help of {@code export}. */
final class TreeExportHelp {
  private TreeExportHelp() {}

  static final String HELP = """
      usage: spillway export <dir> [<key>] --to <path|->
        Gives back what `spillway ingest --into <dir>` stored. With a key: that path's bytes into <path>, or
        to standard output with --to -. Without: every path under the directory <path>, each file at the
        same relative path with its mode, links as they were stored; keys that are absolute or climb out
        of <path> are refused and counted (exit 1). Entries on NVMe are read through the streams API
        without being brought into RAM.
      options:
        --to PATH|-     where to (required)
        --budget SIZE   memory budget, e.g. 64MiB (sets spillway.control.budget)""";
}
