package dev.spillway.actors.pressure;

import java.util.Objects;
import java.util.OptionalDouble;
import java.util.OptionalLong;

/**
 * Memory of the cgroup v2 group that bounds this process: the group on the way from this process's
 * own group up to the top of the visible hierarchy with the smallest {@code memory.max} (a parent's
 * limit binds its children, as the JDK's container support also assumes), or this process's own group
 * when none sets a limit.
 *
 * @param cgroup the group's path as {@code /proc/self/cgroup} names it, {@code /} for the top
 * @param currentBytes {@code memory.current}: everything charged to the group and its children, page
 *     cache included
 * @param workingSetBytes {@code memory.current} minus {@code inactive_file} of {@code memory.stat}: the
 *     part the kernel cannot simply drop (the "working set" container tooling evicts on); equal to
 *     {@code currentBytes} when {@code memory.stat} does not give {@code inactive_file}, which overstates
 *     pressure rather than hiding it
 * @param limitBytes {@code memory.max}, empty when it is {@code max} (no limit)
 */
public record CgroupMemory(String cgroup, long currentBytes, long workingSetBytes, OptionalLong limitBytes) {

  public CgroupMemory {
    Objects.requireNonNull(cgroup, "cgroup");
    Objects.requireNonNull(limitBytes, "limitBytes");
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

  /** Whether {@code memory.max} sets a limit. */
  public boolean limited() {
    return limitBytes.isPresent();
  }

  /** {@code workingSetBytes / limitBytes}, empty when there is no limit; may exceed 1 briefly. */
  public OptionalDouble usedFraction() {
    return limited() ? OptionalDouble.of((double) workingSetBytes / limitBytes.getAsLong()) : OptionalDouble.empty();
  }
}
