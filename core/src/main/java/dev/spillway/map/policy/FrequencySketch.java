package dev.spillway.map.policy;

import java.util.Arrays;

/**
 * W-TinyLFU's frequency history: a count-min sketch of 4-bit counters behind a doorkeeper, with
 * periodic aging (Einziger, Friedman, Manes, "TinyLFU: A Highly Efficient Cache Admission Policy",
 * ACM ToS 2017).
 *
 * <ul>
 *   <li><b>Sketch</b>: {@link #DEPTH} rows of {@code width} counters of 4 bits (16 to a {@code
 *       long}), {@code width} {@link #COUNTERS_PER_ENTRY} times the expected entries rounded up to
 *       a power of two. A key's counter in row {@code i} is {@code (a + i * b) &
 *       (width - 1)}, {@code a} and {@code b} the two halves of a 64-bit mix of the key (double
 *       hashing, Kirsch and Mitzenmacher). An increment raises the key's counters that are below 15
 *       (15 saturates); the estimate is the least of the four.
 *   <li><b>Doorkeeper</b>: a Bloom filter of {@link #DOOR_BITS_PER_ENTRY} bits per expected entry
 *       (rounded up to a power of two) and {@link #DOOR_PROBES} probes, in front of the sketch: a
 *       key's first increment only sets its doorkeeper bits, later ones raise its counters. So the
 *       many keys seen once in a sample never reach the counters, which stay lower for the keys that
 *       matter; the frequency is the sketch's estimate plus 1 when the doorkeeper holds the key.
 *   <li><b>Aging</b>: every increment that raises a counter counts towards a sample of {@link
 *       #SAMPLE_PER_ENTRY} times the expected entries (first occurrences, which only reach the
 *       doorkeeper, do not count, as in Caffeine's simulator with a doorkeeper: counting them made
 *       samples so short on a long-tailed trace that hit ratios fell by 0.3 to 0.4 point); when it is
 *       full, every counter is halved (rounding down), the doorkeeper is cleared, and the count
 *       restarts from half the additions that survive (less a quarter of the odd counters, whose
 *       halves were rounded down: an estimate, as in Caffeine's {@code FrequencySketch}), so old
 *       popularity fades.
 * </ul>
 *
 * <p>{@link #ensureCapacity} grows the arrays (never shrinks them) and keeps the history, aged: the
 * width doubles by copying each row onto both halves (where a key's counter lands given the masked
 * index, so every estimate stays an upper bound), then every counter is halved and the doorkeeper
 * starts empty, as at the end of a sample. Halving is what makes copying safe: a policy's rows, and
 * so its sketch, may grow from a few dozen while it fills, and a small sketch's counters and
 * doorkeeper, saturated by collisions, would otherwise be copied into every new key's estimate
 * (measured: one-hit keys then beat hot ones); each growth halves what they brought. Keys are
 * {@code int}s from {@link #keyOf}: a policy stores one per row and needs no 64-bit hash to compare
 * candidates. Not thread-safe.
 */
final class FrequencySketch {
  static final int DEPTH = 4;
  static final int MAX_COUNT = 15;
  /**
   * Counters in each row per expected entry (before rounding up to a power of two): Caffeine's
   * budget (8 bytes per entry). At 1, a row's counters averaged about an entry's frequency, and a new
   * key's least counter often tied hot keys of frequency 4 or 5 (tests caught one-hit keys beating
   * them); 2 and 4 gained 0.2 and 0.35 point of hit ratio on HitRatioBenchmark's Zipf trace over 1.
   */
  static final int COUNTERS_PER_ENTRY = 4;
  /**
   * Doorkeeper bits per expected entry (before rounding up to a power of two). A sample holds up to
   * 10 first occurrences per entry on a long-tailed trace, so at 8 bits most of the filter is set by
   * its end and false positives blur the frequencies: 16 bits gained 0.15 to 0.3 point of hit ratio
   * over 8 on HitRatioBenchmark's traces, 32 less than 0.1 over 16.
   */
  static final int DOOR_BITS_PER_ENTRY = 16;
  static final int DOOR_PROBES = 3;
  /** The sample, in increments, that ends in aging: this many times the expected entries. */
  static final int SAMPLE_PER_ENTRY = 10;
  /** Expected entries are taken between these (at 2^24 entries: 128 MiB of counters, 32 MiB of doorkeeper). */
  static final long MIN_ENTRIES = 16;
  static final long MAX_ENTRIES = 1L << 24;

  private static final long RESET_MASK = 0x7777_7777_7777_7777L;
  private static final long ONE_MASK = 0x1111_1111_1111_1111L;

  /** {@link #DEPTH} rows of {@code widthMask + 1} counters, row {@code i} at longs {@code i * rowLongs}. */
  private long[] table = new long[0];
  private int widthMask = -1;
  private int rowLongs;
  private long[] door = new long[0];
  private int doorMask = -1;
  private long entries;
  private int sampleSize = Integer.MAX_VALUE;
  private int additions;

  /** A sketch for {@code expectedEntries}; see {@link #ensureCapacity}. */
  FrequencySketch(long expectedEntries) {
    ensureCapacity(expectedEntries);
  }

  /** The sketch key of a 64-bit key hash: its 64-bit mix folded to 32 bits. */
  static int keyOf(long hash) {
    long h = mix(hash);
    return (int) (h ^ (h >>> 32));
  }

