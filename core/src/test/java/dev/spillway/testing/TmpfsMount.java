package dev.spillway.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A small tmpfs mounted for one test: a real device that fills up, or that is read-only. Tests run as
 * root, here and in CI, so a mount that fails fails the test, with mount's own words; {@link #close()}
 * unmounts it and fails the test when that does not work (a file still open on it, say).
 *
 * <pre>{@code
 * try (TmpfsMount device = TmpfsMount.mount(tmp.resolve("mnt"), "4m", "0700")) {
 *   ... device.path() ...
 * }
 * }</pre>
 */
public final class TmpfsMount implements AutoCloseable {
  private final Path path;
  private boolean mounted = true;

  private TmpfsMount(Path path) {
    this.path = path;
  }

  /**
   * Mounts a tmpfs of {@code size} (as mount(8) takes it: {@code 64k}, {@code 4m}) whose root has
   * {@code mode} (octal, {@code 0700}) at {@code dir}, which is created first when it is missing.
   */
  public static TmpfsMount mount(Path dir, String size, String mode) {
    return mountWith(dir, "size=" + size + ",mode=" + mode, "a " + size + " tmpfs");
  }

  /** Mounts a read-only tmpfs of {@code size} at {@code dir}, which is created first when it is missing. */
  public static TmpfsMount mountReadOnly(Path dir, String size) {
    return mountWith(dir, "size=" + size + ",ro", "a read-only " + size + " tmpfs");
  }

  private static TmpfsMount mountWith(Path dir, String options, String what) {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Processes.Result r = Processes.run("mount", "-t", "tmpfs", "-o", options, "tmpfs", dir.toString());
    if (!r.succeeded()) {
      throw new AssertionError("cannot mount " + what + " at " + dir + ": " + r.describe()
          + " (the tests that fill or write-protect a real device mount one; they run as root, with mount(8))");
    }
    return new TmpfsMount(dir);
  }

  /** Where it is mounted. */
  public Path path() {
    return path;
  }

  /** Mounts it again read-only, keeping what it holds. */
  public void remountReadOnly() {
    Processes.Result r = Processes.run("mount", "-o", "remount,ro", path.toString());
    if (!r.succeeded()) {
      throw new AssertionError("cannot remount " + path + " read-only: " + r.describe());
    }
  }

  /** Unmounts it (once): fails the test when umount does not succeed. */
  @Override
  public void close() {
    if (!mounted) {
      return;
    }
    mounted = false;
    Processes.Result r = Processes.run("umount", path.toString());
    if (!r.succeeded()) {
      throw new AssertionError("cannot unmount the tmpfs at " + path + ": " + r.describe());
    }
  }
}
