package dev.spillway.core.memory;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * The forwarding table: from a moved block's key (its handle's generation and location, see
 * {@link MovedBlock#keyOf}) to the block's record. (The mover keeps a second one from the RAM slots
 * of forwarded blocks to their records.) Only blocks that moved (spilled, or restored
 * somewhere other than their home slot) have an entry, so the fast path never looks here: a moved
 * handle fails its generation check first.
 *
 * <p>Open addressing over primitive keys in 64 independently locked stripes: a lookup allocates
 * nothing, and threads touching different blocks rarely meet on a lock.
 */
final class MovedTable {
  private static final int STRIPES = 64;

  private final Stripe[] stripes = new Stripe[STRIPES];
  /**
   * Entries in the table. {@link #get} answers "absent" from it alone when it is 0, so it must never
   * be 0 while an entry is present: it goes up under the stripe's lock before an entry shows, and
   * down under the lock once the entry is gone. (Counted outside the lock, an add's late increment
   * let a remove's decrement reach 0 first, and a lookup then missed an entry whose add had
   * returned: a live moved block looked like an invalid handle.)
   */
  private final AtomicInteger size = new AtomicInteger();

  MovedTable() {
    for (int i = 0; i < STRIPES; i++) {
      stripes[i] = new Stripe();
    }
  }

  /** Entries in the table. */
  int size() {
    return size.get();
  }

  MovedBlock get(long key) {
    if (size.get() == 0) {
      return null;
    }
    Stripe s = stripe(key);
    synchronized (s) {
      return s.get(key);
    }
  }

  /** Adds {@code block} unless its key is present; returns whether it was added. */
  boolean add(MovedBlock block) {
    long key = block.key();
    Stripe s = stripe(key);
    synchronized (s) {
      if (s.get(key) != null) {
        return false;
      }
      size.incrementAndGet(); // under the lock, before the entry shows: see size
      s.put(key, block);
    }
    return true;
  }

  /** Removes {@code block} if it is the entry for its key. */
  boolean remove(MovedBlock block) {
    return remove(block.key(), block);
  }

  /**
   * The count of changes so far to the stripe of {@code key} (adds, removes, replacements): a slow
   * path that found a handle neither direct nor in the table reads it before and after its looks, and
   * concludes "no such block" only when it did not change. A live handle that is not direct always
   * has an entry (a freeze adds it before it moves the generation; an abort or a restore in place
   * rewinds the generation before removing it), so two looks that missed it straddle a removal, which
   * changes this count.
   */
  long version(long key) {
    Stripe s = stripe(key);
    synchronized (s) {
      return s.version;
    }
  }

  /** Makes {@code block} the entry of {@code key}, replacing any other. */
  void put(long key, MovedBlock block) {
    Stripe s = stripe(key);
    synchronized (s) {
      if (s.replace(key, block) == null) {
        size.incrementAndGet(); // under the lock: see size
      }
    }
  }

  /** Removes the entry of {@code key} if it is {@code block}. */
  boolean remove(long key, MovedBlock block) {
    Stripe s = stripe(key);
    synchronized (s) {
      if (!s.remove(key, block)) {
        return false;
      }
      size.decrementAndGet(); // under the lock, once the entry is gone: see size
      return true;
    }
  }

  /** Calls {@code action} for every entry; entries added or removed meanwhile may or may not be seen. */
  void forEach(Consumer<MovedBlock> action) {
    for (Stripe s : stripes) {
      MovedBlock[] copy;
      synchronized (s) {
        copy = s.values.clone();
      }
      for (MovedBlock b : copy) {
        if (b != null) {
          action.accept(b);
        }
      }
    }
  }

  private Stripe stripe(long key) {
    return stripes[(int) (mix(key) >>> 58)];
  }

  static long mix(long key) {
    long h = key * 0x9E3779B97F4A7C15L;
    return h ^ (h >>> 29);
  }

  /** One stripe: linear probing with backward-shift deletion, kept at most half full. */
  private static final class Stripe {
    long[] keys = new long[16];
    MovedBlock[] values = new MovedBlock[16];
    int count;
    /** Changes so far ({@link MovedTable#version}); written under the stripe's lock. */
    long version;

    MovedBlock get(long key) {
      int mask = keys.length - 1;
      for (int i = (int) mix(key) & mask; ; i = (i + 1) & mask) {
        MovedBlock v = values[i];
        if (v == null) {
          return null;
        }
        if (keys[i] == key) {
          return v;
        }
      }
    }

    /** Sets the value of {@code key}; returns the one it replaced, or null when the key was new. */
    MovedBlock replace(long key, MovedBlock value) {
      int mask = keys.length - 1;
      for (int i = (int) mix(key) & mask; values[i] != null; i = (i + 1) & mask) {
        if (keys[i] == key) {
          MovedBlock old = values[i];
          values[i] = value;
          version++;
          return old;
        }
      }
      put(key, value);
      return null;
    }

    void put(long key, MovedBlock value) {
      version++;
      if (2 * (count + 1) > keys.length) {
        resize(keys.length * 2);
      }
      int mask = keys.length - 1;
      int i = (int) mix(key) & mask;
      while (values[i] != null) {
        i = (i + 1) & mask;
      }
      keys[i] = key;
      values[i] = value;
      count++;
    }

    boolean remove(long key, MovedBlock expected) {
      int mask = keys.length - 1;
      int i = (int) mix(key) & mask;
      while (values[i] != null && keys[i] != key) {
        i = (i + 1) & mask;
      }
      if (values[i] != expected || expected == null) {
        return false;
      }
      version++;
      // Backward shift: pull later entries of the probe run into the hole.
      int hole = i;
      for (int j = (hole + 1) & mask; values[j] != null; j = (j + 1) & mask) {
        int home = (int) mix(keys[j]) & mask;
        if (((j - home) & mask) >= ((j - hole) & mask)) {
          keys[hole] = keys[j];
          values[hole] = values[j];
          hole = j;
        }
      }
      keys[hole] = 0;
      values[hole] = null;
      count--;
      if (keys.length > 16 && 8 * count < keys.length) {
        resize(keys.length / 2);
      }
      return true;
    }

    private void resize(int capacity) {
      long[] oldKeys = keys;
      MovedBlock[] oldValues = values;
      keys = new long[capacity];
      values = new MovedBlock[capacity];
      count = 0;
      for (int i = 0; i < oldKeys.length; i++) {
        if (oldValues[i] != null) {
          put(oldKeys[i], oldValues[i]);
        }
      }
    }
  }
}
