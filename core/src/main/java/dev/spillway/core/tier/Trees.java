package dev.spillway.core.tier;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.regex.Pattern;

/**
 * Walks and deletes directory trees of Spillway's own files. Symbolic links are never followed: a
 * link is deleted as itself, so a tree can never lead a deletion out of itself.
 */
final class Trees {
  /** Files and bytes in a tree. */
  record Usage(long files, long bytes) {}

  private Trees() {}

  /** Deletes {@code root} and everything under it; a tree already gone is fine. */
  static void delete(Path root) throws IOException {
    try {
      Files.walkFileTree(root, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
          Files.deleteIfExists(file);
          return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
          if (e instanceof NoSuchFileException) {
            return FileVisitResult.CONTINUE;
          }
          throw e;
        }

        @Override
        public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
          if (e != null && !(e instanceof NoSuchFileException)) {
            throw e;
          }
          Files.deleteIfExists(dir);
          return FileVisitResult.CONTINUE;
        }
      });
    } catch (NoSuchFileException e) {
      // already gone
    }
  }

  /** {@link #delete}, ignoring failures: for clean-up after another failure, which stays the one reported. */
  static void deleteQuietly(Path root) {
    try {
      delete(root);
    } catch (IOException | RuntimeException e) {
      // the first failure is the one that matters
    }
  }

  /**
   * Files and bytes under {@code root} when every entry below it (at any depth) is a plain file or
   * directory whose name matches {@code allowed}; null when anything else is there (a link, a device,
   * a name Spillway does not use).
   */
  static Usage usage(Path root, Pattern allowed) throws IOException {
    long[] counts = new long[2];
    boolean[] foreign = new boolean[1];
    Files.walkFileTree(root, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
        if (!dir.equals(root) && !allowed.matcher(dir.getFileName().toString()).matches()) {
          foreign[0] = true;
          return FileVisitResult.TERMINATE;
        }
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
        if (!attrs.isRegularFile() || !allowed.matcher(file.getFileName().toString()).matches()) {
          foreign[0] = true;
          return FileVisitResult.TERMINATE;
        }
        counts[0]++;
        counts[1] += attrs.size();
        return FileVisitResult.CONTINUE;
      }
    });
    return foreign[0] ? null : new Usage(counts[0], counts[1]);
  }
}
