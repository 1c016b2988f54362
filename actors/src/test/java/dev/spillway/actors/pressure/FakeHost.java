package dev.spillway.actors.pressure;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Lays out a fake {@code /proc} and {@code /sys/fs/cgroup} under a test directory. */
final class FakeHost {
  static final String MEMINFO_FORMAT = """
      MemTotal:       %d kB
      MemFree:         1183212 kB
      MemAvailable:   %d kB
      Buffers:          345104 kB
      Cached:         12170724 kB
      SwapCached:            0 kB
      HugePages_Total:       0
      Hugepagesize:       2048 kB
      """;

  private final Path root;

  FakeHost(Path root) {
    this.root = root;
  }

  /** Writes {@code content} to {@code relative} under the root, creating directories. */
  FakeHost file(String relative, String content) {
    return bytes(relative, content.getBytes(StandardCharsets.UTF_8));
  }

  FakeHost bytes(String relative, byte[] content) {
    try {
      Path file = root.resolve(relative);
      Files.createDirectories(file.getParent());
      Files.write(file, content);
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  FakeHost directory(String relative) {
    try {
      Files.createDirectories(root.resolve(relative));
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A {@code /proc/meminfo} shaped like the kernel's. */
  FakeHost meminfo(long totalKib, long availableKib) {
    return file("proc/meminfo", MEMINFO_FORMAT.formatted(totalKib, availableKib));
  }

  /** A cgroup v2 mount, and this process in {@code group} (as {@code /proc/self/cgroup} names it). */
  FakeHost cgroupV2(String group) {
    file("sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
    file("proc/self/cgroup", "0::" + group + "\n");
    return directory("sys/fs/cgroup" + group);
  }

  /** {@code memory.current} and {@code memory.max} of {@code group}, written verbatim (add the newline). */
  FakeHost memory(String group, String current, String max) {
    file(groupFile(group, "memory.current"), current);
    return file(groupFile(group, "memory.max"), max);
  }

  static String groupFile(String group, String name) {
    return "sys/fs/cgroup" + (group.equals("/") ? "" : group) + "/" + name;
  }

  MemorySources sources() {
    return MemorySources.rootedAt(root);
  }
}
