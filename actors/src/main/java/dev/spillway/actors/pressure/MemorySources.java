package dev.spillway.actors.pressure;

import java.nio.file.Path;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * The memory sources of this host and JVM: {@code /proc/meminfo} ({@link SystemMemory}), the cgroup
 * v2 group bounding this process ({@link CgroupMemory}) and JVM direct memory ({@link DirectMemory}).
 * Each is read on its own and none ever throws: a source that is missing (not Linux, cgroup v1, no
 * permission) or holds anything but what the kernel writes is an {@link Reading.Absent} whose reason
 * says what was wrong. Files are read with a size cap and parsed strictly, never trusted. The
 * file-system root is injectable so tests can lay out a fake {@code /proc} and {@code /sys}; direct
 * memory is always this JVM's. A read costs a handful of small file reads: fine for a monitor's
 * tick, not for the allocation path.
 */
public final class MemorySources {
  private final Path root;

  private MemorySources(Path root) {
    this.root = Objects.requireNonNull(root, "root");
  }

  /** The sources of this host, under {@code /}. */
  public static MemorySources host() {
    return new MemorySources(Path.of("/"));
  }

  /** The sources under {@code root} (holding {@code proc/} and {@code sys/fs/cgroup/}), for tests. */
  public static MemorySources rootedAt(Path root) {
    return new MemorySources(root);
  }

  /** The file-system root the files are read under. */
  public Path root() {
    return root;
  }

  /** {@code MemTotal} and {@code MemAvailable} of {@code /proc/meminfo}. */
  public Reading<SystemMemory> systemMemory() {
    return guarded("/proc/meminfo", () -> ProcMeminfo.read(root));
  }

  /** {@code memory.current}, {@code memory.max} and the working set of the group bounding this process. */
  public Reading<CgroupMemory> cgroupMemory() {
    return guarded("the cgroup v2 memory", () -> CgroupV2.read(root));
  }

  /** This JVM's direct buffer use and limit. */
  public Reading<DirectMemory> directMemory() {
    return guarded("JVM direct memory", JvmDirectMemory::read);
  }

  /** Every source, each present or absent on its own. */
  public MemoryReadings read() {
    return new MemoryReadings(systemMemory(), cgroupMemory(), directMemory());
  }

  private static <T> Reading<T> guarded(String source, Supplier<Reading<T>> read) {
    try {
      return read.get();
    } catch (RuntimeException e) {
      // The contract is "never throws": whatever the file system or the management beans raise
      // (an invalid path on another file system, a SecurityException) is a reason, not a failure.
      return Reading.absent("reading " + source + " failed: " + e);
    }
  }
}
