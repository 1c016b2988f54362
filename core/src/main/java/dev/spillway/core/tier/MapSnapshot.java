package dev.spillway.core.tier;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Snapshots of a durable map: a directory holding the log up to one point (sealed segments hard-linked
 * where the file system allows, copied otherwise; the active segment copied up to that point), an
 * index checkpoint, and a {@code MANIFEST} naming every file with its size and SHA-256, itself closed
 * by the SHA-256 of its own lines. Replaying the snapshot gives exactly the map's state at that point.
 *
 * <pre>
 * spillway-map-snapshot 1
 * map &lt;name&gt;
 * created &lt;epoch millis&gt;
 * end &lt;location, 16 hex digits&gt;
 * file &lt;name&gt; &lt;size&gt; &lt;sha-256, 64 hex digits&gt;      (one line per file)
 * manifest-sha256 &lt;sha-256 of every byte above this line&gt;
 * </pre>
 */
public final class MapSnapshot {
  static final String HEADER = "spillway-map-snapshot 1";

  private MapSnapshot() {}

  /** What a snapshot holds. */
  public record Result(Path directory, long end, Map<String, Long> files, int linked) {
    public long bytes() {
      return files.values().stream().mapToLong(Long::longValue).sum();
    }
  }

  /** A file of the manifest. */
  record Entry(String name, long size, String sha256) {}

