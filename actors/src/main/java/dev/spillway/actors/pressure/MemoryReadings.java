package dev.spillway.actors.pressure;

import java.util.Objects;

/**
 * One reading of every memory source, each present or absent on its own.
 *
 * @param system host RAM from {@code /proc/meminfo}
 * @param cgroup the cgroup (v2, else v1) that bounds this process
 * @param direct JVM direct memory
 */
public record MemoryReadings(Reading<SystemMemory> system, Reading<CgroupMemory> cgroup, Reading<DirectMemory> direct) {

  public MemoryReadings {
    Objects.requireNonNull(system, "system");
    Objects.requireNonNull(cgroup, "cgroup");
    Objects.requireNonNull(direct, "direct");
  }

  /** Readings where every source is absent for {@code reason}. */
  public static MemoryReadings absent(String reason) {
    return new MemoryReadings(Reading.absent(reason), Reading.absent(reason), Reading.absent(reason));
  }
}