  /**
   * Sizes the sketch for {@code expectedEntries} (clamped to {@link #MIN_ENTRIES}..{@link
   * #MAX_ENTRIES}): grows the arrays if they are smaller, keeping the counts; sets the sample to
   * {@link #SAMPLE_PER_ENTRY} times the entries, larger or smaller.
   */
  void ensureCapacity(long expectedEntries) {
    long n = Math.clamp(expectedEntries, MIN_ENTRIES, MAX_ENTRIES);
    entries = n;
    sampleSize = (int) Math.min(Integer.MAX_VALUE, SAMPLE_PER_ENTRY * n);
    long pow2 = Long.highestOneBit(n - 1) << 1; // n >= 16: the least power of two >= n
    int width = (int) (pow2 * COUNTERS_PER_ENTRY);
    if (width > widthMask + 1) {
      int newRowLongs = width >>> 4;
      long[] grown = new long[DEPTH * newRowLongs];
      for (int row = 0; rowLongs > 0 && row < DEPTH; row++) {
        for (int at = 0; at < newRowLongs; at += rowLongs) {
          System.arraycopy(table, row * rowLongs, grown, row * newRowLongs + at, rowLongs);
        }
      }
      table = grown;
      rowLongs = newRowLongs;
      widthMask = width - 1;
    }
    int doorBits = (int) (pow2 * DOOR_BITS_PER_ENTRY);
    if (doorBits > doorMask + 1) {
      door = new long[doorBits >>> 6];
      doorMask = doorBits - 1;
      halve(); // the counters copied above, and the doorkeeper, now empty, start a new sample
      additions /= 2;
    }
    additions = Math.min(additions, sampleSize - 1);
  }

  /** The expected entries of the last {@link #ensureCapacity}. */
  long entries() {
    return entries;
  }

  /** The increments that end in aging. */
  int sampleSize() {
    return sampleSize;
  }

  /** The increments counted towards the current sample. */
  int additions() {
    return additions;
  }

  /** The estimated frequency of {@code key}: 0 to {@code MAX_COUNT + 1} (a doorkeeper hit adds 1). */
  int frequency(int key) {
    long h = mix(key);
    int a = (int) h;
    int b = (int) (h >>> 32) | 1;
    int min = MAX_COUNT;
    for (int i = 0; i < DEPTH; i++) {
      min = Math.min(min, counter(i, (a + i * b) & widthMask));
    }
    return min + (doorContains(h) ? 1 : 0);
  }

  /** The estimate of the sketch alone, without the doorkeeper (tests). */
  int sketchEstimate(int key) {
    return frequency(key) - (doorContains(mix(key)) ? 1 : 0);
  }

  /** Whether the doorkeeper holds {@code key} (tests). */
  boolean doorkeeperContains(int key) {
    return doorContains(mix(key));
  }

  /** Records one occurrence of {@code key}; ages every counter when the sample is full. */
  void increment(int key) {
    long h = mix(key);
    if (doorPut(h)) {
      return; // a first occurrence: the doorkeeper has it now, the counters wait for the second
    }
    int a = (int) h;
    int b = (int) (h >>> 32) | 1;
    boolean added = false;
    for (int i = 0; i < DEPTH; i++) {
      added |= incrementAt(i, (a + i * b) & widthMask);
    }
    if (added && ++additions >= sampleSize) {
      age();
    }
  }

  /** Halves every counter and clears the doorkeeper (the TinyLFU reset). */
  void age() {
    long odd = halve();
    additions = (int) Math.max(0, (additions - (odd >>> 2)) / 2);
  }

  /** Halves every counter, clears the doorkeeper; the number of odd counters (rounded down). */
  private long halve() {
    long odd = 0;
    for (int i = 0; i < table.length; i++) {
      odd += Long.bitCount(table[i] & ONE_MASK);
      table[i] = (table[i] >>> 1) & RESET_MASK;
    }
    Arrays.fill(door, 0);
    return odd;
  }

  /** Forgets every count (keeps the arrays). */
  void clear() {
    Arrays.fill(table, 0);
    Arrays.fill(door, 0);
    additions = 0;
  }

  private int counter(int row, int index) {
    long word = table[row * rowLongs + (index >>> 4)];
    return (int) (word >>> ((index & 15) << 2)) & 0xF;
  }

  private boolean incrementAt(int row, int index) {
    int slot = row * rowLongs + (index >>> 4);
    int shift = (index & 15) << 2;
    if (((table[slot] >>> shift) & 0xF) == MAX_COUNT) {
      return false;
    }
    table[slot] += 1L << shift;
    return true;
  }

  /** Sets the doorkeeper bits of the key mixed to {@code h}; whether any was clear (a new key). */
  private boolean doorPut(long h) {
    long g = mix(h);
    int a = (int) g;
    int b = (int) (g >>> 32) | 1;
    boolean added = false;
    for (int i = 0; i < DOOR_PROBES; i++) {
      int bit = (a + i * b) & doorMask;
      long mask = 1L << bit;
      if ((door[bit >>> 6] & mask) == 0) {
        door[bit >>> 6] |= mask;
        added = true;
      }
    }
    return added;
  }

  private boolean doorContains(long h) {
    long g = mix(h);
    int a = (int) g;
    int b = (int) (g >>> 32) | 1;
    for (int i = 0; i < DOOR_PROBES; i++) {
      int bit = (a + i * b) & doorMask;
      if ((door[bit >>> 6] & (1L << bit)) == 0) {
        return false;
      }
    }
    return true;
  }

  /** A 64-bit mix (the finalizer of SplitMix64 / Stafford's variant 13) of {@code x}. */
  static long mix(long x) {
    long z = x + 0x9E37_79B9_7F4A_7C15L;
    z = (z ^ (z >>> 30)) * 0xBF58_476D_1CE4_E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D0_49BB_1331_11EBL;
    return z ^ (z >>> 31);
  }
}
