package dev.spillway.core.tier;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A directory of one process's spilled data, which nobody else may read, plant or outlive: created
 * fresh under a parent (by default {@code java.io.tmpdir}) with mode 0700 and an unpredictable name,
 * {@code spillway-<16 random hex digits>}, locked ({@link DirectoryLock}) for as long as it is open,
 * and deleted with everything in it by {@link #close()} or, when the JVM exits without that (a
 * SIGTERM, Ctrl-C, {@code System.exit}), by a shutdown hook.
 *
 * <p>Only SIGKILL (the OOM killer included) and power loss leave one behind, so every
 * {@link #create} first {@linkplain #reclaim reclaims} what dead processes left in its parent: a
 * directory of this naming scheme, owned by this user, holding nothing Spillway did not make, whose
 * lock nobody holds. The lock is the operating system's, so a live process's directory is never taken
 * for a dead one, whatever its process id. Each reclaimed directory gets a log line saying what and
 * how much.
 *
 * <p>A directory is made under a temporary name ({@code .spillway-new-<random>}), locked, and only
 * then renamed to its final name, so a reclaimer never sees a final-named directory whose lock is not
 * yet held. A temporary one left by a process killed between those steps is reclaimed once it is a
 * minute old.
 */
public final class PrivateDirectory implements AutoCloseable {
  /** The prefix of a private directory's name. */
  public static final String PREFIX = "spillway-";
  private static final String NEW_PREFIX = ".spillway-new-";
  /** Final names, and those of older versions, which named the directory after the process id. */
  private static final Pattern NAME = Pattern.compile("spillway-([0-9a-f]{16}|[0-9]{1,10})");
  private static final Pattern NEW_NAME = Pattern.compile("\\.spillway-new-[0-9a-f]{16}");
  /** What Spillway puts in a private directory, at any depth; anything else keeps a directory from reclaim. */
  private static final Pattern OURS = Pattern.compile(
      "\\.lock|spill|seg-[0-9a-f]{16}\\.spw|\\.spillway-probe-[0-9a-f]{16}|\\.spillway-probe-[0-9]+-[0-9]+");
  /** How old a temporary directory must be before it counts as abandoned. */
  static final Duration ABANDONED_AFTER = Duration.ofMinutes(1);
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final System.Logger LOG = System.getLogger(PrivateDirectory.class.getName());

  /** A directory {@link #reclaim} deleted. */
  public record Reclaimed(Path directory, long files, long bytes) {}

  private final Path path;
  private final DirectoryLock lock;
  private final Thread hook;
  private boolean closed;

  private PrivateDirectory(Path path, DirectoryLock lock) {
    this.path = path;
    this.lock = lock;
    this.hook = Thread.ofPlatform().unstarted(this::deleteAtExit);
    hook.setName("spillway-directory-cleanup");
    Runtime.getRuntime().addShutdownHook(hook);
  }

  /**
   * Reclaims dead processes' directories under {@code parent}, then makes a fresh private one there.
   * A missing parent is created 0700; an existing one must not let other users rename or replace
   * what is in it (writable by others only with the sticky bit, as {@code /tmp} is).
   *
   * @param key the setting that named the parent, for messages
   */
  public static PrivateDirectory create(Path parent, String key) throws IOException {
    Path dir = parent.toAbsolutePath().normalize();
    if (!Files.isDirectory(dir)) {
      OwnedDirectory.prepare(dir, key);
    } else {
      checkParent(dir, key);
    }
    PrivateDirectory made = make(dir, key);
    try {
      reclaim(dir, uidOf(made.path));
    } catch (IOException | RuntimeException e) {
      // Reclaiming is housekeeping: a parent that cannot be listed must not keep Spillway from starting.
      LOG.log(Level.WARNING, "Spillway could not look for directories of dead processes in " + dir + ": " + e);
    }
    return made;
  }

  private static PrivateDirectory make(Path parent, String key) throws IOException {
    for (int attempt = 0; ; attempt++) {
      String random = HexFormat.of().toHexDigits(RANDOM.nextLong());
      Path fresh = parent.resolve(NEW_PREFIX + random);
      Path target = parent.resolve(PREFIX + random);
      try {
        if (OwnedDirectory.posix(parent)) {
          Files.createDirectory(fresh, OwnedDirectory.DIRECTORY_MODE);
          Files.setPosixFilePermissions(fresh, PosixFilePermissions.fromString("rwx------"));
        } else {
          Files.createDirectory(fresh);
        }
      } catch (FileAlreadyExistsException e) {
        if (attempt < 8) {
          continue; // somebody has that name: draw another
        }
        throw new IOException("no fresh directory could be made in " + parent + " after 8 tries", e);
      } catch (IOException e) {
        throw new IOException("a private directory cannot be made in " + parent + " (" + e + "). Fix: make " + parent
            + " writable for this user, or name another parent in " + key, e);
      }
      DirectoryLock lock = null;
      try {
        OwnedDirectory.probe(fresh, key);
        lock = DirectoryLock.acquire(fresh);
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
          throw new FileAlreadyExistsException(target.toString());
        }
        Files.move(fresh, target, StandardCopyOption.ATOMIC_MOVE);
        return new PrivateDirectory(target, lock.movedTo(target));
      } catch (FileAlreadyExistsException | AtomicMoveNotSupportedException e) {
        release(lock, fresh);
        if (attempt < 8) {
          continue;
        }
        throw new IOException("no fresh directory could be made in " + parent + " after 8 tries", e);
      } catch (IOException | RuntimeException e) {
        release(lock, fresh);
        throw e;
      }
    }
  }

  private static void release(DirectoryLock lock, Path dir) {
    try {
      if (lock != null) {
        lock.close();
      }
    } catch (IOException e) {
      // Closing a lock's descriptor does not fail in a way that keeps the lock.
    }
    Trees.deleteQuietly(dir);
  }

  /** The parent must keep other users from renaming our directory away and planting theirs. */
  private static void checkParent(Path parent, String key) throws IOException {
    if (!OwnedDirectory.posix(parent)) {
      return;
    }
    PosixFileAttributes a = Files.readAttributes(parent, PosixFileAttributes.class);
    Set<PosixFilePermission> mode = a.permissions();
    boolean othersWrite = mode.contains(PosixFilePermission.GROUP_WRITE)
        || mode.contains(PosixFilePermission.OTHERS_WRITE);
    if (othersWrite && !sticky(parent)) {
      throw new IOException("directory " + parent + " is writable by other users (" + PosixFilePermissions.toString(mode)
          + ") without the sticky bit, so they could rename away the private directory Spillway makes there and put"
          + " their own in its place. Fix: `chmod +t " + parent + "` or `chmod go-w " + parent
          + "`, or name another parent in " + key);
    }
  }

  private static boolean sticky(Path dir) throws IOException {
    int mode = (Integer) Files.getAttribute(dir, "unix:mode");
    return (mode & 01000) != 0;
  }

  /**
   * Deletes the private directories of dead processes under {@code parent} (see the class comment)
   * and returns them; a directory that is locked, another user's, or holds anything Spillway did not
   * make is left alone.
   */
  public static List<Reclaimed> reclaim(Path parent) throws IOException {
    if (!OwnedDirectory.posix(parent)) {
      return List.of(); // no owners to compare: never delete what might be someone else's
    }
    Path probe = Files.createTempFile(parent, ".spillway-uid-", "", OwnedDirectory.FILE_MODE);
    try {
      return reclaim(parent, uidOf(probe));
    } finally {
      Files.deleteIfExists(probe);
    }
  }

  private static List<Reclaimed> reclaim(Path parent, int uid) throws IOException {
    List<Reclaimed> out = new ArrayList<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(parent, "*spillway-*")) {
      for (Path dir : entries) {
        String name = dir.getFileName().toString();
        boolean fresh = NEW_NAME.matcher(name).matches();
        if (!fresh && !NAME.matcher(name).matches()) {
          continue;
        }
        try {
          reclaimOne(dir, fresh, uid).ifPresent(r -> {
            out.add(r);
            LOG.log(Level.INFO, "Spillway reclaimed " + r.directory() + ", left by a process that is gone: "
                + r.files() + " files, " + dev.spillway.config.Sizes.format(r.bytes()));
          });
        } catch (NoSuchFileException e) {
          // Another process reclaimed it first, or its owner closed it meanwhile.
        } catch (IOException e) {
          LOG.log(Level.WARNING, "Spillway could not reclaim " + dir + ": " + e);
        }
      }
    }
    return out;
  }

  private static Optional<Reclaimed> reclaimOne(Path dir, boolean fresh, int uid) throws IOException {
    BasicFileAttributes a = Files.readAttributes(dir, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    if (!a.isDirectory() || uidOf(dir) != uid || DirectoryLock.heldByThisProcess(dir)
        || DirectoryLock.heldByThisProcess(dir.resolve("spill"))) {
      return Optional.empty();
    }
    Trees.Usage usage = Trees.usage(dir, OURS);
    if (usage == null) {
      return Optional.empty(); // something in it is not Spillway's: not ours to delete
    }
    // The lock file: ours at the top; directories of older versions have one in spill/ only.
    Path lockDir = Files.exists(dir.resolve(DirectoryLock.FILE_NAME), LinkOption.NOFOLLOW_LINKS) ? dir
        : Files.exists(dir.resolve("spill").resolve(DirectoryLock.FILE_NAME), LinkOption.NOFOLLOW_LINKS)
            ? dir.resolve("spill") : null;
    if (lockDir == null) {
      // Nothing was ever locked in it: only a temporary directory abandoned before its lock was taken.
      if (!fresh || a.lastModifiedTime().toInstant().isAfter(Instant.now().minus(ABANDONED_AFTER))) {
        return Optional.empty();
      }
      Trees.delete(dir);
      return Optional.of(new Reclaimed(dir, usage.files(), usage.bytes()));
    }
    Optional<DirectoryLock> lock = DirectoryLock.tryAcquire(lockDir, /* create= */ false);
    if (lock.isEmpty()) {
      return Optional.empty(); // a live process holds it
    }
    try (DirectoryLock _ = lock.get()) {
      Trees.delete(dir);
    }
    return Optional.of(new Reclaimed(dir, usage.files(), usage.bytes()));
  }

  private static int uidOf(Path path) throws IOException {
    return (Integer) Files.getAttribute(path, "unix:uid", LinkOption.NOFOLLOW_LINKS);
  }

  /** The directory. */
  public Path path() {
    return path;
  }

  /** Deletes the directory and everything in it, then releases its lock. A second call does nothing. */
  @Override
  public synchronized void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      // The JVM is shutting down: the hook may be running this very call.
    }
    try {
      Trees.delete(path);
    } finally {
      lock.close();
    }
  }

  private void deleteAtExit() {
    try {
      close();
    } catch (IOException | RuntimeException e) {
      System.err.println("Spillway could not delete " + path + " at exit: " + e
          + " (the next start in the same parent reclaims it)");
    }
  }

  @Override
  public String toString() {
    return path.toString();
  }
}
