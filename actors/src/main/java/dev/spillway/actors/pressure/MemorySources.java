package dev.spillway.actors.pressure;

import java.nio.file.Path;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * The memory sources of this host and JVM: {@code /proc/meminfo} ({@link SystemMemory}), the cgroup
 * bounding this process ({@link CgroupMemory}: cgroup v2, else the v1 memory hierarchy) and JVM direct
 * memory ({@link DirectMemory}). Each is read on its own and none ever throws: a source that is missing
 * (not Linux, no memory controller, no permission) or holds anything but what the kernel writes is an
 * {@link Reading.Absent} whose reason says what was wrong. Files are read with a size cap and parsed
 * strictly, never trusted. The file-system root is injectable so tests can lay out a fake {@code
 * /proc} and {@code /sys}; direct memory is always this JVM's. A read costs a handful of small file
 * reads (on a v1 host {@code /proc/self/mountinfo} too): fine for a monitor's tick, not for the
 * allocation path.
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

  /**
   * Usage, limit and working set of the group bounding this process: from cgroup v2 ({@link CgroupV2})
   * when {@code /sys/fs/cgroup} is a v2 mount with the memory controller, else from the v1 memory
   * hierarchy ({@link CgroupV1}). A hybrid host mounts v2 at {@code /sys/fs/cgroup/unified} without
   * the memory controller and keeps memory in v1, so it reads as v1. Absent, the reason gives both
   * versions' reasons.
   */
  public Reading<CgroupMemory> cgroupMemory() {
    Reading<CgroupMemory> v2 = guarded("the cgroup v2 memory", () -> CgroupV2.read(root));
    if (v2.isPresent()) {
      return v2;
    }
    Reading<CgroupMemory> v1 = guarded("the cgroup v1 memory", () -> CgroupV1.read(root));
    if (v1.isPresent()) {
      return v1;
    }
    return Reading.absent("cgroup v2: " + reason(v2) + "; cgroup v1: " + reason(v1));
  }

  /** This JVM's direct buffer use and limit. */
  public Reading<DirectMemory> directMemory() {
    return guarded("JVM direct memory", JvmDirectMemory::read);
  }

  /** Every source, each present or absent on its own. */
  public MemoryReadings read() {
    return new MemoryReadings(systemMemory(), cgroupMemory(), directMemory());
  }

  private static String reason(Reading<?> reading) {
    return reading instanceof Reading.Absent<?> absent ? absent.reason() : "present";
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
