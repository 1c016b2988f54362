package dev.spillway.map.policy;

import java.util.Arrays;
import java.util.function.IntPredicate;

/**
 * Second-chance CLOCK: the rows stand on a ring, each with a reference bit, and a hand points at
 * the row the next sweep looks at first. Precisely:
 *
 * <ul>
 *   <li>{@link #onInsert}: the row joins the ring immediately before the hand, so it is the last row
 *       the hand reaches in its current turn (into an empty ring: the row alone, under the hand). Its
 *       reference bit starts clear: the insert is its first access, and a second one earns it its
 *       second chance.
 *   <li>{@link #onAccess} and {@link #onUpdate}: set the row's reference bit. Nothing moves.
 *   <li>{@link #victim()}: while the row under the hand has its bit set, clears it and moves the hand
 *       to the next row; then returns the row under the hand, which stays there. Calling it again
 *       returns the same row until something changes. Amortized O(1): each step past a row pays for
 *       the access that set its bit.
 *   <li>{@link #onRemove}: the row leaves the ring; when it was under the hand, the hand moves to the
 *       next row.
 *   <li>{@link #forEachColdest}: the rows with a clear bit in ring order from the hand, then those
 *       with a set bit in ring order from the hand: the order in which repeated {@link #victim()}
 *       and {@link #onRemove} would give them up. It changes no bit and does not move the hand.
 * </ul>
 *
 * <p>A ring of intrusive {@code int[]} links and a bit set, indexed by row; nothing is allocated
 * once {@link #ensureRows} has grown the arrays.
 */
public final class ClockPolicy extends AbstractPolicy {
  private static final int NONE = RowDeques.NONE;

  private int[] prev = new int[0];
  private int[] next = new int[0];
  private long[] referenced = new long[0];
  /** The row the next sweep examines first; {@link #NONE} when the ring is empty. */
  private int hand = NONE;

  /** An empty policy; call {@link #ensureRows} before inserting. */
  public ClockPolicy() {}

  @Override
  public String name() {
    return "clock";
  }

  @Override
  void grow(int capacity) {
    prev = Arrays.copyOf(prev, capacity);
    next = Arrays.copyOf(next, capacity);
    referenced = Arrays.copyOf(referenced, (capacity + 63) >>> 6);
  }

  @Override
  void inserted(int row, long hash, long weight) {
    clearBit(row);
    if (hand == NONE) {
      prev[row] = row;
      next[row] = row;
      hand = row;
      return;
    }
    int before = prev[hand];
    prev[row] = before;
    next[row] = hand;
    next[before] = row;
    prev[hand] = row;
  }

  @Override
  void accessed(int row, long hash) {
    referenced[row >>> 6] |= 1L << row;
  }

  @Override
  void updated(int row, long hash, long oldWeight, long weight) {
    accessed(row, hash);
  }

  @Override
  void removed(int row) {
    clearBit(row);
    int n = next[row];
    if (n == row) {
      hand = NONE;
      return;
    }
    int p = prev[row];
    next[p] = n;
    prev[n] = p;
    if (hand == row) {
      hand = n;
    }
  }

  @Override
  void cleared() {
    Arrays.fill(referenced, 0);
    hand = NONE;
  }

  @Override
  public int victim() {
    if (hand == NONE) {
      return NONE;
    }
    while (isReferenced(hand)) {
      clearBit(hand);
      hand = next[hand];
    }
    return hand;
  }

  @Override
  public void forEachColdest(IntPredicate visitor) {
    if (hand == NONE) {
      return;
    }
    // First turn: the rows the hand would give up as it reaches them; second: the rows it spared.
    for (int pass = 0; pass < 2; pass++) {
      boolean spared = pass == 1;
      int row = hand;
      do {
        int n = next[row];
        if (isReferenced(row) == spared && !visitor.test(row)) {
          return;
        }
        row = n;
      } while (row != hand);
    }
  }

  private boolean isReferenced(int row) {
    return (referenced[row >>> 6] & (1L << row)) != 0;
  }

  private void clearBit(int row) {
    referenced[row >>> 6] &= ~(1L << row);
  }
}
