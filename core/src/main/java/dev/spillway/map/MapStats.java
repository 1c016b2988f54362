package dev.spillway.map;

/**
 * A snapshot of one map's figures since it was opened. Each segment's counters are read under its
 * lock, so each is exact for its segment; segments are read one after the other.
 *
 * @param name the map's name
 * @param entries entries now
 * @param l1Entries decoded values held on the heap now
 * @param l1Hits reads answered from the on-heap level
 * @param l2Hits reads answered from a resident off-heap block
 * @param l3Hits reads that brought an entry back from NVMe
 * @param misses reads of absent (or expired) keys
 * @param puts entries written (inserts and replacements)
 * @param removals entries removed by a call
 * @param evictions entries a bounded cache dropped
 * @param expirations entries that expired
 * @param promotions values that moved up a level: restored from NVMe by a read, or decoded into the
 *     on-heap level
 * @param demotions entries the map sent to NVMe through {@link SpillMap#demote}
 * @param loads values computed by {@code computeIfAbsent} for absent keys
 * @param loadNanos total time spent in those computations
 * @param offHeapIndexBytes off-heap bytes of the index (rows and tables)
 */
public record MapStats(
    String name, long entries, long l1Entries, long l1Hits, long l2Hits, long l3Hits, long misses, long puts,
    long removals, long evictions, long expirations, long promotions, long demotions, long loads, long loadNanos,
    long offHeapIndexBytes) {

  /** Reads answered (from any level). */
  public long hits() {
    return l1Hits + l2Hits + l3Hits;
  }

  /** Hits over reads, 0 to 1; 1 when nothing was read. */
  public double hitRatio() {
    long reads = hits() + misses;
    return reads == 0 ? 1.0 : (double) hits() / reads;
  }

  /** Hits answered from RAM (on-heap or off-heap) over reads; 1 when nothing was read. */
  public double ramHitRatio() {
    long reads = hits() + misses;
    return reads == 0 ? 1.0 : (double) (l1Hits + l2Hits) / reads;
  }

  /** Mean time of a {@code computeIfAbsent} load, in nanoseconds; 0 without loads. */
  public double averageLoadNanos() {
    return loads == 0 ? 0 : (double) loadNanos / loads;
  }
}
