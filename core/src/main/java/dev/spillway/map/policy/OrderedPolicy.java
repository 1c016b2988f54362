package dev.spillway.map.policy;

import java.util.function.IntPredicate;

/**
 * The three policies that keep one order of their rows, oldest first: {@link LruPolicy} (order of
 * last use), {@link MruPolicy} (the same order, given up from the other end) and {@link FifoPolicy}
 * (order of insertion). One intrusive deque over {@code int} arrays; O(1) per call.
 */
abstract sealed class OrderedPolicy extends AbstractPolicy permits LruPolicy, MruPolicy, FifoPolicy {
  private static final int ORDER = 0;

  /** Rows oldest first: the first was used (or, for FIFO, inserted) least recently. */
  final RowDeques order = new RowDeques(1);

  @Override
  final void grow(int capacity) {
    order.grow(capacity);
  }

  @Override
  void inserted(int row, long hash, long weight) {
    order.addLast(ORDER, row);
  }

  @Override
  void accessed(int row, long hash) {
    order.moveToLast(ORDER, row);
  }

  @Override
  void updated(int row, long hash, long oldWeight, long weight) {
    order.moveToLast(ORDER, row);
  }

  @Override
  void removed(int row) {
    order.remove(ORDER, row);
  }

  @Override
  void cleared() {
    order.clear();
  }

  /** The oldest row, or {@link RowDeques#NONE}. */
  final int oldest() {
    return order.first(ORDER);
  }

  /** The newest row, or {@link RowDeques#NONE}. */
  final int newest() {
    return order.last(ORDER);
  }

  /** Visits the rows oldest first, until {@code visitor} returns false. */
  final void forEachOldestFirst(IntPredicate visitor) {
    for (int row = oldest(); row != RowDeques.NONE; ) {
      int next = order.next(row); // read first: the visitor may not call back, but be safe anyway
      if (!visitor.test(row)) {
        return;
      }
      row = next;
    }
  }
}
