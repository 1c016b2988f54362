package dev.spillway.core.tier;

import java.util.ArrayList;
import java.util.List;

/**
 * The index's key → latest record map, without an object per entry: open addressing over parallel
 * primitive arrays in 64 independently locked stripes. A spill log indexes every block on the tier and
 * turns entries over at the spill rate, so a boxed key, a map node, an entry record and a location
 * record per block (what a {@code ConcurrentHashMap<Long, Entry>} holds) cost young-GC copying on every
 * spill; here an entry is a row of arrays, and {@link LogIndex.Entry} objects exist only while a
 * caller holds one. Thread-safe; each call locks one stripe (or each stripe in turn, for
 * {@link #snapshot()}).
 */
final class EntryTable {
  private static final int STRIPES = 64;
  private static final int INITIAL = 16;

  /** Indexes into the array {@link #locate} fills. */
  static final int LOC_SEGMENT = 0;
  static final int LOC_OFFSET = 1;
  static final int LOC_LENGTH = 2;
  static final int LOC_CODEC = 3;
  static final int LOC_RAW = 4;
  static final int LOC_GENERATION = 5;
  static final int LOC_SEQUENCE = 6;
  static final int LOC_CRC = 7;
  /** Length of the array {@link #locate} fills. */
  static final int LOC_FIELDS = 8;

  private final Stripe[] stripes = new Stripe[STRIPES];

  EntryTable() {
    for (int i = 0; i < STRIPES; i++) {
      stripes[i] = new Stripe(INITIAL);
    }
  }

  private static long mix(long key) {
    long h = key * 0x9E3779B97F4A7C15L;
    return h ^ (h >>> 29);
  }

  private Stripe stripe(long h) {
    return stripes[(int) (h & (STRIPES - 1))];
  }

  /** The key's entry, or null. */
  LogIndex.Entry get(long key) {
    long h = mix(key);
    Stripe s = stripe(h);
    synchronized (s) {
      int i = s.find(key, h);
      return i < 0 ? null : s.entry(i);
    }
  }

  /**
   * Where the key's data record is and what its header holds, without an entry object:
   * {@code out[LOC_SEGMENT]} segment id, {@code out[LOC_OFFSET]} offset, {@code out[LOC_LENGTH]}
   * length, {@code out[LOC_CODEC]}, {@code out[LOC_RAW]} raw length, {@code out[LOC_GENERATION]},
   * {@code out[LOC_SEQUENCE]}, {@code out[LOC_CRC]} the record's CRC32C. False (and {@code out}
   * untouched) when the key has no entry or a tombstone.
   */
  boolean locate(long key, long[] out) {
    long h = mix(key);
    Stripe s = stripe(h);
    synchronized (s) {
      int i = s.find(key, h);
      if (i < 0 || s.tombstone(i)) {
        return false;
      }
      s.locate(i, out);
      return true;
    }
  }

  /**
   * Puts {@code e} unless the key has an entry of an equal or higher sequence; returns the entry it
   * replaced, {@code e} itself when it was refused, or null when the key had none.
   */
  // Identity on purpose: REFUSED is a sentinel instance, not a value.
  @SuppressWarnings("ReferenceEquality")
  LogIndex.Entry putIfNewer(LogIndex.Entry e) {
    LogIndex.Entry old = putIfNewer(e.key(), e.generation(), e.sequence(), e.codec(), e.rawLength(), e.tombstone(),
        e.location(), e.crc());
    return old == REFUSED ? e : old;
  }

  /** What the primitive {@link #putIfNewer(long, int, long, int, int, boolean, RecordLocation, int)} answers when it refused. */
  static final LogIndex.Entry REFUSED = new LogIndex.Entry(0, 0, -1, 0, 0, false, new RecordLocation(-1, -1, -1), 0);

  /**
   * {@link #putIfNewer(LogIndex.Entry)} from the record's fields, building no entry for it (the
   * writer's path: one per record appended); returns the entry it replaced, {@link #REFUSED}, or null.
   */
  LogIndex.Entry putIfNewer(long key, int generation, long sequence, int codec, int rawLength, boolean tombstone,
      RecordLocation location, int crc) {
    long h = mix(key);
    Stripe s = stripe(h);
    synchronized (s) {
      int i = s.find(key, h);
      if (i >= 0) {
        if (s.seq(i) >= sequence) {
          return REFUSED;
        }
        LogIndex.Entry old = s.entry(i);
        s.set(i, key, generation, sequence, codec, rawLength, tombstone, location, crc);
        return old;
      }
      s.insert(key, generation, sequence, codec, rawLength, tombstone, location, crc, h);
      return null;
    }
  }

