package dev.spillway.core.memory;

import dev.spillway.memory.AllocatorStats;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.PoolStats;
import dev.spillway.memory.SizeClasses;
import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

/** The primitive API allocates nothing on the heap; statistics add up; metadata stays small. */
class GarbageAndStatsTest extends AllocatorTestBase {

  @Test
  void thePrimitiveApiCreatesNoGarbage() {
    var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    BlockAllocator a = allocator();
    long[] live = new long[1024];
    for (int i = 0; i < live.length; i++) {
      live[i] = a.allocate(8 + (i % 500));
    }
    long sink = 0;
    for (int round = 0; round < 3; round++) { // the last round is measured, after warm-up
      long tid = Thread.currentThread().threadId();
      long before = threads.getThreadAllocatedBytes(tid);
      for (int i = 0; i < 200_000; i++) {
        int k = i & (live.length - 1);
        a.free(live[k]);
        long h = a.allocate(8 + (i % 500));
        live[k] = h;
        a.putLong(h, 0, i);
        a.putInt(h, 4, i);
        sink += a.getLong(h, 0) + a.getByte(h, 1) + a.size(h);
      }
      long allocated = threads.getThreadAllocatedBytes(tid) - before;
      if (round == 2) {
        assertThat(allocated).as("heap bytes allocated by 200,000 free/allocate/put/get rounds")
            .isLessThan(1024);
      }
    }
    assertThat(sink).isNotZero();
    for (long h : live) {
      a.free(h);
    }
  }

  @Test
  void metadataStaysUnderTwoPercentForBlocksOf64BytesAndUp() {
    BlockAllocator a = allocator();
    for (int cls = SizeClasses.indexOf(64); cls < SizeClasses.COUNT; cls++) {
      a.free(a.allocate(SizeClasses.sizeOf(cls)));
    }
    for (PoolStats p : a.stats().pools()) {
      if (p.blockSize() >= 64) {
        assertThat(p.metadataRatio()).as("metadata of class %s", p.name()).isLessThanOrEqualTo(0.02);
      }
    }
  }

  @Test
  void statisticsAddUp() {
    BlockAllocator a = allocator();
    long h1 = a.allocate(100); // class 112
    long h2 = a.allocate(100);
    long h3 = a.allocate(50_000); // class 56 KiB
    long h4 = a.allocate(3_000_000); // huge, 733 pages
    AllocatorStats s = a.stats();
    PoolStats c112 = s.pool("112B");
    assertThat(c112.blocksInUse()).isEqualTo(2);
    assertThat(c112.requestedBytes()).isEqualTo(200);
    assertThat(c112.reservedBytes()).isEqualTo(224);
    assertThat(c112.internalFragmentation()).isCloseTo(24.0 / 224, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(c112.freeBlocks()).isEqualTo(c112.capacityBlocks() - 2);
    assertThat(s.pool("56KiB").requestedBytes()).isEqualTo(50_000);
    assertThat(s.huge().blocksInUse()).isEqualTo(1);
    assertThat(s.huge().residentBytes()).isEqualTo(733L * 4096);
    assertThat(s.blocksInUse()).isEqualTo(4);
    assertThat(s.requestedBytes()).isEqualTo(200 + 50_000 + 3_000_000);
    assertThat(s.reservedBytes()).isEqualTo(224 + 56 * 1024 + 733L * 4096);
    assertThat(s.metadataBytes()).isPositive();
    assertThat(s.residentBytes()).isGreaterThanOrEqualTo(s.reservedBytes());
    a.free(h1);
    a.free(h2);
    a.free(h3);
    a.free(h4);
    AllocatorStats after = a.stats();
    assertThat(after.blocksInUse()).isZero();
    assertThat(after.requestedBytes()).isZero();
    assertThat(after.internalFragmentation()).isZero();
  }
}
