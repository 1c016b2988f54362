package dev.spillway.core.memory;

import dev.spillway.memory.AllocatorStats;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.PoolStats;
import dev.spillway.memory.spi.MaintenanceReport;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Thread caches are bounded, trimmed when idle, released when their thread dies, and absent for virtual threads. */
class ThreadCacheTest extends AllocatorTestBase {

  @Test
  void aDeadThreadsCachedBlocksGoBackToThePool() throws Exception {
    BlockAllocator a = allocator();
    Thread t = Thread.ofPlatform().start(() -> churn(a, 64, 200));
    t.join();
    AllocatorStats before = a.stats();
    assertThat(before.pool("64B").cachedBlocks()).isPositive();
    assertThat(before.threadCaches()).isEqualTo(1);
    MaintenanceReport report = a.control().maintain();
    assertThat(report.deadThreadCaches()).isEqualTo(1);
    AllocatorStats after = a.stats();
    assertThat(after.threadCaches()).isZero();
    PoolStats p = after.pool("64B");
    assertThat(p.cachedBlocks()).isZero();
    assertThat(p.allocations()).as("counters survive their thread").isEqualTo(200);
    assertThat(p.frees()).isEqualTo(200);
  }

  @Test
  void anIdleThreadsCacheIsTrimmedOnItsNextOperation() throws Exception {
    BlockAllocator a = allocator();
    CountDownLatch filled = new CountDownLatch(1);
    CountDownLatch idleFlagged = new CountDownLatch(1);
    CountDownLatch trimmed = new CountDownLatch(1);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Thread t = Thread.ofPlatform().start(() -> {
      try {
        churn(a, 64, 100);
        filled.countDown();
        idleFlagged.await();
        churn(a, 4096, 1); // any operation trims the whole cache first
        trimmed.countDown();
        idleFlagged.await();
      } catch (Throwable e) {
        failure.set(e);
      }
    });
    filled.await();
    assertThat(a.stats().pool("64B").cachedBlocks()).isPositive();
    assertThat(a.control().maintain().idleThreadCaches()).as("first pass only records the counters").isZero();
    assertThat(a.control().maintain().idleThreadCaches()).isEqualTo(1);
    idleFlagged.countDown();
    trimmed.await();
    t.join();
    assertThat(failure.get()).isNull();
    assertThat(a.stats().pool("64B").cachedBlocks()).isZero();
  }

  @Test
  void aMagazineNeverHoldsMoreThanItsBound() {
    BlockAllocator a = allocator("thread-cache { max-blocks-per-class = 32, max-bytes-per-class = 64 KiB }");
    long[] handles = new long[1000];
    for (int i = 0; i < handles.length; i++) {
      handles[i] = a.allocate(64);
    }
    for (long h : handles) {
      a.free(h);
    }
    assertThat(a.stats().pool("64B").cachedBlocks()).isBetween(1L, 32L);
    for (int i = 0; i < 100; i++) {
      handles[i] = a.allocate(16 << 10);
    }
    for (int i = 0; i < 100; i++) {
      a.free(handles[i]);
    }
    assertThat(a.stats().pool("16KiB").cachedBlocks()).as("64 KiB / 16 KiB").isBetween(1L, 4L);
    a.control().trimCurrentThreadCache();
    assertThat(a.stats().pool("64B").cachedBlocks()).isZero();
  }

  @Test
  void virtualThreadsDoNotPinCaches() throws Exception {
    BlockAllocator a = allocator();
    Thread t = Thread.ofVirtual().start(() -> churn(a, 64, 100));
    t.join();
    AllocatorStats stats = a.stats();
    assertThat(stats.threadCaches()).isZero();
    assertThat(stats.pool("64B").cachedBlocks()).isZero();
    assertThat(stats.pool("64B").allocations()).isEqualTo(100);
  }

  @Test
  void blocksFreedByAnotherThreadAreReusable() throws Exception {
    BlockAllocator a = allocator();
    long[] handles = new long[500];
    for (int i = 0; i < handles.length; i++) {
      handles[i] = a.allocate(256);
      a.putLong(handles[i], 0, i);
    }
    Thread t = Thread.ofPlatform().start(() -> {
      for (int i = 0; i < handles.length; i++) {
        if (a.getLong(handles[i], 0) != i) {
          throw new AssertionError("block " + i + " lost its contents");
        }
        a.free(handles[i]);
      }
    });
    t.join();
    a.control().maintain();
    assertThat(a.stats().pool("256B").blocksInUse()).isZero();
  }

  private static void churn(BlockAllocator a, long size, int n) {
    long[] handles = new long[n];
    for (int i = 0; i < n; i++) {
      handles[i] = a.allocate(size);
    }
    for (long h : handles) {
      a.free(h);
    }
  }
}
