package dev.spillway.actors.metrics;

/** Tag keys and fixed tag values of Spillway's series (Prometheus labels of the same names). */
public final class MetricTags {

  /** The size class as configuration names it ({@code 64B}, {@code 4KiB}) or {@code huge}. */
  public static final String POOL = "pool";
  /** Where bytes live: {@link #RAM} or {@link #NVME}. */
  public static final String TIER = "tier";
  /** Where an access was served: {@link #RAM} or {@link #RESTORE}. */
  public static final String SERVED = "served";

  /** The off-heap memory of the allocator. */
  public static final String RAM = "ram";
  /** The segment files of the spill tier. */
  public static final String NVME = "nvme";
  /** An access that had to restore its block from the tier first. */
  public static final String RESTORE = "restore";

  private MetricTags() {}
}
