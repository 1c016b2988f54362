package dev.spillway.actors.pressure;

import java.util.Objects;
import java.util.Optional;

/**
 * The memory budget to assume when none is configured: {@code fraction} of the memory this process
 * can have ({@link MemoryCeiling}), which is {@code MemTotal} or, when the cgroup (v2 {@code
 * memory.max}, v1 {@code memory.limit_in_bytes}) sets a smaller limit, that limit. When neither is
 * known (not Linux, {@code /proc} hidden, an unlimited cgroup without {@code /proc/meminfo}) the
 * caller's fallback is the budget as it stands, not scaled by the fraction. The result is at least
 * one byte.
 *
 * @param bytes the budget
 * @param basis what it was derived from
 * @param basisBytes the size of that basis ({@code bytes} itself for {@link Basis#FALLBACK})
 */
public record DefaultBudget(long bytes, Basis basis, long basisBytes) {

  /** What a default budget was derived from. */
  public enum Basis {
    /** {@code MemTotal} of {@code /proc/meminfo}. */
    MEM_TOTAL,
    /** The limit of the cgroup bounding this process (v2 or v1), smaller than {@code MemTotal}. */
    CGROUP_LIMIT,
    /** Neither was known: the caller's fallback. */
    FALLBACK
  }

  public DefaultBudget {
    Objects.requireNonNull(basis, "basis");
    if (bytes <= 0 || basisBytes <= 0) {
      throw new IllegalArgumentException("bytes and basisBytes must be positive: " + bytes + ", " + basisBytes);
    }
  }

  /** {@code fraction} (in (0, 1]) of the memory {@code readings} allow, else {@code fallbackBytes}. */
  public static DefaultBudget of(double fraction, long fallbackBytes, MemoryReadings readings) {
    if (!(fraction > 0.0 && fraction <= 1.0)) {
      throw new IllegalArgumentException("fraction must be in (0, 1]: " + fraction);
    }
    if (fallbackBytes <= 0) {
      throw new IllegalArgumentException("fallbackBytes must be positive: " + fallbackBytes);
    }
    Optional<MemoryCeiling> ceiling = MemoryCeiling.of(readings);
    if (ceiling.isEmpty()) {
      return new DefaultBudget(fallbackBytes, Basis.FALLBACK, fallbackBytes);
    }
    Basis basis = ceiling.get().basis();
    long basisBytes = ceiling.get().bytes();
    // The double product loses at most a few bytes of a budget of gigabytes; the cast saturates.
    long bytes = Math.max(1L, (long) (fraction * basisBytes));
    return new DefaultBudget(bytes, basis, basisBytes);
  }
}
