package dev.spillway.core.memory;

import dev.spillway.memory.AllocatorStats;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.PoolStats;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Several threads (more than the cores) allocate, write a pattern unique to the block, verify it,
 * and free, half of their blocks passing through a shared queue to be verified and freed by another
 * thread. A claim map proves no slot is handed out twice; every block's pattern proves no block was
 * overwritten by another, while a housekeeping thread runs {@code maintain()} (grow, shrink, slab
 * release) and {@code stats()} throughout. Runs a fixed number of operations, never a fixed time.
 */
class ConcurrentStressTest extends AllocatorTestBase {
  private static final int THREADS = 4;
  private static final int OPS_PER_THREAD = 1_000_000;

  @Test
  void noSlotIsLostOrHandedOutTwiceUnderContention() throws Exception {
    BlockAllocator a = allocator("small-slab-size = 64 KiB, thread-cache.max-blocks-per-class = 16");
    ConcurrentHashMap<Long, Long> claims = new ConcurrentHashMap<>();
    BlockingQueue<long[]> shared = new ArrayBlockingQueue<>(4096);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    CountDownLatch start = new CountDownLatch(1);
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < THREADS; t++) {
      int id = t;
      threads.add(Thread.ofPlatform().name("stress-" + t).start(() -> {
        try {
          start.await();
          run(a, id, claims, shared);
        } catch (Throwable e) {
          failure.compareAndSet(null, e);
        }
      }));
    }
    // Housekeeping runs throughout: grow, shrink (slab release), cache reaping and statistics must
    // all be safe against the churning threads.
    java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
    java.util.concurrent.atomic.AtomicLong passes = new java.util.concurrent.atomic.AtomicLong();
    Thread housekeeper = Thread.ofPlatform().name("stress-maintain").start(() -> {
      try {
        start.await();
        while (!done.get()) {
          a.control().maintain();
          AllocatorStats s = a.stats();
          if (s.blocksInUse() < 0 || s.residentBytes() < 0) {
            throw new AssertionError("impossible statistics: " + s);
          }
          passes.incrementAndGet();
        }
      } catch (Throwable e) {
        failure.compareAndSet(null, e);
      }
    });
    start.countDown();
    for (Thread t : threads) {
      t.join();
    }
    done.set(true);
    housekeeper.join();
    assertThat(passes.get()).as("maintenance passes during the run").isPositive();
    if (failure.get() != null) {
      throw new AssertionError("a stress thread failed", failure.get());
    }
    for (long[] item; (item = shared.poll()) != null; ) {
      verifyAndFree(a, item, claims);
    }
    assertThat(claims).isEmpty();
    a.control().maintain(); // the worker threads are dead: their caches go back
    AllocatorStats stats = a.stats();
    assertThat(stats.blocksInUse()).isZero();
    assertThat(stats.requestedBytes()).isZero();
    for (PoolStats p : stats.pools()) {
      assertThat(p.freeBlocks()).as("class %s", p.name()).isEqualTo(p.capacityBlocks());
      assertThat(p.cachedBlocks()).as("class %s", p.name()).isZero();
      assertThat(p.allocations()).as("class %s", p.name()).isEqualTo(p.frees());
    }
  }

  private static void run(BlockAllocator a, int id, ConcurrentHashMap<Long, Long> claims,
      BlockingQueue<long[]> shared) {
    SplittableRandom random = new SplittableRandom(1000 + id);
    long[] mine = new long[256];
    long[] stamps = new long[256];
    int count = 0;
    for (int i = 0; i < OPS_PER_THREAD; i++) {
      int op = random.nextInt(10);
      if (op < 5 && count < mine.length) {
        long size = 16L + random.nextInt(random.nextInt(8) == 0 ? 40_000 : 600); // head and tail stamps apart
        long h = a.allocate(size);
        long stamp = ((long) id << 56) ^ i ^ (h << 8);
        Long prev = claims.put(key(h), stamp);
        if (prev != null) {
          throw new AssertionError("slot " + Handles.format(h) + " handed out twice");
        }
        a.putLong(h, 0, stamp);
        a.putLong(h, size - 8, ~stamp);
        mine[count] = h;
        stamps[count++] = stamp;
      } else if (count > 0) {
        int k = random.nextInt(count);
        long h = mine[k];
        long stamp = stamps[k];
        mine[k] = mine[--count];
        stamps[k] = stamps[count];
        long[] item = {h, stamp};
        if (op < 8 || !shared.offer(item)) {
          verifyAndFree(a, item, claims);
        }
        long[] other = shared.poll();
        if (other != null) {
          verifyAndFree(a, other, claims);
        }
      }
    }
    for (int k = 0; k < count; k++) {
      verifyAndFree(a, new long[] {mine[k], stamps[k]}, claims);
    }
  }

  private static void verifyAndFree(BlockAllocator a, long[] item, ConcurrentHashMap<Long, Long> claims) {
    long h = item[0];
    long stamp = item[1];
    long size = a.size(h);
    if (a.getLong(h, 0) != stamp || a.getLong(h, size - 8) != ~stamp) {
      throw new AssertionError("block " + Handles.format(h) + " was overwritten by another block");
    }
    if (!claims.remove(key(h), stamp)) {
      throw new AssertionError("claim of " + Handles.format(h) + " lost");
    }
    a.free(h);
  }

  /** The slot a handle names, without its generation and slack. */
  private static long key(long h) {
    return h & ((1L << Handles.SLACK_SHIFT) - 1);
  }
}
