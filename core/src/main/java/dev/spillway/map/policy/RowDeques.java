package dev.spillway.map.policy;

import java.util.Arrays;

/**
 * A few intrusive doubly linked deques of rows over two shared {@code int} arrays: a row is in at
 * most one deque at a time, and its links are {@code prev[row]} and {@code next[row]} ({@link #NONE}
 * at the ends). Each deque runs from its first (oldest, head) to its last (newest, tail) row. Every
 * operation is O(1) and allocates nothing; only {@link #grow} allocates. The caller knows which
 * deque a row is in: nothing here checks it.
 */
final class RowDeques {
  /** No row: the end of a deque, or an empty deque's first and last. */
  static final int NONE = -1;

  private int[] prev = new int[0];
  private int[] next = new int[0];
  private final int[] first;
  private final int[] last;

  RowDeques(int deques) {
    first = new int[deques];
    last = new int[deques];
    clear();
  }

  void grow(int capacity) {
    prev = Arrays.copyOf(prev, capacity);
    next = Arrays.copyOf(next, capacity);
  }

  /** Empties every deque (the links of former members are left as they were; they are unused). */
  void clear() {
    Arrays.fill(first, NONE);
    Arrays.fill(last, NONE);
  }

  int first(int deque) {
    return first[deque];
  }

  int last(int deque) {
    return last[deque];
  }

  /** The row after {@code row} towards the last, or {@link #NONE}. */
  int next(int row) {
    return next[row];
  }

  /** The row before {@code row} towards the first, or {@link #NONE}. */
  int prev(int row) {
    return prev[row];
  }

  boolean isEmpty(int deque) {
    return first[deque] == NONE;
  }

  /** Appends {@code row}, in no deque now, as the last of {@code deque}. */
  void addLast(int deque, int row) {
    int tail = last[deque];
    prev[row] = tail;
    next[row] = NONE;
    if (tail == NONE) {
      first[deque] = row;
    } else {
      next[tail] = row;
    }
    last[deque] = row;
  }

  /** Unlinks {@code row} from {@code deque}, which holds it. */
  void remove(int deque, int row) {
    int p = prev[row];
    int n = next[row];
    if (p == NONE) {
      first[deque] = n;
    } else {
      next[p] = n;
    }
    if (n == NONE) {
      last[deque] = p;
    } else {
      prev[n] = p;
    }
  }

  /** Makes {@code row}, in {@code deque}, its last. */
  void moveToLast(int deque, int row) {
    if (last[deque] != row) {
      remove(deque, row);
      addLast(deque, row);
    }
  }
}
