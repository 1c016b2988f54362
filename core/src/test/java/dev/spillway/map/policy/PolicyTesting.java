package dev.spillway.map.policy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * What the policy tests share: plain, obviously correct reference implementations of LRU, MRU, FIFO
 * and CLOCK over JDK collections (slow, and that is fine), key draws (Zipf or uniform), and a
 * policy made by name with a fixed seed.
 */
final class PolicyTesting {
  private PolicyTesting() {}

  /** The policy named {@code name}; {@code w-tinylfu} with coin seed {@code seed}. */
  static ReplacementPolicy create(String name, long seed) {
    return name.equals("w-tinylfu") ? new WTinyLfuPolicy(seed) : ReplacementPolicies.create(name);
  }

  /** A reference policy: the same protocol, written for clarity only. */
  interface Reference {
    void insert(int row);

    void access(int row);

    void update(int row);

    void remove(int row);

    /** The row to give up next, -1 when empty. */
    int victim();

    boolean contains(int row);

    static Reference of(String name) {
      return switch (name) {
        case "lru" -> new Lru();
        case "mru" -> new Mru();
        case "fifo" -> new Fifo();
        case "clock" -> new Clock();
        default -> throw new IllegalArgumentException("no reference for " + name);
      };
    }
  }

  /** LRU: a LinkedHashMap in access order; the victim is its first key. */
  static final class Lru implements Reference {
    final LinkedHashMap<Integer, Boolean> rows = new LinkedHashMap<>(16, 0.75f, true);

    @Override
    public void insert(int row) {
      rows.put(row, Boolean.TRUE);
    }

    @Override
    public void access(int row) {
      rows.get(row);
    }

    @Override
    public void update(int row) {
      rows.get(row);
    }

    @Override
    public void remove(int row) {
      rows.remove(row);
    }

    @Override
    public int victim() {
      return rows.isEmpty() ? -1 : rows.firstEntry().getKey();
    }

    @Override
    public boolean contains(int row) {
      return rows.containsKey(row);
    }
  }

  /** MRU: the newest used key other than the last inserted (while it is present), else that one. */
  static final class Mru implements Reference {
    final Lru order = new Lru();
    Integer lastInserted;

    @Override
    public void insert(int row) {
      order.insert(row);
      lastInserted = row;
    }

    @Override
    public void access(int row) {
      order.access(row);
    }

    @Override
    public void update(int row) {
      order.update(row);
    }

    @Override
    public void remove(int row) {
      order.remove(row);
      if (lastInserted != null && lastInserted == row) {
        lastInserted = null;
      }
    }

    @Override
    public int victim() {
      for (int row : order.rows.sequencedKeySet().reversed()) {
        if (lastInserted == null || row != lastInserted) {
          return row;
        }
      }
      return lastInserted == null ? -1 : lastInserted;
    }

    @Override
    public boolean contains(int row) {
      return order.contains(row);
    }
  }

  /** FIFO: a LinkedHashSet in insertion order; reads and updates change nothing. */
  static final class Fifo implements Reference {
    final LinkedHashSet<Integer> rows = new LinkedHashSet<>();

    @Override
    public void insert(int row) {
      rows.add(row);
    }

    @Override
    public void access(int row) {}

    @Override
    public void update(int row) {}

    @Override
    public void remove(int row) {
      rows.remove(row);
    }

    @Override
    public int victim() {
      return rows.isEmpty() ? -1 : rows.getFirst();
    }

    @Override
    public boolean contains(int row) {
      return rows.contains(row);
    }
  }

  /**
   * CLOCK: an ArrayList as the ring, an index as the hand, a set of referenced rows. A new row goes
   * in at the hand's index (just before the hand's row, which shifts one on), bit clear.
   */
  static final class Clock implements Reference {
    final List<Integer> ring = new ArrayList<>();
    final Set<Integer> referenced = new HashSet<>();
    int hand;

    @Override
    public void insert(int row) {
      if (ring.isEmpty()) {
        ring.add(row);
        hand = 0;
      } else {
        ring.add(hand, row);
        hand++;
      }
    }

    @Override
    public void access(int row) {
      referenced.add(row);
    }

    @Override
    public void update(int row) {
      referenced.add(row);
    }

    @Override
    public void remove(int row) {
      int at = ring.indexOf(row);
      ring.remove(Integer.valueOf(row));
      referenced.remove(row);
      if (at < hand) {
        hand--;
      }
      if (hand >= ring.size()) {
        hand = 0;
      }
    }

    @Override
    public int victim() {
      if (ring.isEmpty()) {
        return -1;
      }
      while (referenced.remove(ring.get(hand))) {
        hand = (hand + 1) % ring.size();
      }
      return ring.get(hand);
    }

    @Override
    public boolean contains(int row) {
      return ring.contains(row);
    }
  }

  /** Draws keys {@code 0 .. n-1}: Zipf(theta) (key 0 hottest) through the inverse CDF, or uniform. */
  static final class Keys {
    private final double[] cdf;
    private final int n;

    private Keys(int n, double theta) {
      this.n = n;
      if (theta == 0) {
        cdf = null;
        return;
      }
      cdf = new double[n];
      double sum = 0;
      for (int i = 0; i < n; i++) {
        sum += 1 / Math.pow(i + 1, theta);
        cdf[i] = sum;
      }
      for (int i = 0; i < n; i++) {
        cdf[i] /= sum;
      }
    }

    static Keys zipf(int n, double theta) {
      return new Keys(n, theta);
    }

    static Keys uniform(int n) {
      return new Keys(n, 0);
    }

    int next(SplittableRandom random) {
      if (cdf == null) {
        return random.nextInt(n);
      }
      int at = Arrays.binarySearch(cdf, random.nextDouble());
      return Math.min(n - 1, at >= 0 ? at : -at - 1);
    }
  }

  /**
   * Keys to dense rows as the map assigns them: a free row is reused (most recently freed first),
   * else the next new row, for which the policy's rows are grown one at a time.
   */
  static final class Rows {
    private final Map<Integer, Integer> rowOfKey = new LinkedHashMap<>();
    private final Map<Integer, Integer> keyOfRow = new LinkedHashMap<>();
    private final List<Integer> free = new ArrayList<>();
    private int next;

    Integer rowOf(int key) {
      return rowOfKey.get(key);
    }

    int keyOf(int row) {
      return keyOfRow.get(row);
    }

    /** A row for {@code key}; {@code policy}'s rows are grown when it is a new one. */
    int assign(int key, ReplacementPolicy policy) {
      int row = free.isEmpty() ? next++ : free.removeLast();
      policy.ensureRows(row + 1);
      rowOfKey.put(key, row);
      keyOfRow.put(row, key);
      return row;
    }

    void release(int row) {
      rowOfKey.remove(keyOfRow.remove(row));
      free.add(row);
    }

    Set<Integer> rows() {
      return keyOfRow.keySet();
    }
  }
}
