package dev.spillway.map.policy;

import java.util.function.IntPredicate;

/**
 * The order in which one segment of a map gives entries up: which entry an L1 level drops, which
 * resident entry goes to NVMe first, which entry a bounded cache evicts. Entries are named by the
 * caller's dense row numbers ({@code 0 <= row < 2^31 - 1}, reused after {@link #onRemove}) and carry a
 * 64-bit key hash (for frequency-based policies) and a weight (1 per entry, or bytes).
 *
 * <p>Not thread-safe: the caller serializes every call (a map segment holds its lock). No call
 * allocates once the policy has grown to its rows ({@link #ensureRows}). A policy keeps per-row state
 * in primitive arrays, a few bytes per row, never an object per entry.
 *
 * <p>Protocol: {@link #onInsert} when an entry joins, {@link #onAccess} when it is read, {@link
 * #onUpdate} when its value is replaced, {@link #onRemove} when it leaves for any reason. While {@link
 * #weightedSize()} exceeds {@link #maximum()}, the caller asks {@link #victim()} and removes that
 * entry (calling {@link #onRemove}); the victim may be the entry just inserted (an admission policy
 * refusing it).
 */
public interface ReplacementPolicy {

  /** The policy's name as configured: {@code lru}, {@code mru}, {@code fifo}, {@code clock}, {@code w-tinylfu}. */
  String name();

  /** Makes rows {@code 0 <= row < rows} usable; grows backing arrays if needed, never shrinks. */
  void ensureRows(int rows);

  /**
   * Sets the weight the caller keeps the policy under (entries when every weight is 1). Used by
   * policies whose structure depends on it (W-TinyLFU's window and protected shares, its sketch
   * size); the caller enforces it through {@link #victim()}.
   *
   * @throws IllegalArgumentException when {@code maximum < 1}
   */
  void setMaximum(long maximum);

  /** The maximum of {@link #setMaximum} ({@link Long#MAX_VALUE} until set). */
  long maximum();

  /**
   * Entry {@code row}, not tracked now, joins; counts as its first access.
   *
   * @throws IllegalArgumentException when {@code weight < 1}
   * @throws IllegalStateException when the row is tracked already
   */
  void onInsert(int row, long hash, long weight);

  /** Tracked entry {@code row} was read. */
  void onAccess(int row, long hash);

  /**
   * Tracked entry {@code row}'s value was replaced, its weight now {@code weight}: an access for every
   * policy but {@code fifo}, which keeps insertion order.
   */
  void onUpdate(int row, long hash, long weight);

  /** Tracked entry {@code row} left; the row may be inserted again later. Ignores untracked rows. */
  void onRemove(int row);

  /** Whether {@code row} is tracked. */
  boolean contains(int row);

  /**
   * The entry to give up next, or -1 when none is tracked. Does not remove it. For {@code mru} the
   * victim is the most recently used entry other than the entry inserted last (evicting the entry
   * that was just let in would make the policy useless); for {@code w-tinylfu} it is whichever of the
   * window's candidate and the main space's victim the frequency sketch admits less.
   */
  int victim();

  /**
   * Visits tracked rows from the most expendable on, as {@link #victim()} would order them were
   * nothing else to happen, until {@code visitor} returns false or every row was visited. For
   * demotion: the caller spills the rows it is shown. The visitor must not call back into the policy.
   */
  void forEachColdest(IntPredicate visitor);

  /** How many entries are tracked. */
  int size();

  /** The sum of the tracked entries' weights. */
  long weightedSize();

  /** Forgets every entry (keeps arrays and, for frequency-based policies, nothing of the history). */
  void clear();
}
