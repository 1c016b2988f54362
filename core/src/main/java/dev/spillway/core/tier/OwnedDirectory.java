package dev.spillway.core.tier;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Set;

/**
 * The checks every directory Spillway writes data into passes before it is used: it is created 0700
 * when missing; when it exists it must be a directory owned by this user (the effective user id the
 * process creates files with) and writable by nobody else, because whoever can write a directory can
 * replace the files in it; and a real write probe (a 0600 file of one byte, always removed, also when
 * the write fails for a full device) shows it can be written, which permission bits alone cannot say
 * (root, read-only mounts). On file systems without POSIX permissions the ownership and permission
 * checks are skipped.
 */
public final class OwnedDirectory {
  static final FileAttribute<Set<PosixFilePermission>> DIRECTORY_MODE =
      PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));
  static final FileAttribute<Set<PosixFilePermission>> FILE_MODE =
      PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));
  /** Names of probe files: {@code .spillway-probe-<random>}. */
  static final String PROBE_PREFIX = ".spillway-probe-";
  private static final SecureRandom RANDOM = new SecureRandom();

  private OwnedDirectory() {}

  /**
   * Creates {@code dir} (and missing parents, 0700) or checks the existing one, then probes it.
   *
   * @param key the setting that named the directory, for messages
   * @throws IOException saying what is wrong with the directory and how to fix it
   */
  public static void prepare(Path dir, String key) throws IOException {
    if (!Files.isDirectory(dir)) {
      create(dir, key);
    }
    int uid = probe(dir, key);
    if (uid >= 0) {
      checkOwnedAndPrivate(dir, uid, key);
    }
  }

  private static void create(Path dir, String key) throws IOException {
    try {
      if (posix(nearestExisting(dir))) {
        Files.createDirectories(dir, DIRECTORY_MODE);
        // The process umask may have taken bits away from 0700 (never added any): set it exactly.
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
      } else {
        Files.createDirectories(dir);
      }
    } catch (FileAlreadyExistsException e) {
      throw new IOException("directory " + dir + " cannot be created: " + e.getFile()
          + " exists and is not a directory. Fix: remove it or name another directory in " + key, e);
    } catch (IOException | UnsupportedOperationException e) {
      throw new IOException("directory " + dir + " is missing and cannot be created (" + e
          + "). Fix: create it with write permission for this user, or name another directory in " + key, e);
    }
  }

  /**
   * Writes and removes a 0600 probe file in {@code dir}; returns the user id the probe was created
   * with (this process's effective uid), or -1 without POSIX attributes.
   */
  static int probe(Path dir, String key) throws IOException {
    return probe(dir, key, p -> {});
  }

  /** {@link #probe}, showing {@code whileThere} the probe file after its byte is written (tests look at it). */
  static int probe(Path dir, String key, java.util.function.Consumer<Path> whileThere) throws IOException {
    Path probe = dir.resolve(PROBE_PREFIX + HexFormat.of().toHexDigits(RANDOM.nextLong()));
    boolean posix = posix(dir);
    try {
      try (FileChannel ch = posix
          ? FileChannel.open(probe, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), FILE_MODE)
          : FileChannel.open(probe, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        ch.write(ByteBuffer.wrap(new byte[] {1}));
      }
      whileThere.accept(probe);
      return posix ? (Integer) Files.getAttribute(probe, "unix:uid", LinkOption.NOFOLLOW_LINKS) : -1;
    } catch (IOException e) {
      throw new IOException("directory " + dir + " is not writable (" + e + "). Fix: make it writable for this"
          + " user and free space on its device (check `ls -ld " + dir + "`, `df -h " + dir + "` and `findmnt -T "
          + dir + "` for a read-only mount), or name another directory in " + key, e);
    } finally {
      try {
        Files.deleteIfExists(probe); // also when the write failed: a probe is never left behind
      } catch (IOException e) {
        // Nothing more can be done; the message above (or the success) stands.
      }
    }
  }

  /** Refuses a directory that another user owns or that others may write. */
  static void checkOwnedAndPrivate(Path dir, int uid, String key) throws IOException {
    PosixFileAttributes attributes = Files.readAttributes(dir, PosixFileAttributes.class);
    int owner = (Integer) Files.getAttribute(dir, "unix:uid");
    if (owner != uid) {
      throw new IOException("directory " + dir + " belongs to " + attributes.owner().getName() + " (uid " + owner
          + "), not to this process's user (uid " + uid + "): Spillway keeps its data only in directories of its"
          + " own user. Fix: name a directory of this user in " + key);
    }
    Set<PosixFilePermission> mode = attributes.permissions();
    if (mode.contains(PosixFilePermission.GROUP_WRITE) || mode.contains(PosixFilePermission.OTHERS_WRITE)) {
      boolean shared = ((Integer) Files.getAttribute(dir, "unix:mode") & 01000) != 0;
      throw new IOException("directory " + dir + " is writable by other users (" + PosixFilePermissions.toString(mode)
          + "), so they could replace the files Spillway keeps there. Fix: " + (shared
              ? "it is a shared directory (sticky, like /tmp): name a directory of your own inside it, such as "
                  + dir.resolve("spillway-tier") + ", in " + key + " (Spillway creates it 0700)"
              : "`chmod go-w " + dir + "` (Spillway creates its directories 0700), or name another directory in "
                  + key));
    }
  }

  static boolean posix(Path path) {
    try {
      return Files.getFileStore(path).supportsFileAttributeView("posix");
    } catch (IOException e) {
      return path.getFileSystem().supportedFileAttributeViews().contains("posix");
    }
  }

  private static Path nearestExisting(Path dir) {
    Path p = dir.toAbsolutePath();
    while (p != null && !Files.exists(p)) {
      p = p.getParent();
    }
    return p != null ? p : dir.toAbsolutePath().getRoot();
  }
}
