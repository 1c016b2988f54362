package dev.spillway.actors.pressure;

import dev.spillway.actors.pressure.DefaultBudget.Basis;
import java.util.Objects;
import java.util.Optional;

/**
 * The most memory this process can have: {@code MemTotal} of {@code /proc/meminfo}, or the limit of
 * the cgroup bounding it (v2 or v1, a parent's included) when that is smaller. A tie goes to {@code
 * MemTotal}: the cgroup is named only when it is what binds. Unknown when neither figure could be read
 * (not Linux, {@code /proc} hidden, an unlimited cgroup without {@code /proc/meminfo}).
 *
 * @param bytes the figure, positive
 * @param basis {@link Basis#MEM_TOTAL} or {@link Basis#CGROUP_LIMIT}
 * @param source what the figure is, for messages: {@code physical RAM (MemTotal)} or {@code cgroup v1
 *     limit of /docker/abc}
 */
public record MemoryCeiling(long bytes, Basis basis, String source) {

  public MemoryCeiling {
    Objects.requireNonNull(basis, "basis");
    Objects.requireNonNull(source, "source");
    if (bytes <= 0) {
      throw new IllegalArgumentException("bytes must be positive: " + bytes);
    }
    if (basis == Basis.FALLBACK) {
      throw new IllegalArgumentException("a ceiling is MemTotal or a cgroup limit, never " + basis);
    }
  }

  /** The ceiling {@code readings} give, or empty when they give neither figure. */
  public static Optional<MemoryCeiling> of(MemoryReadings readings) {
    Optional<SystemMemory> system = readings.system().optional();
    Optional<CgroupMemory> limited = readings.cgroup().optional().filter(CgroupMemory::limited);
    if (limited.isPresent()
        && (system.isEmpty() || limited.get().limitBytes().getAsLong() < system.get().totalBytes())) {
      CgroupMemory group = limited.get();
      return Optional.of(new MemoryCeiling(group.limitBytes().getAsLong(), Basis.CGROUP_LIMIT,
          group.version().label() + " limit of " + group.cgroup()));
    }
    return system.map(s -> new MemoryCeiling(s.totalBytes(), Basis.MEM_TOTAL, "physical RAM (MemTotal)"));
  }
}
