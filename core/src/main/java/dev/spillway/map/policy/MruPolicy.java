package dev.spillway.map.policy;

import java.util.function.IntPredicate;

/**
 * Most recently used: the victim is the entry whose last insert, access or update is the newest,
 * except the entry inserted last. That exception is what makes MRU usable under the caller's
 * protocol (insert, then give up victims while over the maximum): without it the entry just let in
 * would be the one given up, and the policy would never admit anything. Precisely: the policy
 * remembers the row of the latest {@link #onInsert} while that row stays tracked (its {@link
 * #onRemove} forgets it; a later access or update does not). The victim is the most recently used
 * row other than the remembered one; the remembered row itself only when it is the only row.
 * {@link #forEachColdest} visits the rows from the most recently used on, skipping the remembered
 * row, and visits it last, which is the order repeated {@link #victim()} and {@link #onRemove}
 * would give.
 *
 * <p>An intrusive doubly linked list over {@code int[]} links indexed by row, in order of last
 * use; every call is O(1) and allocates nothing once {@link #ensureRows} has grown the arrays.
 */
public final class MruPolicy extends OrderedPolicy {
  /** The row of the latest insert while it is tracked, else {@link RowDeques#NONE}. */
  private int lastInserted = RowDeques.NONE;

  /** An empty policy; call {@link #ensureRows} before inserting. */
  public MruPolicy() {}

  @Override
  public String name() {
    return "mru";
  }

  @Override
  void inserted(int row, long hash, long weight) {
    super.inserted(row, hash, weight);
    lastInserted = row;
  }

  @Override
  void removed(int row) {
    super.removed(row);
    if (row == lastInserted) {
      lastInserted = RowDeques.NONE;
    }
  }

  @Override
  void cleared() {
    super.cleared();
    lastInserted = RowDeques.NONE;
  }

  @Override
  public int victim() {
    int newest = newest();
    if (newest != lastInserted || newest == RowDeques.NONE) {
      return newest;
    }
    int before = order.prev(newest);
    return before != RowDeques.NONE ? before : newest;
  }

  @Override
  public void forEachColdest(IntPredicate visitor) {
    for (int row = newest(); row != RowDeques.NONE; ) {
      int prev = order.prev(row);
      if (row != lastInserted && !visitor.test(row)) {
        return;
      }
      row = prev;
    }
    if (lastInserted != RowDeques.NONE) {
      var _ = visitor.test(lastInserted); // the last row: nothing follows whatever it answers
    }
  }
}
