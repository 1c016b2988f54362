package dev.spillway.core.tier;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The primitive entry table against a plain HashMap, over random puts, removes and lookups. */
class EntryTableTest {

  private static LogIndex.Entry entry(long key, long seq, SplittableRandom r) {
    return new LogIndex.Entry(key, r.nextInt(), seq, r.nextInt(3), r.nextInt(1 << 20), r.nextBoolean(),
        new RecordLocation(r.nextInt(100), r.nextLong(1L << 40), r.nextInt(1 << 20)), r.nextInt());
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 4, 5})
  void behavesLikeAMapKeepingTheNewestRecordPerKey(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    EntryTable table = new EntryTable();
    Map<Long, LogIndex.Entry> model = new HashMap<>();
    long[] keys = new long[2000];
    for (int i = 0; i < keys.length; i++) {
      keys[i] = switch (i) {
        case 0 -> 0;
        case 1 -> Long.MIN_VALUE;
        case 2 -> Long.MAX_VALUE;
        case 3 -> -1;
        default -> r.nextInt(4) == 0 ? i : r.nextLong();
      };
    }
    long seq = 0;
    for (int op = 0; op < 200_000; op++) {
      long key = keys[r.nextInt(op < 100_000 ? keys.length : 200)]; // later: a hot few, for churn
      switch (r.nextInt(4)) {
        case 0, 1 -> {
          long s = r.nextInt(8) == 0 ? Math.max(0, seq - r.nextInt(5)) : ++seq; // sometimes stale
          LogIndex.Entry e = entry(key, s, r);
          LogIndex.Entry old = model.get(key);
          LogIndex.Entry got = table.putIfNewer(e);
          if (old != null && old.sequence() >= s) {
            assertThat(got).isSameAs(e);
          } else {
            assertThat(got).isEqualTo(old);
            model.put(key, e);
          }
        }
        case 2 -> {
          LogIndex.Entry old = model.get(key);
          if (old != null && r.nextBoolean()) {
            assertThat(table.remove(old)).isTrue();
            model.remove(key);
          } else if (old != null) {
            LogIndex.Entry other = new LogIndex.Entry(key, 0, old.sequence() + 1_000_000, 0, 0, false, old.location(),
                old.crc());
            assertThat(table.remove(other)).as("another record of the key is not removed").isFalse();
          }
        }
        default -> assertThat(table.get(key)).isEqualTo(model.get(key));
      }
    }
    assertThat(table.size()).isEqualTo(model.size());
    assertThat(table.snapshot()).containsExactlyInAnyOrderElementsOf(model.values());
  }

  /**
   * The spill log's pattern: a steady number of live keys, each spill adding one and each restore
   * removing one. Once warmed up, the table neither grows nor rebuilds (no arrays allocated), and every
   * live key stays reachable through the deletions' backward shifts.
   */
  @org.junit.jupiter.api.Test
  void steadyChurnNeverReallocatesAndLosesNothing() {
    SplittableRandom r = new SplittableRandom(9);
    EntryTable table = new EntryTable();
    int live = 20_000;
    java.util.ArrayDeque<LogIndex.Entry> fifo = new java.util.ArrayDeque<>();
    long key = 0;
    for (int i = 0; i < live; i++) {
      LogIndex.Entry e = entry(key++, key, r);
      table.putIfNewer(e);
      fifo.add(e);
    }
    long rebuilds = -1;
    for (int i = 0; i < 25 * live; i++) {
      if (i == 5 * live) {
        // Warmed up: a stripe near its growth threshold has crossed it by now (keys spread unevenly).
        rebuilds = table.rebuilds();
      }
      // remove a random-ish old one (the oldest or one near it), add a new one
      LogIndex.Entry old = r.nextBoolean() ? fifo.poll() : fifo.pollLast();
      assertThat(table.remove(old)).isTrue();
      LogIndex.Entry e = entry(key++, key, r);
      assertThat(table.putIfNewer(e)).isNull();
      fifo.addFirst(e);
    }
    assertThat(table.rebuilds()).as("rebuilds during churn").isEqualTo(rebuilds);
    assertThat(table.size()).isEqualTo(live);
    for (LogIndex.Entry e : fifo) {
      assertThat(table.get(e.key())).isEqualTo(e);
    }
  }
}
