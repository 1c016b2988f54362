package dev.spillway.actors.metrics;

/** Tag keys and fixed tag values of Spillway's series (Prometheus labels of the same names). */
public final class MetricTags {

  /** The size class as configuration names it ({@code 64B}, {@code 4KiB}) or {@code huge}. */
  public static final String POOL = "pool";
  /** Where bytes live: {@link #RAM} or {@link #NVME}. */
  public static final String TIER = "tier";
  /** Where an access was served: {@link #RAM} or {@link #RESTORE}. */
  public static final String SERVED = "served";
  /** A keyed map's name ({@code spillway.maps.<name>}). */
  public static final String MAP = "map";
  /** Which level of a keyed map answered a read: {@link #L1}, {@link #L2} or {@link #L3}. */
  public static final String LEVEL = "level";
  /** Why entries left a keyed map: {@link #EXPLICIT}, {@link #EXPIRED} or {@link #EVICTED}. */
  public static final String CAUSE = "cause";

  /** The off-heap memory of the allocator. */
  public static final String RAM = "ram";
  /** The segment files of the spill tier. */
  public static final String NVME = "nvme";
  /** An access that had to restore its block from the tier first. */
  public static final String RESTORE = "restore";
  /** A map's on-heap level of decoded values. */
  public static final String L1 = "l1";
  /** A map's entries in resident off-heap blocks. */
  public static final String L2 = "l2";
  /** A map's entries brought back from NVMe by the read. */
  public static final String L3 = "l3";
  /** Removed by a call ({@code remove}, {@code clear}, ...). */
  public static final String EXPLICIT = "explicit";
  /** Expired ({@code expire-after-write} or {@code expire-after-access}). */
  public static final String EXPIRED = "expired";
  /** Dropped by a bounded cache's eviction policy. */
  public static final String EVICTED = "evicted";

  private MetricTags() {}
}
