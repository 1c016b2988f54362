package dev.spillway.core.tier;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An exclusive OS lock on a directory's {@code .lock} file, held for as long as one owner (a segment
 * log, a private spill directory) uses the directory. The lock is the operating system's
 * ({@code fcntl}), so it dies with its process however the process ends, and a directory whose lock
 * nobody holds belongs to nobody alive: that, not a guess from a process id, is how dead processes'
 * directories are told from live ones.
 *
 * <p>Within one JVM the locks held are also kept in a table by the lock file's identity (device and
 * inode). That is not bookkeeping for its own sake: POSIX releases every lock a process holds on a
 * file when the process closes <em>any</em> descriptor of that file, so merely opening and closing a
 * second channel on a lock file this JVM holds would silently drop the lock. Every look at a lock file
 * consults the table first and never opens a file this JVM already locks.
 *
 * <p>The holder's process id is written into the file after locking, for error messages only.
 */
public final class DirectoryLock implements AutoCloseable {
  /** The name of the lock file in a locked directory. */
  public static final String FILE_NAME = ".lock";

  /** Locks this JVM holds, by the lock file's {@link BasicFileAttributes#fileKey() file key}. */
  private static final Map<Object, DirectoryLock> HELD = new ConcurrentHashMap<>();

  private volatile Path directory;
  private final Object fileKey;
  private final FileChannel channel;
  private volatile boolean released;

  private DirectoryLock(Path directory, Object fileKey, FileChannel channel) {
    this.directory = directory;
    this.fileKey = fileKey;
    this.channel = channel;
  }

  /**
   * Locks {@code directory} (creating its {@code .lock}, 0600, when missing).
   *
   * @throws IOException naming the directory and who holds it when it is locked already, by this
   *     process or another
   */
  public static DirectoryLock acquire(Path directory) throws IOException {
    Optional<DirectoryLock> lock = tryAcquire(directory, /* create= */ true);
    if (lock.isEmpty()) {
      Path file = directory.resolve(FILE_NAME);
      throw new IOException("directory " + directory + " is already in use: " + holder(directory) + " holds its lock " + file
          + ". Fix: close the other user first, or give each its own directory");
    }
    return lock.get();
  }

  /**
   * Locks {@code directory} if nobody holds its lock; empty when somebody does (this JVM included).
   * Without {@code create}, a missing lock file is {@link NoSuchFileException}.
   */
  static Optional<DirectoryLock> tryAcquire(Path directory, boolean create) throws IOException {
    Path file = directory.resolve(FILE_NAME);
    if (heldHere(file)) {
      return Optional.empty();
    }
    FileChannel ch = create ? openCreating(file) : FileChannel.open(file, StandardOpenOption.WRITE,
        LinkOption.NOFOLLOW_LINKS);
    boolean kept = false;
    try {
      Object key = fileKey(file);
      FileLock lock;
      try {
        lock = ch.tryLock();
      } catch (OverlappingFileLockException e) {
        // Locked by this JVM through a path the table does not know (code outside this class). Closing
        // this channel would drop that lock at the OS level, so it is left open: a descriptor leaked on
        // misuse is better than a live directory that looks dead to every other process.
        kept = true;
        return Optional.empty();
      }
      if (lock == null) {
        return Optional.empty();
      }
      DirectoryLock held = new DirectoryLock(directory, key, ch);
      HELD.put(key, held);
      kept = true;
      writeHolder(ch);
      return Optional.of(held);
    } finally {
      if (!kept) {
        ch.close();
      }
    }
  }

  /** Whether this JVM holds the lock of {@code directory}. */
  public static boolean heldByThisProcess(Path directory) {
    return heldHere(directory.resolve(FILE_NAME));
  }

  private static boolean heldHere(Path file) {
    try {
      return HELD.containsKey(fileKey(file));
    } catch (IOException e) {
      return false; // no such file: nobody holds it
    }
  }

  private static Object fileKey(Path file) throws IOException {
    Object key = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
    return key != null ? key : file.toRealPath();
  }

  private static FileChannel openCreating(Path file) throws IOException {
    Set<StandardOpenOption> options = Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    if (Files.getFileStore(file.getParent()).supportsFileAttributeView("posix")) {
      return FileChannel.open(file, options,
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    }
    return FileChannel.open(file, options);
  }

  private static void writeHolder(FileChannel ch) {
    try {
      ch.truncate(0);
      ch.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
    } catch (IOException e) {
      // The pid is for messages only; the lock itself is held.
    }
  }

  /** Who holds the lock of {@code directory}, as far as its lock file says (for messages). */
  static String holder(Path directory) {
    Path file = directory.resolve(FILE_NAME);
    if (heldHere(file)) {
      return "this process (another open log or Spillway in this JVM)";
    }
    try {
      String pid = Files.readString(file, StandardCharsets.US_ASCII).trim();
      return pid.matches("[0-9]{1,10}") ? "process " + pid : "another process";
    } catch (IOException | RuntimeException e) {
      return "another process";
    }
  }

  /** This lock, after its directory was renamed to {@code newPath} (the lock holds the file, not the name). */
  DirectoryLock movedTo(Path newPath) {
    this.directory = newPath;
    return this;
  }

  /** The directory this lock holds. */
  public Path directory() {
    return directory;
  }

  /** Releases the lock (and the file's descriptor). A second call does nothing. */
  @Override
  public void close() throws IOException {
    if (released) {
      return;
    }
    released = true;
    try {
      channel.close(); // releases the fcntl lock
    } finally {
      HELD.remove(fileKey, this);
    }
  }
}