  /** Result of {@link #removeKey}: the key had no entry. */
  static final int REMOVED_NONE = 0;
  /** Result of {@link #removeKey}: a data record's entry was removed. */
  static final int REMOVED_DATA = 1;
  /** Result of {@link #removeKey}: a tombstone's entry was removed. */
  static final int REMOVED_TOMBSTONE = 2;

  /**
   * Removes the key's entry, whatever record it names, without building an entry object; fills
   * {@code out} as {@link #locate} does with what it held. Returns {@link #REMOVED_NONE},
   * {@link #REMOVED_DATA} or {@link #REMOVED_TOMBSTONE}.
   */
  int removeKey(long key, long[] out) {
    long h = mix(key);
    Stripe s = stripe(h);
    synchronized (s) {
      int i = s.find(key, h);
      if (i < 0) {
        return REMOVED_NONE;
      }
      boolean tombstone = s.tombstone(i);
      s.locate(i, out);
      s.delete(i);
      return tombstone ? REMOVED_TOMBSTONE : REMOVED_DATA;
    }
  }

  /** Removes the key's entry if it is still the record {@code e} names (same sequence). */
  boolean remove(LogIndex.Entry e) {
    long h = mix(e.key());
    Stripe s = stripe(h);
    synchronized (s) {
      int i = s.find(e.key(), h);
      if (i < 0 || s.seq(i) != e.sequence() || s.seg(i) != e.location().segmentId()
          || s.off(i) != e.location().offset()) {
        return false;
      }
      s.delete(i);
      return true;
    }
  }

  /** Times a stripe reallocated its rows (for tests: a table of steady size must not). */
  long rebuilds() {
    long n = 0;
    for (Stripe s : stripes) {
      synchronized (s) {
        n += s.rebuilds;
      }
    }
    return n;
  }

  /** Keys with an entry. */
  long size() {
    long n = 0;
    for (Stripe s : stripes) {
      synchronized (s) {
        n += s.size;
      }
    }
    return n;
  }

  /** Hands {@code sink} the entries of records in {@code segments}; only those are built. */
  void forEachIn(long[] segments, java.util.function.Consumer<LogIndex.Entry> sink) {
    for (Stripe s : stripes) {
      List<LogIndex.Entry> found = new ArrayList<>();
      synchronized (s) {
        for (int i = 0; i < s.capacity; i++) {
          if (s.full(i) && contains(segments, s.seg(i))) {
            found.add(s.entry(i));
          }
        }
      }
      found.forEach(sink); // outside the lock: the sink may do anything
    }
  }

  private static boolean contains(long[] values, long v) {
    for (long x : values) {
      if (x == v) {
        return true;
      }
    }
    return false;
  }

  /** Every entry at the time each stripe is visited (for recovery, not hot paths). */
  List<LogIndex.Entry> snapshot() {
    List<LogIndex.Entry> out = new ArrayList<>();
    for (Stripe s : stripes) {
      synchronized (s) {
        for (int i = 0; i < s.capacity; i++) {
          if (s.full(i)) {
            out.add(s.entry(i));
          }
        }
      }
    }
    return out;
  }

  /**
   * One stripe: open addressing with linear probing and backward-shift deletion over one
   * {@code long[]} of rows of {@value #ROW} longs (56 bytes: a lookup touches one or two cache lines,
   * not one per field as parallel arrays would); doubles at 60% occupancy, halves under 12.5%.
   * A row: key, sequence, segment id, offset, length | CRC &lt;&lt; 32, generation | raw length &lt;&lt; 32,
   * flags (FULL, tombstone) | codec &lt;&lt; 8.
   */
  private static final class Stripe {
    static final int ROW = 7;
    private static final int KEY = 0;
    private static final int SEQ = 1;
    private static final int SEG = 2;
    private static final int OFF = 3;
    private static final int LEN_CRC = 4;
    private static final int GEN_RAW = 5;
    private static final int FLAGS = 6;
    private static final long FULL_BIT = 1;
    private static final long TOMB_BIT = 2;

    long[] rows;
    int capacity;
    int size;
    long rebuilds;

    Stripe(int capacity) {
      allocate(capacity);
    }

    private void allocate(int n) {
      rows = new long[n * ROW];
      capacity = n;
      size = 0;
    }

    private int home(long h) {
      return (int) ((h >>> 6) & (capacity - 1));
    }

    boolean full(int i) {
      return (rows[i * ROW + FLAGS] & FULL_BIT) != 0;
    }

    boolean tombstone(int i) {
      return (rows[i * ROW + FLAGS] & TOMB_BIT) != 0;
    }

    long key(int i) {
      return rows[i * ROW + KEY];
    }

