package dev.spillway.actors.pressure;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalLong;

/**
 * Reads the cgroup v1 memory of this process under {@code <root>}, for hosts (and containers on
 * them) whose memory controller lives in a v1 hierarchy, hybrid hosts included. The memory group
 * comes from the line of {@code proc/self/cgroup} whose controller list holds {@code memory} ({@code
 * 4:memory:/docker/abc}, {@code 7:cpu,memory:/x}); where that hierarchy is mounted, and which group
 * is the mount's root, from the {@code cgroup} line of {@code proc/self/mountinfo} whose super
 * options hold {@code memory} (a container usually sees its own group mounted as the root). Then
 * {@code memory.limit_in_bytes} of the group and of every parent up to the mount, the smallest
 * winning as in {@link CgroupV2}, and {@code hierarchical_memory_limit} of the group's {@code
 * memory.stat}, which also covers ancestors above the mount that a container cannot see; when it is
 * the smaller, the process's own group is reported with it. Usage is {@code memory.usage_in_bytes} of
 * the reported group, the working set that minus {@code total_inactive_file}.
 *
 * <p>v1 has no word for "no limit": an unlimited group reads as the page counter's maximum times the
 * page size (9223372036854771712 with 4 KiB pages, less with larger pages), so every value from
 * {@link #UNLIMITED_FROM} up means none. The reading is absent when there is no v1 memory line or
 * mount, when the group lies outside the mount or its path leaves it, when the group has no
 * directory or no {@code memory.limit_in_bytes}, and when any limit, {@code memory.usage_in_bytes} or
 * {@code proc/self/mountinfo} is malformed; a {@code memory.stat} without a clean {@code
 * total_inactive_file} only makes the working set equal the usage.
 */
final class CgroupV1 {
  /**
   * A host with thousands of mounts (a Kubernetes node's volumes and overlays) has a mountinfo of a
   * few hundred KiB; 1 MiB leaves room and still refuses a file that is not one.
   */
  static final int MAX_MOUNTINFO_BYTES = 1 << 20;
  /**
   * Limits from here up mean "unlimited": 4 EiB is beyond any machine, and below every page size's
   * version of the kernel's maximum (PAGE_COUNTER_MAX times the page size, rounded to a page).
   */
  static final long UNLIMITED_FROM = 1L << 62;

  private static final String MEMORY = "memory";
  private static final String LIMIT_FILE = "memory.limit_in_bytes";
  private static final String USAGE_FILE = "memory.usage_in_bytes";
  private static final String STAT_FILE = "memory.stat";
  private static final String HIERARCHICAL_LIMIT = "hierarchical_memory_limit";
  private static final String TOTAL_INACTIVE_FILE = "total_inactive_file";

  /** A mount of the v1 memory hierarchy: the group at its root and where it is mounted, both unescaped. */
  record Mount(String root, String point) {}

  private CgroupV1() {}

  /** The memory of the v1 group that bounds this process, or why it cannot be read. */
  static Reading<CgroupMemory> read(Path root) {
    try {
      return Reading.present(readChecked(root));
    } catch (SourceException e) {
      return Reading.absent(e.getMessage());
    }
  }

  private static CgroupMemory readChecked(Path root) throws SourceException {
    Path procFile = root.resolve("proc/self/cgroup");
    String group = memoryGroup(KernelFiles.read(procFile, CgroupV2.MAX_CGROUP_FILE_BYTES), procFile);
    Path mountFile = root.resolve("proc/self/mountinfo");
    Mount mount = memoryMount(KernelFiles.read(mountFile, MAX_MOUNTINFO_BYTES), mountFile, group);
    Path mountDir = under(root, mount.point(), mountFile);
    Path leaf = directoryOf(relativeTo(group, mount, mountFile), mountDir, procFile);
    if (!Files.isDirectory(leaf)) {
      throw new SourceException("this process's cgroup v1 memory group " + group + " has no directory " + leaf);
    }
    if (!Files.exists(leaf.resolve(LIMIT_FILE))) {
      throw new SourceException("no " + LIMIT_FILE + " in " + leaf + ": not a directory of the v1 memory controller");
    }

    Path limiting = null;
    long limit = 0;
    for (Path dir = leaf; ; dir = dir.getParent()) {
      Path limitFile = dir.resolve(LIMIT_FILE);
      if (Files.exists(limitFile)) {
        OptionalLong value = limitOf(limitFile);
        // Strictly smaller: on a tie the deeper group, whose usage is closer to ours, wins.
        if (value.isPresent() && (limiting == null || value.getAsLong() < limit)) {
          limiting = dir;
          limit = value.getAsLong();
        }
      }
      if (dir.equals(mountDir)) {
        break;
      }
    }
    // The kernel's own minimum over every ancestor, the ones above the mount included.
    OptionalLong hierarchical = hierarchicalLimit(leaf.resolve(STAT_FILE));
    Path reported = limiting != null ? limiting : leaf;
    if (hierarchical.isPresent() && (limiting == null || hierarchical.getAsLong() < limit)) {
      reported = leaf;
      limiting = leaf;
      limit = hierarchical.getAsLong();
    }

    Path usageFile = reported.resolve(USAGE_FILE);
    if (!Files.exists(usageFile)) {
      throw new SourceException("no " + USAGE_FILE + " in " + reported);
    }
    String usageText = KernelFiles.singleValue(KernelFiles.read(usageFile, CgroupV2.MAX_VALUE_BYTES), usageFile);
    long usage = KernelFiles.byteCount(usageText, usageFile.toString());
    long inactive = totalInactiveFile(reported.resolve(STAT_FILE));
    long workingSet = inactive < 0 ? usage : usage - Math.min(inactive, usage);
    return new CgroupMemory(nameOf(reported, mountDir, mount), usage, workingSet,
        limiting != null ? OptionalLong.of(limit) : OptionalLong.empty(), CgroupMemory.Version.V1);
  }

