package dev.spillway.actors.pressure;

import java.util.Objects;
import java.util.OptionalDouble;
import java.util.OptionalLong;

/**
 * Memory of the cgroup that bounds this process: the group on the way from this process's own group
 * up to the top of the visible hierarchy with the smallest limit (a parent's limit binds its
 * children, as the JDK's container support also assumes), or this process's own group when none sets
 * a limit. Read from cgroup v2 ({@code memory.max}, {@code memory.current}) or, on hosts that put the
 * memory controller in a cgroup v1 hierarchy, from v1 ({@code memory.limit_in_bytes}, {@code
 * memory.usage_in_bytes}); {@link #version()} says which.
 *
 * @param cgroup the group's path as {@code /proc/self/cgroup} names it, {@code /} for the top
 * @param currentBytes everything charged to the group and its children, page cache included ({@code
 *     memory.current}; v1 {@code memory.usage_in_bytes})
 * @param workingSetBytes {@code currentBytes} minus the inactive page cache of {@code memory.stat} (v2
 *     {@code inactive_file}, v1 {@code total_inactive_file}): the part the kernel cannot simply drop
 *     (the "working set" container tooling evicts on); equal to {@code currentBytes} when {@code
 *     memory.stat} does not give it, which overstates pressure rather than hiding it
 * @param limitBytes the limit, empty when there is none ({@code max} in v2, the kernel's "unlimited"
 *     page-counter maximum in v1)
 * @param version the cgroup version the figures come from
 */
public record CgroupMemory(String cgroup, long currentBytes, long workingSetBytes, OptionalLong limitBytes,
    Version version) {

  /** Which cgroup interface a reading comes from. */
  public enum Version {
    V1("cgroup v1"),
    V2("cgroup v2");

    private final String label;

    Version(String label) {
      this.label = label;
    }

    /** {@code cgroup v1} or {@code cgroup v2}, for messages. */
    public String label() {
      return label;
    }
  }

  /** A cgroup v2 reading (the only kind there was before v1 support). */
  public CgroupMemory(String cgroup, long currentBytes, long workingSetBytes, OptionalLong limitBytes) {
    this(cgroup, currentBytes, workingSetBytes, limitBytes, Version.V2);
  }

  public CgroupMemory {
    Objects.requireNonNull(cgroup, "cgroup");
    Objects.requireNonNull(limitBytes, "limitBytes");
    Objects.requireNonNull(version, "version");
    if (currentBytes < 0) {
      throw new IllegalArgumentException("currentBytes must not be negative: " + currentBytes);
    }
    if (workingSetBytes < 0 || workingSetBytes > currentBytes) {
      throw new IllegalArgumentException(
          "workingSetBytes must be in 0.." + currentBytes + " (currentBytes): " + workingSetBytes);
    }
    if (limitBytes.isPresent() && limitBytes.getAsLong() <= 0) {
      throw new IllegalArgumentException("limitBytes must be positive when set: " + limitBytes.getAsLong());
    }
  }

  /** Whether the group has a limit. */
  public boolean limited() {
    return limitBytes.isPresent();
  }

  /** {@code workingSetBytes / limitBytes}, empty when there is no limit; may exceed 1 briefly. */
  public OptionalDouble usedFraction() {
    return limited() ? OptionalDouble.of((double) workingSetBytes / limitBytes.getAsLong()) : OptionalDouble.empty();
  }
}
