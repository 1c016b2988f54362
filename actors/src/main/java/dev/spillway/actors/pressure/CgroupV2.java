package dev.spillway.actors.pressure;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * Reads the cgroup v2 memory of this process under {@code <root>}: its group from the {@code 0::/path}
 * line of {@code proc/self/cgroup}, the group's directory under {@code sys/fs/cgroup}, then
 * {@code memory.max} of that directory and of every parent up to the mount (the top group has none).
 * The group with the smallest limit is the one reported, with its own {@code memory.current} and
 * {@code memory.stat}; with no limit anywhere, this process's own group is reported as unlimited.
 *
 * <p>The reading is absent when {@code sys/fs/cgroup} is not a cgroup v2 mount (no
 * {@code cgroup.controllers}: cgroup v1, hybrid mode, not Linux), when the path escapes the mount, and
 * when any {@code memory.max} or the reported {@code memory.current} is missing or malformed. A missing
 * or malformed {@code memory.stat} only makes the working set equal {@code memory.current}.
 */
final class CgroupV2 {
  /** Room for a path of PATH_MAX plus the v1 lines of a hybrid host. */
  static final int MAX_CGROUP_FILE_BYTES = 16 * 1024;
  /** A byte count or {@code max} and a newline. */
  static final int MAX_VALUE_BYTES = 64;
  /** A real memory.stat is about 1.5 KiB. */
  static final int MAX_STAT_BYTES = 64 * 1024;

  private static final String UNLIMITED = "max";
  private static final String INACTIVE_FILE = "inactive_file ";

  private CgroupV2() {}

  /** The memory of the group that bounds this process, or why it cannot be read. */
  static Reading<CgroupMemory> read(Path root) {
    try {
      return Reading.present(readChecked(root));
    } catch (SourceException e) {
      return Reading.absent(e.getMessage());
    }
  }

  private static CgroupMemory readChecked(Path root) throws SourceException {
    Path mount = root.resolve("sys/fs/cgroup");
    if (!Files.isRegularFile(mount.resolve("cgroup.controllers"))) {
      throw new SourceException("cgroup v2 is not mounted at " + mount
          + " (no cgroup.controllers): a cgroup v1 or hybrid host, or not Linux");
    }
    Path procFile = root.resolve("proc/self/cgroup");
    String group = ownGroup(KernelFiles.read(procFile, MAX_CGROUP_FILE_BYTES), procFile);
    Path leaf = directoryOf(group, mount, procFile);
    if (!Files.isDirectory(leaf)) {
      throw new SourceException("this process's cgroup " + group + " has no directory " + leaf);
    }

    Path limiting = null;
    long limit = 0;
    for (Path dir = leaf; ; dir = dir.getParent()) {
      Path maxFile = dir.resolve("memory.max");
      if (Files.exists(maxFile)) {
        OptionalLong max = limitOf(maxFile);
        // Strictly smaller: on a tie the deeper group, whose memory.current is closer to ours, wins.
        if (max.isPresent() && (limiting == null || max.getAsLong() < limit)) {
          limiting = dir;
          limit = max.getAsLong();
        }
      }
      if (dir.equals(mount)) {
        break;
      }
    }

    Path reported = limiting != null ? limiting : leaf;
    String name = nameOf(reported, mount);
    Path currentFile = reported.resolve("memory.current");
    if (!Files.exists(currentFile)) {
      throw new SourceException("no memory.current in " + reported + ": the memory controller is not enabled for"
          + " cgroup " + name + " (see cgroup.subtree_control of its parent)");
    }
    long current = KernelFiles.byteCount(
        KernelFiles.singleValue(KernelFiles.read(currentFile, MAX_VALUE_BYTES), currentFile), currentFile.toString());
    long inactive = inactiveFile(reported.resolve("memory.stat"));
    long workingSet = inactive < 0 ? current : current - Math.min(inactive, current);
    return new CgroupMemory(name, current, workingSet,
        limiting != null ? OptionalLong.of(limit) : OptionalLong.empty(), CgroupMemory.Version.V2);
  }

  /** The path of the {@code 0::} line of {@code /proc/self/cgroup}. */
  static String ownGroup(String content, Path file) throws SourceException {
    String group = null;
    for (String line : content.lines().toList()) {
      if (line.startsWith("0::")) {
        if (group != null) {
          throw new SourceException("more than one cgroup v2 entry (0::) in " + file);
        }
        group = line.substring(3);
      }
    }
    if (group == null) {
      throw new SourceException("no cgroup v2 entry (a line 0::/path) in " + file);
    }
    if (!group.startsWith("/") || group.indexOf('\0') >= 0) {
      throw new SourceException("the cgroup v2 path in " + file + " is not an absolute path: " + KernelFiles.quote(group));
    }
    return group;
  }

  /** The directory of {@code group} under {@code mount}, refusing any path that would leave it. */
  private static Path directoryOf(String group, Path mount, Path file) throws SourceException {
    return KernelFiles.under(mount, group, "the cgroup v2 path", file);
  }

  /** {@code memory.max}: a positive byte count, or empty for {@code max}. */
  static OptionalLong limitOf(Path maxFile) throws SourceException {
    String value = KernelFiles.singleValue(KernelFiles.read(maxFile, MAX_VALUE_BYTES), maxFile);
    if (value.equals(UNLIMITED)) {
      return OptionalLong.empty();
    }
    long limit = KernelFiles.byteCount(value, maxFile.toString());
    if (limit == 0) {
      // A group limited to nothing could not be running this process; the file is not what it claims.
      throw new SourceException(maxFile + " is 0");
    }
    return OptionalLong.of(limit);
  }

  /** {@code inactive_file} of {@code memory.stat}, or -1 when the file does not give one clean value. */
  static long inactiveFile(Path statFile) {
    String content;
    try {
      content = KernelFiles.read(statFile, MAX_STAT_BYTES);
    } catch (SourceException e) {
      return -1;
    }
    long found = -1;
    for (String line : content.lines().toList()) {
      if (line.startsWith(INACTIVE_FILE)) {
        if (found >= 0) {
          return -1;
        }
        try {
          found = KernelFiles.byteCount(line.substring(INACTIVE_FILE.length()), "inactive_file");
        } catch (SourceException e) {
          return -1;
        }
      }
    }
    return found;
  }

  private static String nameOf(Path dir, Path mount) {
    StringBuilder name = new StringBuilder();
    for (Path segment : mount.relativize(dir)) {
      if (!segment.toString().isEmpty()) {
        name.append('/').append(segment);
      }
    }
    return name.isEmpty() ? "/" : name.toString();
  }
}
