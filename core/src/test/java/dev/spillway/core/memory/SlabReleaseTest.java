package dev.spillway.core.memory;

import dev.spillway.memory.AllocatorStats;
import dev.spillway.memory.BlockAllocator;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Empty slabs go back to the OS: the test reads the process's own memory map and proves the slab's
 * address range is mapped while the slab lives and unmapped once the pool has shrunk it away.
 */
class SlabReleaseTest extends AllocatorTestBase {

  @Test
  void anEmptySlabIsUnmappedWhenThePoolShrinks() throws IOException {
    assumeTrue(PageMapper.usesMmap(), "slabs are mmap-backed only on Linux");
    BlockAllocator a = allocator("small-slab-size = 64 KiB, thread-cache.enabled = false");
    List<Long> blocks = new ArrayList<>();
    for (int i = 0; i < 64; i++) { // four slabs of 16 blocks of 4 KiB
      blocks.add(a.allocate(4096));
    }
    long lastSlabAddress = a.segment(blocks.get(63)).address();
    assertThat(mapped(lastSlabAddress)).as("a live slab is mapped").isTrue();
    long residentBefore = a.stats().residentBytes();
    for (long h : blocks) {
      a.free(h);
    }
    while (a.control().maintain().blocksShrunk() > 0) {
      // each pass releases up to 10% of the maximum
    }
    AllocatorStats after = a.stats();
    assertThat(after.pool("4KiB").slabs()).isZero();
    assertThat(after.residentBytes()).isLessThan(residentBefore);
    assertThat(mapped(lastSlabAddress)).as("the released slab's pages went back to the OS").isFalse();
  }

  @Test
  void aHugeBlockIsUnmappedWhenFreed() throws IOException {
    assumeTrue(PageMapper.usesMmap(), "slabs are mmap-backed only on Linux");
    BlockAllocator a = allocator();
    long h = a.allocate(8L << 20);
    a.putLong(h, (8L << 20) - 8, 1);
    long address = a.segment(h).address();
    assertThat(mapped(address)).isTrue();
    assertThat(a.stats().huge().residentBytes()).isEqualTo(8L << 20);
    a.free(h);
    assertThat(mapped(address)).isFalse();
    assertThat(a.stats().huge().residentBytes()).isZero();
  }

  @Test
  void closingTheAllocatorUnmapsEverything() throws IOException {
    assumeTrue(PageMapper.usesMmap(), "slabs are mmap-backed only on Linux");
    BlockAllocator a = BlockAllocator.create(settings(""));
    long small = a.allocate(64);
    long large = a.allocate(100_000);
    long huge = a.allocate(3 << 20);
    long[] addresses = {a.segment(small).address(), a.segment(large).address(), a.segment(huge).address()};
    a.close();
    for (long address : addresses) {
      assertThat(mapped(address)).isFalse();
    }
  }

  /** Whether {@code address} lies in a mapping of this process, per /proc/self/maps. */
  private static boolean mapped(long address) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
      String[] range = line.substring(0, line.indexOf(' ')).split("-", -1);
      long from = Long.parseUnsignedLong(range[0], 16);
      long to = Long.parseUnsignedLong(range[1], 16);
      if (Long.compareUnsigned(address, from) >= 0 && Long.compareUnsigned(address, to) < 0) {
        return true;
      }
    }
    return false;
  }
}