  /** The path of the one line of {@code /proc/self/cgroup} whose controllers include memory. */
  static String memoryGroup(String content, Path file) throws SourceException {
    String group = null;
    String[] lines = content.lines().toArray(String[]::new);
    for (int n = 0; n < lines.length; n++) {
      String line = lines[n];
      if (line.isEmpty()) {
        continue;
      }
      int first = line.indexOf(':');
      int second = first < 0 ? -1 : line.indexOf(':', first + 1);
      if (first <= 0 || second < 0 || !digits(line.substring(0, first))) {
        throw new SourceException("line " + (n + 1) + " of " + file + " is not hierarchy-id:controllers:path: "
            + KernelFiles.quote(line));
      }
      if (Arrays.asList(line.substring(first + 1, second).split(",")).contains(MEMORY)) {
        if (group != null) {
          throw new SourceException("more than one cgroup v1 memory entry in " + file);
        }
        group = line.substring(second + 1);
      }
    }
    if (group == null) {
      throw new SourceException("no cgroup v1 memory controller in " + file
          + " (no line N:...memory...:/path): a cgroup v2 host, or memory is not mounted as v1");
    }
    if (!group.startsWith("/") || group.indexOf('\0') >= 0) {
      throw new SourceException("the cgroup v1 memory path in " + file + " is not an absolute path: "
          + KernelFiles.quote(group));
    }
    return group;
  }

  /**
   * The first mount of type cgroup in {@code mountinfo} with the memory controller whose root holds
   * {@code group}. Every line must have the kernel's shape: six fields, optional fields, {@code -},
   * then file-system type, source and super options.
   */
  static Mount memoryMount(String content, Path file, String group) throws SourceException {
    List<String> roots = new ArrayList<>();
    String[] lines = content.lines().toArray(String[]::new);
    for (int n = 0; n < lines.length; n++) {
      if (lines[n].isEmpty()) {
        continue;
      }
      String[] fields = lines[n].split(" ", -1);
      int separator = Arrays.asList(fields).indexOf("-");
      if (separator < 6 || fields.length != separator + 4) {
        throw new SourceException("line " + (n + 1) + " of " + file + " is not a mount entry: "
            + KernelFiles.quote(lines[n]));
      }
      String type = fields[separator + 1];
      List<String> superOptions = Arrays.asList(fields[separator + 3].split(","));
      if (!type.equals("cgroup") || !superOptions.contains(MEMORY)) {
        continue;
      }
      Mount mount = new Mount(unescape(fields[3], file), unescape(fields[4], file));
      if (holds(mount.root(), group)) {
        return mount;
      }
      roots.add(mount.root());
    }
    if (roots.isEmpty()) {
      throw new SourceException("no cgroup v1 memory mount (type cgroup, option memory) in " + file);
    }
    throw new SourceException("the cgroup v1 memory group " + group + " lies outside every memory mount in " + file
        + " (mount roots " + roots + "): it is not visible here");
  }

  /** {@code group}'s path below the mount's root, starting with {@code /}. */
  private static String relativeTo(String group, Mount mount, Path file) throws SourceException {
    if (mount.root().equals("/")) {
      return group;
    }
    if (!holds(mount.root(), group)) {
      throw new SourceException("the cgroup v1 memory group " + group + " is not under the root " + mount.root()
          + " of its mount in " + file);
    }
    return group.length() == mount.root().length() ? "/" : group.substring(mount.root().length());
  }

  private static boolean holds(String mountRoot, String group) {
    return mountRoot.equals("/") || group.equals(mountRoot) || group.startsWith(mountRoot + "/");
  }

