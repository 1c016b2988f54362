package dev.spillway.core.tier;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The directories of one log: created 0700 when missing, refused when another user owns them or others
 * may write them, and probed for writability at open ({@link OwnedDirectory}); segments
 * placed round-robin across them by segment id (striping), files created 0600. On a file system
 * without POSIX permissions the permission checks are skipped.
 */
final class TierDirectories {
  private static final Set<StandardOpenOption> CREATE =
      Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE);
  private static final Set<StandardOpenOption> OPEN = Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE);

  private final List<Path> directories;
  private final ChannelOpener opener;

  private TierDirectories(List<Path> directories, ChannelOpener opener) {
    this.directories = List.copyOf(directories);
    this.opener = opener;
  }

  /** Creates missing directories and checks that each is a writable directory. */
  static TierDirectories open(List<Path> directories, ChannelOpener opener) throws IOException {
    if (directories.isEmpty()) {
      throw new IllegalArgumentException("a segment log needs at least one directory: name them in"
          + " spillway.tier.directories (a private directory is made by BlockAllocator.open, not by the log)");
    }
    for (Path dir : directories) {
      prepare(dir.toAbsolutePath());
    }
    return new TierDirectories(directories.stream().map(Path::toAbsolutePath).toList(), opener);
  }

  private static void prepare(Path dir) throws IOException {
    OwnedDirectory.prepare(dir, "spillway.tier.directories");
  }

  private static boolean posix(Path path) {
    return path.getFileSystem().supportedFileAttributeViews().contains("posix");
  }

  List<Path> all() {
    return directories;
  }

  /** The directory that holds segment {@code id}: round-robin by id. */
  Path directoryFor(long id) {
    return directories.get((int) Long.remainderUnsigned(id, directories.size()));
  }

  /** Every segment file in every directory, by id; two files with one id fail naming both. */
  SortedMap<Long, Path> listSegments() throws IOException {
    TreeMap<Long, Path> out = new TreeMap<>();
    for (Path dir : directories) {
      try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
        for (Path file : files) {
          long id = SegmentDescriptor.parseFileName(file.getFileName().toString());
          if (id < 0 || !Files.isRegularFile(file)) {
            continue;
          }
          Path other = out.put(id, file);
          if (other != null) {
            throw new IOException("segment " + id + " exists twice: " + other + " and " + file
                + ". Fix: remove the stale copy (spillway.tier.directories must not share files)");
          }
        }
      }
    }
    return out;
  }

  /** Creates a new, empty segment file through this log's opener. */
  FileChannel create(Path file) throws IOException {
    return opener.create(file);
  }

  /** Opens an existing segment file through this log's opener. */
  FileChannel openExisting(Path file) throws IOException {
    return opener.openExisting(file);
  }

  /** Creates a new, empty segment file (0600). */
  static FileChannel createFile(Path file) throws IOException {
    if (posix(file.getParent())) {
      FileAttribute<?> mode = PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));
      return FileChannel.open(file, CREATE, mode);
    }
    return FileChannel.open(file, CREATE);
  }

  static FileChannel openFile(Path file) throws IOException {
    return FileChannel.open(file, OPEN);
  }

  /** Makes a created or deleted directory entry durable. */
  static void syncDirectory(Path dir) throws IOException {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException e) {
      // Some file systems refuse to open or sync a directory; the data itself was forced already.
      if (Files.isDirectory(dir)) {
        return;
      }
      throw e;
    }
  }
}
