package dev.spillway.map.policy;

import java.util.Arrays;

/**
 * What every policy shares: the per-row weight (0 for a row not tracked, so membership costs no
 * array of its own), the counts, the maximum, the growth of the arrays and the validation of every
 * public entry. The public methods are final here and validate; a subclass implements the hooks,
 * which see only valid calls: {@link #inserted} after the row was counted, {@link #removed} before
 * its weight is forgotten.
 */
abstract class AbstractPolicy implements ReplacementPolicy {
  /** Rows are {@code 0 <= row < 2^31 - 1}: {@link Integer#MAX_VALUE} itself is no row. */
  static final int ROW_LIMIT = Integer.MAX_VALUE;

  /** Each row's weight, 0 when untracked; an int (4 bytes a row): one entry weighs at most 2 GiB - 1. */
  int[] weights = new int[0];
  private int size;
  private long weightedSize;
  private long maximum = Long.MAX_VALUE;

  @Override
  public final void ensureRows(int rows) {
    if (rows < 0) {
      throw new IllegalArgumentException("ensureRows(" + rows + "): rows must be >= 0");
    }
    int capacity = weights.length;
    if (rows <= capacity) {
      return;
    }
    // Grow by half again at least, so that a caller adding rows one by one copies O(rows) in all.
    int grown = (int) Math.min(ROW_LIMIT, Math.max((long) rows, capacity + (capacity >> 1) + 16L));
    weights = Arrays.copyOf(weights, grown);
    grow(grown);
  }

  /** The number of rows made usable so far. */
  final int rowCapacity() {
    return weights.length;
  }

  @Override
  public final void setMaximum(long maximum) {
    if (maximum < 1) {
      throw new IllegalArgumentException("maximum " + maximum + " is below 1");
    }
    this.maximum = maximum;
    maximumChanged();
  }

  @Override
  public final long maximum() {
    return maximum;
  }

  @Override
  public final void onInsert(int row, long hash, long weight) {
    checkRow(row);
    checkWeight(row, weight);
    if (row >= weights.length) {
      throw new IllegalArgumentException("row " + row + " is beyond the " + weights.length
          + " rows made usable: call ensureRows(" + (row + 1L) + ") first");
    }
    if (weights[row] != 0) {
      throw new IllegalStateException("row " + row + " is tracked already: onRemove it before inserting it again");
    }
    if (weightedSize > Long.MAX_VALUE - weight) {
      throw new IllegalArgumentException("weight " + weight + " of row " + row
          + " would overflow the weighted size " + weightedSize);
    }
    weights[row] = (int) weight;
    size++;
    weightedSize += weight;
    inserted(row, hash, weight);
  }

  @Override
  public final void onAccess(int row, long hash) {
    checkTracked(row, "onAccess");
    accessed(row, hash);
  }

  @Override
  public final void onUpdate(int row, long hash, long weight) {
    checkTracked(row, "onUpdate");
    checkWeight(row, weight);
    long old = weights[row];
    if (weightedSize - old > Long.MAX_VALUE - weight) {
      throw new IllegalArgumentException("weight " + weight + " of row " + row
          + " would overflow the weighted size " + weightedSize);
    }
    weights[row] = (int) weight;
    weightedSize += weight - old;
    updated(row, hash, old, weight);
  }

  @Override
  public final void onRemove(int row) {
    checkRow(row);
    if (row >= weights.length || weights[row] == 0) {
      return;
    }
    removed(row);
    weightedSize -= weights[row];
    weights[row] = 0;
    size--;
  }

  @Override
  public final boolean contains(int row) {
    checkRow(row);
    return row < weights.length && weights[row] != 0;
  }

  @Override
  public final int size() {
    return size;
  }

  @Override
  public final long weightedSize() {
    return weightedSize;
  }

  @Override
  public final void clear() {
    cleared();
    Arrays.fill(weights, 0);
    size = 0;
    weightedSize = 0;
  }

  @Override
  public String toString() {
    return name() + "[size=" + size + ", weightedSize=" + weightedSize + ", maximum=" + maximum + "]";
  }

  // ---- hooks -----------------------------------------------------------------------------------

  /** Grows the subclass's per-row arrays to {@code capacity} rows (the only place that allocates them). */
  abstract void grow(int capacity);

  /** The maximum changed; nothing by default. */
  void maximumChanged() {}

  /** Row {@code row} joined with {@code weight}, already counted. */
  abstract void inserted(int row, long hash, long weight);

  /** Tracked row {@code row} was read. */
  abstract void accessed(int row, long hash);

  /** Tracked row {@code row} was replaced, its weight now {@code weight} (counted already). */
  abstract void updated(int row, long hash, long oldWeight, long weight);

  /** Tracked row {@code row} leaves; its weight is still recorded. */
  abstract void removed(int row);

  /** Forget every row's links (the weights are cleared after). */
  abstract void cleared();

  // ---- validation ------------------------------------------------------------------------------

  static void checkRow(int row) {
    if (row < 0 || row == ROW_LIMIT) {
      throw new IllegalArgumentException("row " + row + " is out of range: allowed 0 <= row < 2^31 - 1");
    }
  }

  private static void checkWeight(int row, long weight) {
    if (weight < 1 || weight > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("weight " + weight + " of row " + row + " is not allowed: 1 to "
          + Integer.MAX_VALUE);
    }
  }

  private void checkTracked(int row, String call) {
    checkRow(row);
    if (row >= weights.length || weights[row] == 0) {
      throw new IllegalStateException(call + "(" + row + "): row " + row + " is not tracked");
    }
  }
}
