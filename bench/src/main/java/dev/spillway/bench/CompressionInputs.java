package dev.spillway.bench;

import dev.spillway.config.Sizes;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The real files {@link CompressionReport} compresses, read once into off-heap memory so that no file
 * read is timed: the running JDK's module image ({@code $JAVA_HOME/lib/modules}: class files and
 * resources, stored uncompressed), and a tar of the system's documentation tree ({@code
 * /usr/share/doc}: text, HTML, Markdown, and the gzip-compressed changelogs Debian ships), made at run
 * time with {@code tar} in the report's directory.
 */
final class CompressionInputs {
  private CompressionInputs() {}

  /**
   * One input.
   *
   * @param name a short name for the table
   * @param what where it came from, for the report's header
   * @param fileBytes the file's whole size
   * @param data its first {@code min(fileBytes, cap)} bytes, off-heap
   */
  record Input(String name, String what, long fileBytes, MemorySegment data) {
    long bytes() {
      return data.byteSize();
    }

    /** {@code 139.2 MiB}, with {@code (first N of M)} when the file was capped. */
    String size() {
      return bytes() == fileBytes ? Sizes.format(bytes())
          : Sizes.format(bytes()) + " (first of " + Sizes.format(fileBytes) + ")";
    }
  }

  /** The JDK's module image and the documentation tar (made in {@code dir}), each capped at {@code cap} bytes. */
  static List<Input> load(Arena arena, Path dir, long cap, Path docTree) throws IOException {
    Path modules = Path.of(System.getProperty("java.home"), "lib", "modules");
    Input jdk = read(arena, "jdk-modules", modules + " (Java " + Runtime.version() + ")", modules, cap);
    Path tar = tar(docTree, dir.resolve("doc.tar"));
    Input docs = read(arena, "doc-tar", "tar of " + docTree + ", made with tar -cf", tar, cap);
    Files.delete(tar); // in memory now
    return List.of(jdk, docs);
  }

  private static Input read(Arena arena, String name, String what, Path file, long cap) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = ch.size();
      long n = Math.min(size, cap);
      MemorySegment data = arena.allocate(Math.max(1, n), 4096).asSlice(0, n);
      for (long at = 0; at < n; ) {
        ByteBuffer window = data.asSlice(at, Math.min(n - at, 1L << 30)).asByteBuffer();
        while (window.hasRemaining()) {
          int got = ch.read(window, at + window.position());
          if (got < 0) {
            throw new IOException(file + " ended at " + (at + window.position()) + " of " + n + " bytes");
          }
        }
        at += window.capacity();
      }
      return new Input(name, what, size, data);
    }
  }

  /** Makes {@code out}, a tar of {@code tree}, with the system's {@code tar}; fails saying why. */
  private static Path tar(Path tree, Path out) throws IOException {
    Path parent = tree.toAbsolutePath().getParent();
    Process p = new ProcessBuilder("tar", "-cf", out.toString(), "-C", parent.toString(),
        tree.getFileName().toString()).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .start();
    try {
      if (!p.waitFor(10, TimeUnit.MINUTES)) {
        p.destroyForcibly();
        throw new IOException("tar of " + tree + " took over 10 minutes");
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while making a tar of " + tree, e);
    }
    // GNU tar exits 1 when a file changed while it was read: the archive is complete all the same.
    if (p.exitValue() > 1 || !Files.isRegularFile(out)) {
      throw new IOException("tar -cf " + out + " -C " + parent + " " + tree.getFileName() + " exited "
          + p.exitValue());
    }
    return out;
  }
}
