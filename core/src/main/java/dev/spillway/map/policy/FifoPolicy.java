package dev.spillway.map.policy;

import java.util.function.IntPredicate;

/**
 * First in, first out: the victim is the entry inserted longest ago. {@link #onAccess} and {@link
 * #onUpdate} change no order (an update changes the weight only): the order is the order of {@link
 * #onInsert}, and a row removed and inserted again counts as new. An intrusive doubly linked list
 * over {@code int[]} links indexed by row; every call is O(1) and allocates nothing once {@link
 * #ensureRows} has grown the arrays. {@link #forEachColdest} walks from the oldest insert.
 */
public final class FifoPolicy extends OrderedPolicy {
  /** An empty policy; call {@link #ensureRows} before inserting. */
  public FifoPolicy() {}

  @Override
  public String name() {
    return "fifo";
  }

  @Override
  void accessed(int row, long hash) {
    // Insertion order only: a read changes nothing.
  }

  @Override
  void updated(int row, long hash, long oldWeight, long weight) {
    // Insertion order only: the new weight is counted by the caller, the place stays.
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