    long seq(int i) {
      return rows[i * ROW + SEQ];
    }

    long seg(int i) {
      return rows[i * ROW + SEG];
    }

    long off(int i) {
      return rows[i * ROW + OFF];
    }

    int find(long key, long h) {
      int mask = capacity - 1;
      for (int i = home(h), n = 0; n < capacity; i = (i + 1) & mask, n++) {
        int r = i * ROW;
        if ((rows[r + FLAGS] & FULL_BIT) == 0) {
          return -1;
        }
        if (rows[r + KEY] == key) {
          return i;
        }
      }
      return -1;
    }

    /** Fills {@code out} as {@link EntryTable#locate} documents, from row {@code i}. */
    void locate(int i, long[] out) {
      int r = i * ROW;
      long lenCrc = rows[r + LEN_CRC];
      long genRaw = rows[r + GEN_RAW];
      out[LOC_SEGMENT] = rows[r + SEG];
      out[LOC_OFFSET] = rows[r + OFF];
      out[LOC_LENGTH] = (int) lenCrc;
      out[LOC_CRC] = (int) (lenCrc >>> 32);
      out[LOC_GENERATION] = (int) genRaw;
      out[LOC_RAW] = (int) (genRaw >>> 32);
      out[LOC_CODEC] = (int) (rows[r + FLAGS] >>> 8);
      out[LOC_SEQUENCE] = rows[r + SEQ];
    }

    LogIndex.Entry entry(int i) {
      int r = i * ROW;
      long lenCrc = rows[r + LEN_CRC];
      long genRaw = rows[r + GEN_RAW];
      return new LogIndex.Entry(rows[r + KEY], (int) genRaw, rows[r + SEQ], (int) (rows[r + FLAGS] >>> 8),
          (int) (genRaw >>> 32), tombstone(i), new RecordLocation(rows[r + SEG], rows[r + OFF], (int) lenCrc),
          (int) (lenCrc >>> 32));
    }

    void set(int i, long key, int generation, long sequence, int codec, int rawLength, boolean tombstone,
        RecordLocation location, int crc) {
      int r = i * ROW;
      rows[r + KEY] = key;
      rows[r + SEQ] = sequence;
      rows[r + SEG] = location.segmentId();
      rows[r + OFF] = location.offset();
      rows[r + LEN_CRC] = (location.length() & 0xFFFF_FFFFL) | ((long) crc << 32);
      rows[r + GEN_RAW] = (generation & 0xFFFF_FFFFL) | ((long) rawLength << 32);
      rows[r + FLAGS] = FULL_BIT | (tombstone ? TOMB_BIT : 0) | ((long) (codec & 0xFF) << 8);
    }

    void insert(long key, int generation, long sequence, int codec, int rawLength, boolean tombstone,
        RecordLocation location, int crc, long h) {
      if ((size + 1) * 10 > capacity * 6) {
        rebuild(capacity * 2);
      }
      int mask = capacity - 1;
      int i = home(h);
      while (full(i)) {
        i = (i + 1) & mask;
      }
      set(i, key, generation, sequence, codec, rawLength, tombstone, location, crc);
      size++;
    }

    /**
     * Deletes row {@code i} by backward shift: later rows of its probe run move into the hole, so no
     * deleted marker is left behind. A table whose size holds steady under churn (the spill log's,
     * every spill adding a key and every restore removing one) then never rebuilds, and allocates
     * nothing; it halves only when under an eighth full.
     */
    void delete(int i) {
      int mask = capacity - 1;
      int hole = i;
      for (int j = (hole + 1) & mask; full(j); j = (j + 1) & mask) {
        int home = home(mix(key(j)));
        if (((j - home) & mask) >= ((j - hole) & mask)) {
          System.arraycopy(rows, j * ROW, rows, hole * ROW, ROW);
          hole = j;
        }
      }
      java.util.Arrays.fill(rows, hole * ROW, hole * ROW + ROW, 0L);
      size--;
      if (capacity > INITIAL && size * 8 < capacity) {
        rebuild(capacity / 2);
      }
    }

    private void rebuild(int newCapacity) {
      long[] old = rows;
      int oldCapacity = capacity;
      allocate(newCapacity);
      rebuilds++;
      int mask = newCapacity - 1;
      for (int j = 0; j < oldCapacity; j++) {
        if ((old[j * ROW + FLAGS] & FULL_BIT) == 0) {
          continue;
        }
        int i = home(mix(old[j * ROW + KEY]));
        while (full(i)) {
          i = (i + 1) & mask;
        }
        System.arraycopy(old, j * ROW, rows, i * ROW, ROW);
        size++;
      }
    }
  }
}
