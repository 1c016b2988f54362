package dev.spillway;

/**
 * Splits the facade's accesses of one metrics tick into served from RAM and restored first, from
 * three running totals: accesses, restores, and restores asked for ahead of any access (prefetches).
 *
 * <p>The totals are read at different moments by a tick that races the accessing threads, so a tick
 * can see a restore before the access that needed it. Such a restore is not dropped: only the misses
 * attributed to an access are consumed, and one seen early is attributed at the first tick whose
 * accesses include its access. Accesses are counted after they complete (so after their restore),
 * and the tick reads the accesses before the restores, which makes the opposite case impossible:
 * an access never reaches a tick without its restore. At rest the lifetime totals are exact.
 *
 * <p>Not thread-safe: one owner (the metrics tick) at a time.
 */
final class MissAttribution {
  private long accessesAtTick;
  private long attributedMisses;

  /**
   * The accesses since the previous call, as {@code {fromRam, restored}}.
   *
   * @param accesses accesses so far (read before the other two)
   * @param restores restores so far, of every cause
   * @param prefetched restores so far that were asked for ahead of any access
   */
  long[] next(long accesses, long restores, long prefetched) {
    long accessDelta = Math.max(0, accesses - accessesAtTick);
    long missDelta = Math.min(accessDelta, Math.max(0, restores - prefetched - attributedMisses));
    accessesAtTick = Math.max(accessesAtTick, accesses);
    attributedMisses += missDelta;
    return new long[] {accessDelta - missDelta, missDelta};
  }
}
