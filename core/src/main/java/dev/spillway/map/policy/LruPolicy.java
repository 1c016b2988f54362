package dev.spillway.map.policy;

import java.util.function.IntPredicate;

/**
 * Least recently used: the victim is the entry whose last insert, access or update is the oldest.
 * An intrusive doubly linked list over {@code int[]} links indexed by row, in order of last use;
 * every call is O(1) and allocates nothing once {@link #ensureRows} has grown the arrays. About 16
 * bytes per row (two links and the weight). {@link #forEachColdest} walks the list from its least
 * recently used end.
 */
public final class LruPolicy extends OrderedPolicy {
  /** An empty policy; call {@link #ensureRows} before inserting. */
  public LruPolicy() {}

  @Override
  public String name() {
    return "lru";
  }

  @Override
  public int victim() {
    return oldest();
  }

  @Override
  public void forEachColdest(IntPredicate visitor) {
    forEachOldestFirst(visitor);
  }
}
