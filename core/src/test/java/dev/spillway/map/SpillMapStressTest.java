package dev.spillway.map;

import static org.assertj.core.api.Assertions.assertThat;

import dev.spillway.config.MapSettings;
import dev.spillway.memory.BlockAllocator;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Both cores hard on one map while a third thread keeps demoting its entries to NVMe: writers,
 * readers and compute-incrementers race on a small set of keys, so that reads restore blocks while
 * other threads replace, remove and demote them. Checked: every value read is whole and belongs to
 * its key (never torn, never another key's), every increment is counted exactly once, and the final
 * contents agree with what each key's owner last wrote.
 */
class SpillMapStressTest {
  private static final int SHARED_KEYS = 48;
  private static final int COUNTERS = 8;
  private static final long RUN_NANOS = TimeUnit.SECONDS.toNanos(4);

  @TempDir Path dir;

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void valuesStayWholeAndIncrementsAreExactThroughSpillsAndRestores() throws Exception {
    BlockAllocator memory = MapTestSupport.tiered(dir);
    SpillMap<Long, byte[]> map = SpillMaps.builder(memory, "stress", Long.class, byte[].class)
        .settings(MapSettings.builder("stress").segments(4).build()).build();
    SpillMap<Long, Long> counters = SpillMaps.builder(memory, "counters", Long.class, Long.class).build();
    ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
    AtomicBoolean stop = new AtomicBoolean();
    AtomicLong increments = new AtomicLong();
    AtomicLong restoredReads = new AtomicLong();
    int workers = 2;
    CyclicBarrier start = new CyclicBarrier(workers + 1);
    // Each worker owns keys of its parity and remembers what it last wrote to them.
    long[][] lastWritten = new long[workers][SHARED_KEYS];
    List<Thread> threads = new ArrayList<>();
    for (int w = 0; w < workers; w++) {
      int me = w;
      threads.add(Thread.ofPlatform().name("stress-" + w).start(() -> {
        try {
          SplittableRandom r = new SplittableRandom(me * 7919L + 1);
          long version = 0;
          start.await();
          while (!stop.get()) {
            long key = r.nextInt(SHARED_KEYS);
            boolean mine = key % workers == me;
            switch (r.nextInt(8)) {
              case 0, 1 -> {
                if (mine) {
                  version++;
                  map.put(key, stamp(key, version, 1024 + r.nextInt(6000)));
                  lastWritten[me][(int) key] = version;
                }
              }
              case 2 -> {
                if (mine && r.nextInt(4) == 0) {
                  map.remove(key);
                  lastWritten[me][(int) key] = 0;
                }
              }
              case 3 -> {
                long c = r.nextInt(COUNTERS);
                counters.merge(c, 1L, Long::sum);
                increments.incrementAndGet();
              }
              case 4 -> {
                long c = r.nextInt(COUNTERS);
                counters.compute(c, (k, v) -> v == null ? 1L : v + 1);
                increments.incrementAndGet();
              }
              default -> {
                boolean resident = map.isResident(key);
                byte[] v = map.get(key);
                if (v != null) {
                  check(key, v);
                  if (!resident) {
                    restoredReads.incrementAndGet();
                  }
                }
              }
            }
          }
        } catch (Throwable t) {
          failures.add(t);
        }
      }));
    }
    Thread demoter = Thread.ofPlatform().name("demoter").start(() -> {
      try {
        start.await();
        while (!stop.get()) {
          map.demote(256 * 1024);
          Thread.onSpinWait();
        }
      } catch (Throwable t) {
        failures.add(t);
      }
    });
    long deadline = System.nanoTime() + RUN_NANOS;
    while (System.nanoTime() < deadline && failures.isEmpty()) {
      Thread.sleep(20);
    }
    stop.set(true);
    for (Thread t : threads) {
      t.join();
    }
    demoter.join();
    try {
      assertThat(failures).isEmpty();
      long sum = 0;
      for (long c = 0; c < COUNTERS; c++) {
        Long v = counters.get(c);
        sum += v == null ? 0 : v;
      }
      assertThat(sum).as("increments counted").isEqualTo(increments.get());
      for (int key = 0; key < SHARED_KEYS; key++) {
        long expected = lastWritten[key % workers][key];
        byte[] v = map.get((long) key);
        if (expected == 0) {
          assertThat(v).as("key %d was last removed", key).isNull();
        } else {
          assertThat(v).as("key %d", key).isNotNull();
          check(key, v);
          assertThat(ByteBuffer.wrap(v).getLong(8)).as("version of key %d", key).isEqualTo(expected);
        }
      }
      assertThat(map.stats().demotions()).as("demotions: %s", map.stats()).isPositive();
      assertThat(restoredReads.get() + map.stats().l3Hits()).as("reads from NVMe: %s", map.stats()).isPositive();
    } finally {
      counters.close();
      MapTestSupport.closeAndCheck(map, memory);
    }
  }

  /** key, version, then bytes derived from both, and the length last. */
  static byte[] stamp(long key, long version, int length) {
    ByteBuffer b = ByteBuffer.allocate(length);
    b.putLong(key).putLong(version);
    SplittableRandom r = new SplittableRandom(key * 31 + version);
    while (b.remaining() > 4) {
      b.put((byte) r.nextInt());
    }
    b.putInt(length);
    return b.array();
  }

  static void check(long key, byte[] v) {
    ByteBuffer b = ByteBuffer.wrap(v);
    assertThat(b.getLong(0)).as("key stamp").isEqualTo(key);
    assertThat(b.getInt(v.length - 4)).as("length stamp of key %d", key).isEqualTo(v.length);
    byte[] expected = stamp(key, b.getLong(8), v.length);
    assertThat(v).as("bytes of key %d version %d", key, b.getLong(8)).isEqualTo(expected);
  }
}
