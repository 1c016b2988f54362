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
  private static final byte EMPTY = 0;
  private static final byte FULL = 1;

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
   * Where the key's data record is, without an entry object: {@code out[0]} segment id, {@code out[1]}
   * offset, {@code out[2]} length. False (and {@code out} untouched) when the key has no entry or a
   * tombstone.
   */
  boolean locate(long key, long[] out) {
    long h = mix(key);
    Stripe s = stripe(h);
    synchronized (s) {
      int i = s.find(key, h);
      if (i < 0 || s.tomb[i]) {
        return false;
      }
      out[0] = s.seg[i];
      out[1] = s.off[i];
      out[2] = s.len[i];
      return true;
    }
  }

  /**
   * Puts {@code e} unless the key has an entry of an equal or higher sequence; returns the entry it
   * replaced, {@code e} itself when it was refused, or null when the key had none.
   */
  LogIndex.Entry putIfNewer(LogIndex.Entry e) {
    long h = mix(e.key());
    Stripe s = stripe(h);
    synchronized (s) {
      int i = s.find(e.key(), h);
      if (i >= 0) {
        if (s.seq[i] >= e.sequence()) {
          return e;
        }
        LogIndex.Entry old = s.entry(i);
        s.set(i, e);
        return old;
      }
      s.insert(e, h);
      return null;
    }
  }

  /** Removes the key's entry if it is still the record {@code e} names (same sequence). */
  boolean remove(LogIndex.Entry e) {
    long h = mix(e.key());
    Stripe s = stripe(h);
    synchronized (s) {
      int i = s.find(e.key(), h);
      if (i < 0 || s.seq[i] != e.sequence() || s.seg[i] != e.location().segmentId()
          || s.off[i] != e.location().offset()) {
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
        for (int i = 0; i < s.keys.length; i++) {
          if (s.state[i] == FULL && contains(segments, s.seg[i])) {
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
        for (int i = 0; i < s.keys.length; i++) {
          if (s.state[i] == FULL) {
            out.add(s.entry(i));
          }
        }
      }
    }
    return out;
  }

  /**
   * One stripe: rows of parallel arrays, linear probing with backward-shift deletion; doubles at 60%
   * occupancy, halves under 12.5%.
   */
  private static final class Stripe {
    long[] keys;
    byte[] state;
    int[] gen;
    long[] seq;
    int[] codec;
    int[] raw;
    boolean[] tomb;
    long[] seg;
    long[] off;
    int[] len;
    int size;
    long rebuilds;

    Stripe(int capacity) {
      allocate(capacity);
    }

    /** A view of {@code s}'s current arrays (what a rebuild copies from). */
    private Stripe(Stripe s) {
      keys = s.keys;
      state = s.state;
      gen = s.gen;
      seq = s.seq;
      codec = s.codec;
      raw = s.raw;
      tomb = s.tomb;
      seg = s.seg;
      off = s.off;
      len = s.len;
    }

    private void allocate(int capacity) {
      keys = new long[capacity];
      state = new byte[capacity];
      gen = new int[capacity];
      seq = new long[capacity];
      codec = new int[capacity];
      raw = new int[capacity];
      tomb = new boolean[capacity];
      seg = new long[capacity];
      off = new long[capacity];
      len = new int[capacity];
      size = 0;
    }

    private int home(long h) {
      return (int) ((h >>> 6) & (keys.length - 1));
    }

    int find(long key, long h) {
      int mask = keys.length - 1;
      for (int i = home(h), n = 0; n < keys.length; i = (i + 1) & mask, n++) {
        if (state[i] == EMPTY) {
          return -1;
        }
        if (state[i] == FULL && keys[i] == key) {
          return i;
        }
      }
      return -1;
    }

    LogIndex.Entry entry(int i) {
      return new LogIndex.Entry(keys[i], gen[i], seq[i], codec[i], raw[i], tomb[i],
          new RecordLocation(seg[i], off[i], len[i]));
    }

    void set(int i, LogIndex.Entry e) {
      keys[i] = e.key();
      gen[i] = e.generation();
      seq[i] = e.sequence();
      codec[i] = e.codec();
      raw[i] = e.rawLength();
      tomb[i] = e.tombstone();
      seg[i] = e.location().segmentId();
      off[i] = e.location().offset();
      len[i] = e.location().length();
    }

    void insert(LogIndex.Entry e, long h) {
      if ((size + 1) * 10 > keys.length * 6) {
        rebuild(keys.length * 2);
      }
      int mask = keys.length - 1;
      int i = home(h);
      while (state[i] == FULL) {
        i = (i + 1) & mask;
      }
      state[i] = FULL;
      set(i, e);
      size++;
    }

    /**
     * Deletes row {@code i} by backward shift: later rows of its probe run move into the hole, so no
     * deleted marker is left behind. A table whose size holds steady under churn (the spill log's,
     * every spill adding a key and every restore removing one) then never rebuilds, and allocates
     * nothing; it halves only when under an eighth full.
     */
    void delete(int i) {
      int mask = keys.length - 1;
      int hole = i;
      for (int j = (hole + 1) & mask; state[j] == FULL; j = (j + 1) & mask) {
        int home = home(mix(keys[j]));
        if (((j - home) & mask) >= ((j - hole) & mask)) {
          move(j, hole);
          hole = j;
        }
      }
      state[hole] = EMPTY;
      size--;
      if (keys.length > INITIAL && size * 8 < keys.length) {
        rebuild(keys.length / 2);
      }
    }

    private void move(int from, int to) {
      copyRow(this, from, to);
    }

    /** Row {@code from} of {@code src} (this stripe, or its arrays before a rebuild) into row {@code to}. */
    private void copyRow(Stripe src, int from, int to) {
      state[to] = FULL;
      keys[to] = src.keys[from];
      gen[to] = src.gen[from];
      seq[to] = src.seq[from];
      codec[to] = src.codec[from];
      raw[to] = src.raw[from];
      tomb[to] = src.tomb[from];
      seg[to] = src.seg[from];
      off[to] = src.off[from];
      len[to] = src.len[from];
    }

    /** Rehashes into {@code capacity} rows; rows move as they are (no entries built). */
    private void rebuild(int capacity) {
      Stripe old = new Stripe(this);
      allocate(capacity);
      rebuilds++;
      int mask = capacity - 1;
      for (int j = 0; j < old.keys.length; j++) {
        if (old.state[j] != FULL) {
          continue;
        }
        int i = home(mix(old.keys[j]));
        while (state[i] == FULL) {
          i = (i + 1) & mask;
        }
        copyRow(old, j, i);
        size++;
      }
    }
  }
}