  /**
   * Takes a snapshot of {@code log} into {@code dest} (created 0700; if it exists it must be an empty
   * directory). The caller holds the log's maintenance lock and has just written {@code checkpoint}.
   */
  static Result take(MapLog log, String name, Path dest, long end, Path checkpoint) throws IOException {
    Path dir = dest.toAbsolutePath();
    if (Files.exists(dir)) {
      if (!Files.isDirectory(dir)) {
        throw new IOException("snapshot destination " + dir + " exists and is not a directory. Fix: name a new"
            + " directory");
      }
      try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
        if (s.iterator().hasNext()) {
          throw new IOException("snapshot destination " + dir + " is not empty. Fix: name a new or empty directory");
        }
      }
    }
    OwnedDirectory.prepare(dir, "the snapshot destination");
    Map<String, Long> files = new LinkedHashMap<>();
    int linked = 0;
    long endSegment = MapLogFormat.segmentOf(end);
    for (MapLog.Segment s : log.segmentsInOrder()) {
      long id = s.file.id;
      if (id > endSegment) {
        break;
      }
      Path target = dir.resolve(s.file.path.getFileName());
      long size = id == endSegment ? MapLogFormat.offsetOf(end) : s.file.size();
      if (id < endSegment && Files.size(s.file.path) == size && link(s.file.path, target)) {
        linked++;
      } else {
        copyPrefix(s.file.path, target, size);
      }
      files.put(target.getFileName().toString(), size);
    }
    Path cp = dir.resolve(checkpoint.getFileName());
    copyPrefix(checkpoint, cp, Files.size(checkpoint));
    files.put(cp.getFileName().toString(), Files.size(cp));
    List<Entry> entries = new ArrayList<>();
    for (Map.Entry<String, Long> f : files.entrySet()) {
      entries.add(new Entry(f.getKey(), f.getValue(), sha256(dir.resolve(f.getKey()))));
    }
    writeManifest(dir, name, end, entries);
    return new Result(dir, end, files, linked);
  }

  private static boolean link(Path source, Path target) {
    try {
      Files.createLink(target, source);
      return true;
    } catch (IOException | UnsupportedOperationException e) {
      return false; // another file system, or no hard links: copied instead
    }
  }

  private static void copyPrefix(Path source, Path target, long size) throws IOException {
    try (FileChannel in = FileChannel.open(source, StandardOpenOption.READ);
        FileChannel out = TierDirectories.createFile(target)) {
      long at = 0;
      while (at < size) {
        long n = in.transferTo(at, size - at, out);
        if (n <= 0) {
          throw new IOException(source + " ended at " + at + " bytes, before the " + size + " the snapshot takes");
        }
        at += n;
      }
      out.force(true);
    }
  }

  private static void writeManifest(Path dir, String name, long end, List<Entry> entries) throws IOException {
    StringBuilder b = new StringBuilder();
    b.append(HEADER).append('\n');
    b.append("map ").append(name).append('\n');
    b.append("created ").append(System.currentTimeMillis()).append('\n');
    b.append("end ").append(String.format("%016x", end)).append('\n');
    for (Entry e : entries) {
      b.append("file ").append(e.name()).append(' ').append(e.size()).append(' ').append(e.sha256()).append('\n');
    }
    String body = b.toString();
    String text = body + "manifest-sha256 " + sha256(body.getBytes(StandardCharsets.UTF_8)) + "\n";
    Path tmp = dir.resolve(MapLogFormat.MANIFEST + ".tmp");
    try (FileChannel ch = TierDirectories.createFile(tmp)) {
      ByteBuffer bytes = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
      while (bytes.hasRemaining()) {
        ch.write(bytes, bytes.position());
      }
      ch.force(true);
    }
    Files.move(tmp, dir.resolve(MapLogFormat.MANIFEST), StandardCopyOption.ATOMIC_MOVE);
    TierDirectories.syncDirectory(dir);
  }

  /**
   * Checks the snapshot in {@code dir} against its manifest without changing anything: the manifest's
   * own checksum, then every file listed (present, its size, its SHA-256), and no file besides them.
   * Returns what is wrong, one line each; empty when the snapshot is whole.
   */
  public static List<String> verify(Path dir) throws IOException {
    List<String> problems = new ArrayList<>();
    List<Entry> entries = readManifest(dir, problems);
    if (entries == null) {
      return problems;
    }
    for (Entry e : entries) {
      Path f = dir.resolve(e.name());
      if (!Files.isRegularFile(f)) {
        problems.add(e.name() + ": missing (the manifest lists " + e.size() + " bytes)");
        continue;
      }
      long size = Files.size(f);
      if (size != e.size()) {
        problems.add(e.name() + ": " + size + " bytes, the manifest says " + e.size());
        continue;
      }
      String sha = sha256(f);
      if (!sha.equals(e.sha256())) {
        problems.add(e.name() + ": SHA-256 " + sha + " does not match the manifest's " + e.sha256()
            + " (changed since the snapshot was taken)");
      }
    }
    try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
      for (Path f : s) {
        String n = f.getFileName().toString();
        if (!n.equals(MapLogFormat.MANIFEST) && !n.equals(DirectoryLock.FILE_NAME)
            && entries.stream().noneMatch(e -> e.name().equals(n))) {
          problems.add(n + ": not listed in the manifest");
        }
      }
    }
    return problems;
  }

  /** Whether {@code dir} holds a snapshot manifest. */
  public static boolean isSnapshot(Path dir) {
    return Files.isRegularFile(dir.resolve(MapLogFormat.MANIFEST));
  }

  /**
   * Copies the snapshot in {@code snapshot} into {@code target} (a new or empty directory, made 0700),
   * after {@link #verify} found it whole; the copy is then an ordinary map directory.
   *
   * @throws IOException listing what is wrong with the snapshot, or with the target
   */
  public static void restore(Path snapshot, Path target) throws IOException {
    List<String> problems = verify(snapshot);
    if (!problems.isEmpty()) {
      throw new IOException("snapshot " + snapshot + " fails its manifest, nothing restored: "
          + String.join("; ", problems));
    }
    Path dir = target.toAbsolutePath();
    if (Files.exists(dir)) {
      try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
        if (s.iterator().hasNext()) {
          throw new IOException("restore target " + dir + " is not empty. Fix: name a new or empty directory");
        }
      }
    }
    OwnedDirectory.prepare(dir, "the restore target");
    for (Entry e : readManifest(snapshot, new ArrayList<>())) {
      copyPrefix(snapshot.resolve(e.name()), dir.resolve(e.name()), e.size());
    }
    TierDirectories.syncDirectory(dir);
  }

  /** The manifest's entries, or null (with the reasons in {@code problems}) when it cannot be trusted. */
  static List<Entry> readManifest(Path dir, List<String> problems) throws IOException {
    Path file = dir.resolve(MapLogFormat.MANIFEST);
    if (!Files.isRegularFile(file)) {
      problems.add(MapLogFormat.MANIFEST + ": missing: " + dir + " is not a snapshot");
      return null;
    }
    if (Files.size(file) > 1 << 20) {
      problems.add(MapLogFormat.MANIFEST + ": " + Files.size(file) + " bytes, more than a manifest holds (1 MiB)");
      return null;
    }
    String text = Files.readString(file, StandardCharsets.UTF_8);
    int last = text.lastIndexOf("manifest-sha256 ");
    if (!text.startsWith(HEADER + "\n") || last < 0 || !text.endsWith("\n")) {
      problems.add(MapLogFormat.MANIFEST + ": not a snapshot manifest of this version (it must start with \""
          + HEADER + "\" and end with its manifest-sha256 line)");
      return null;
    }
    String body = text.substring(0, last);
    String stated = text.substring(last + "manifest-sha256 ".length()).trim();
    if (!stated.equals(sha256(body.getBytes(StandardCharsets.UTF_8)))) {
      problems.add(MapLogFormat.MANIFEST + ": its own SHA-256 does not match: the manifest was changed");
      return null;
    }
    List<Entry> entries = new ArrayList<>();
    for (String line : body.split("\n", -1)) {
      if (!line.startsWith("file ")) {
        continue;
      }
      String[] p = line.split(" ", -1);
      if (p.length != 4 || !p[3].matches("[0-9a-f]{64}") || !p[2].matches("[0-9]{1,19}")
          || !(MapLogFormat.parseFileName(p[1]) >= 0 || MapCheckpoint.parseFileName(p[1]) >= 0)) {
        problems.add(MapLogFormat.MANIFEST + ": a file line that is not \"file <segment or checkpoint name> <size>"
            + " <sha-256>\": " + line);
        return null;
      }
      entries.add(new Entry(p[1], Long.parseLong(p[2]), p[3]));
    }
    return entries;
  }

  static String sha256(Path file) throws IOException {
    MessageDigest d = digest();
    try (InputStream in = Files.newInputStream(file)) {
      byte[] buf = new byte[1 << 16];
      for (int n; (n = in.read(buf)) > 0; ) {
        d.update(buf, 0, n);
      }
    }
    return HexFormat.of().formatHex(d.digest());
  }

  static String sha256(byte[] bytes) {
    return HexFormat.of().formatHex(digest().digest(bytes));
  }

  private static MessageDigest digest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JDK", e);
    }
  }
}