  /** The mount point as a directory under {@code root}, refusing relative points and any that leave it. */
  private static Path under(Path root, String point, Path file) throws SourceException {
    if (!point.startsWith("/") || point.indexOf('\0') >= 0) {
      throw new SourceException("the cgroup v1 memory mount point in " + file + " is not an absolute path: "
          + KernelFiles.quote(point));
    }
    return KernelFiles.under(root, point, "the cgroup v1 memory mount point", file);
  }

  /** The directory of {@code relative} under {@code mountDir}, refusing any path that would leave it. */
  private static Path directoryOf(String relative, Path mountDir, Path file) throws SourceException {
    return KernelFiles.under(mountDir, relative, "the cgroup v1 memory path", file);
  }

  /** {@code memory.limit_in_bytes}: a positive byte count, or empty for the kernel's "unlimited". */
  static OptionalLong limitOf(Path limitFile) throws SourceException {
    String value = KernelFiles.singleValue(KernelFiles.read(limitFile, CgroupV2.MAX_VALUE_BYTES), limitFile);
    return limit(KernelFiles.byteCount(value, limitFile.toString()), limitFile.toString());
  }

  private static OptionalLong limit(long bytes, String what) throws SourceException {
    if (bytes >= UNLIMITED_FROM) {
      return OptionalLong.empty();
    }
    if (bytes == 0) {
      // A group limited to nothing could not be running this process; the file is not what it claims.
      throw new SourceException(what + " is 0");
    }
    return OptionalLong.of(bytes);
  }

  /**
   * {@code hierarchical_memory_limit} of {@code memory.stat}: empty when the file or the line is
   * missing or when it means unlimited; a malformed line makes the whole reading absent, as any
   * malformed limit does.
   */
  static OptionalLong hierarchicalLimit(Path statFile) throws SourceException {
    if (!Files.exists(statFile)) {
      return OptionalLong.empty();
    }
    OptionalLong value = statValue(KernelFiles.read(statFile, CgroupV2.MAX_STAT_BYTES), HIERARCHICAL_LIMIT, statFile);
    return value.isEmpty() ? value : limit(value.getAsLong(), HIERARCHICAL_LIMIT + " in " + statFile);
  }

  /** {@code total_inactive_file} of {@code memory.stat}, or -1 when the file does not give one clean value. */
  static long totalInactiveFile(Path statFile) {
    try {
      return statValue(KernelFiles.read(statFile, CgroupV2.MAX_STAT_BYTES), TOTAL_INACTIVE_FILE, statFile).orElse(-1);
    } catch (SourceException e) {
      return -1;
    }
  }

  /** The value of the one {@code name value} line of a {@code memory.stat}; empty when there is none. */
  private static OptionalLong statValue(String content, String name, Path file) throws SourceException {
    String prefix = name + " ";
    OptionalLong found = OptionalLong.empty();
    for (String line : content.lines().toList()) {
      if (line.startsWith(prefix)) {
        if (found.isPresent()) {
          throw new SourceException(name + " appears more than once in " + file);
        }
        found = OptionalLong.of(KernelFiles.byteCount(line.substring(prefix.length()), name + " in " + file));
      } else if (line.equals(name)) {
        throw new SourceException(name + " in " + file + " has no value");
      }
    }
    return found;
  }

  /** mountinfo's octal escapes ({@code \040} for a space, {@code \134} for a backslash) undone. */
  static String unescape(String field, Path file) throws SourceException {
    StringBuilder out = new StringBuilder(field.length());
    for (int i = 0; i < field.length(); i++) {
      char c = field.charAt(i);
      if (c != '\\') {
        out.append(c);
        continue;
      }
      if (i + 3 >= field.length()
          || !octal(field.charAt(i + 1)) || !octal(field.charAt(i + 2)) || !octal(field.charAt(i + 3))) {
        throw new SourceException("a path in " + file + " has a bad escape: " + KernelFiles.quote(field));
      }
      out.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
      i += 3;
    }
    return out.toString();
  }

  private static boolean octal(char c) {
    return c >= '0' && c <= '7';
  }

  private static boolean digits(String text) {
    if (text.isEmpty()) {
      return false;
    }
    for (int i = 0; i < text.length(); i++) {
      if (text.charAt(i) < '0' || text.charAt(i) > '9') {
        return false;
      }
    }
    return true;
  }

  /** The reported group's path as {@code /proc/self/cgroup} would name it: the mount's root, then below. */
  private static String nameOf(Path dir, Path mountDir, Mount mount) {
    StringBuilder name = new StringBuilder(mount.root().equals("/") ? "" : mount.root());
    for (Path segment : mountDir.relativize(dir)) {
      if (!segment.toString().isEmpty()) {
        name.append('/').append(segment);
      }
    }
    return name.isEmpty() ? "/" : name.toString();
  }
}
