package dev.spillway.cli;

import dev.spillway.config.Sizes;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * {@code export DIR [KEY] --to PATH|-}: gives back what {@code ingest --into} stored. With a key, that
 * one path (a file's bytes to PATH or standard output). Without, the whole tree under the directory
 * PATH, read through the streams API ({@code Spillway#mapSource}, entries on NVMe read without being
 * brought into RAM): each key becomes the file at the same relative path, with its mode; links are
 * made last, as stored. A key that is absolute or climbs out of PATH, or a path whose parent is a
 * link, is refused and counted, never written through.
 */
final class TreeExport {
  private final PrintStream out;
  private final PrintStream err;

  TreeExport(PrintStream out, PrintStream err) {
    this.out = out;
    this.err = err;
  }

  int run(Options o) throws Exception {
    List<String> args = o.arguments();
    String to = o.value("--to", null);
    if (to == null) {
      throw new Options.UsageException("export: --to PATH (or --to - for standard output) is required");
    }
    try (MapDirectory m = MapDirectory.open(args.getFirst(), false, o.value("--budget", null), null)) {
      return args.size() == 2 ? one(m, args.get(1), to) : all(m, to);
    }
  }

  private int one(MapDirectory m, String key, String to) throws IOException {
    byte[] value = m.map.get(key);
    if (value == null || TreeEntry.isChunkKey(key)) {
      throw new CommandException("export: " + m.directory + " holds no key \"" + key + "\" (spillway ls " + m.directory
          + " lists the keys)");
    }
    TreeEntry e = TreeEntry.decode(key, value);
    PrintStream report = to.equals("-") ? err : out;
    if (e.kind() == TreeEntry.Kind.DIRECTORY || e.kind() == TreeEntry.Kind.LINK) {
      if (to.equals("-")) {
        throw new CommandException("export: \"" + key + "\" is a " + e.kind().name().toLowerCase(Locale.ROOT)
            + ", not a file: give --to a path");
      }
      Path target = Path.of(to);
      if (e.kind() == TreeEntry.Kind.LINK) {
        Files.createSymbolicLink(target, Path.of(new String(e.payload(), java.nio.charset.StandardCharsets.UTF_8)));
      } else {
        Files.createDirectories(target);
        setMode(target, e.mode());
      }
      report.println("export: " + key + " -> " + target);
      return 0;
    }
    try (OutputStream sink = to.equals("-") ? out : Files.newOutputStream(Path.of(to))) {
      if (e.kind() == TreeEntry.Kind.FILE) {
        sink.write(e.payload());
      } else {
        for (int i = 0; i < e.chunks(); i++) {
          byte[] chunk = m.map.get(TreeEntry.chunkKey(key, i));
          if (chunk == null) {
            throw new CommandException("export: chunk " + i + " of \"" + key + "\" is missing: the ingest of it did not"
                + " finish. Fix: ingest it again");
          }
          sink.write(chunk);
        }
      }
    }
    if (!to.equals("-")) {
      setMode(Path.of(to), e.mode());
    }
    report.println("export: " + key + " (" + Sizes.format(e.size()) + ") -> " + (to.equals("-") ? "standard output" : to));
    return 0;
  }

  private int all(MapDirectory m, String to) throws Exception {
    if (to.equals("-")) {
      throw new Options.UsageException("export: a whole tree goes to a directory (--to DIR); name a key to write one"
          + " file to standard output");
    }
    Path root = Path.of(to).toAbsolutePath().normalize();
    Files.createDirectories(root);
    Map<String, TreeEntry> heads = new LinkedHashMap<>();
    List<String> refused = new ArrayList<>();
    long[] bytes = {0};
    long start = System.nanoTime();
    m.spillway.mapSource(m.map).runForeach(entry -> {
      String key = entry.getKey();
      String path = TreeEntry.isChunkKey(key) ? key.substring(0, key.indexOf('\0')) : key;
      Path target = safe(root, path);
      if (target == null) {
        if (!TreeEntry.isChunkKey(key)) {
          refused.add(key);
        }
        return;
      }
      if (TreeEntry.isChunkKey(key)) {
        long index = Long.parseLong(key.substring(key.indexOf('\0') + 1));
        write(target, index * TreeEntry.CHUNK, entry.getValue());
        bytes[0] += entry.getValue().length;
        return;
      }
      TreeEntry e = TreeEntry.decode(key, entry.getValue());
      heads.put(path, e);
      if (e.kind() == TreeEntry.Kind.FILE) {
        write(target, 0, e.payload());
        truncate(target, e.size()); // a file left by an earlier export may be longer
        bytes[0] += e.size();
      } else if (e.kind() == TreeEntry.Kind.DIRECTORY) {
        Files.createDirectories(target);
      }
    }, m.spillway.system()).toCompletableFuture().get(7, TimeUnit.DAYS);
    int files = 0;
    int links = 0;
    List<String> incomplete = new ArrayList<>();
    for (Map.Entry<String, TreeEntry> h : heads.entrySet()) {
      Path target = root.resolve(h.getKey());
      TreeEntry e = h.getValue();
      switch (e.kind()) {
        case CHUNKED -> {
          if (e.size() == 0) {
            write(target, 0, new byte[0]);
          }
          if (Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS) && Files.size(target) > e.size()) {
            truncate(target, e.size());
          }
          if (!Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS) || Files.size(target) != e.size()) {
            incomplete.add(h.getKey());
          }
          files++;
        }
        case FILE -> files++;
        case LINK -> {
          Path link = Path.of(new String(e.payload(), java.nio.charset.StandardCharsets.UTF_8));
          if (Files.isSymbolicLink(target)) {
            Files.delete(target); // an earlier export's link: made again as stored
          }
          Files.createSymbolicLink(target, link);
          links++;
        }
        default -> { }
      }
    }
    // Modes last, deepest first: a directory made read-only is not written into afterwards.
    List<Map.Entry<String, TreeEntry>> byDepth = new ArrayList<>(heads.entrySet());
    byDepth.sort(Comparator.comparingInt((Map.Entry<String, TreeEntry> e) -> e.getKey().length()).reversed());
    for (Map.Entry<String, TreeEntry> h : byDepth) {
      if (h.getValue().kind() != TreeEntry.Kind.LINK) {
        setMode(root.resolve(h.getKey()), h.getValue().mode());
      }
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    out.printf(Locale.ROOT, "export: %d files, %d links, %s into %s in %.2f s%n", files, links, Sizes.format(bytes[0]),
        root, seconds);
    for (String k : refused) {
      err.println("export: refused key \"" + k.replace("\0", "\\0") + "\": absolute, climbing out of " + root
          + ", or under a link");
    }
    for (String k : incomplete) {
      err.println("export: \"" + k + "\" is incomplete (a chunk is missing: its ingest did not finish)");
    }
    return refused.isEmpty() && incomplete.isEmpty() ? 0 : 1;
  }

  /** {@code root/path} when {@code path} is a plain relative path whose existing parents are real directories. */
  static Path safe(Path root, String path) {
    if (path.isEmpty() || path.startsWith("/") || path.indexOf('\\') >= 0) {
      return null;
    }
    for (String name : path.split("/", -1)) {
      if (name.isEmpty() || name.equals(".") || name.equals("..")) {
        return null;
      }
    }
    Path target = root.resolve(path).normalize();
    if (!target.startsWith(root) || target.equals(root)) {
      return null;
    }
    for (Path p = target.getParent(); p != null && !p.equals(root); p = p.getParent()) {
      if (Files.isSymbolicLink(p) || (Files.exists(p, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(p,
          LinkOption.NOFOLLOW_LINKS))) {
        return null;
      }
    }
    return target;
  }

  private static void write(Path target, long at, byte[] bytes) throws IOException {
    Files.createDirectories(target.getParent());
    try (FileChannel ch = FileChannel.open(target, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        LinkOption.NOFOLLOW_LINKS)) {
      ByteBuffer b = ByteBuffer.wrap(bytes);
      long pos = at;
      while (b.hasRemaining()) {
        pos += ch.write(b, pos);
      }
    }
  }

  private static void truncate(Path target, long size) throws IOException {
    try (FileChannel ch = FileChannel.open(target, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
      ch.truncate(size);
    }
  }

  static void setMode(Path p, int mode) throws IOException {
    if (!p.getFileSystem().supportedFileAttributeViews().contains("posix")) {
      return;
    }
    Set<PosixFilePermission> perms = EnumSet.noneOf(PosixFilePermission.class);
    for (PosixFilePermission perm : PosixFilePermission.values()) {
      if ((mode & TreeEntry.bit(perm)) != 0) {
        perms.add(perm);
      }
    }
    Files.setPosixFilePermissions(p, perms);
  }
}
