package dev.spillway.core.memory;

import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.BlockSegmentAllocator;
import dev.spillway.memory.spi.SpillReport;
import dev.spillway.memory.spi.BlockRefs;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link BlockSegmentAllocator}: FFM code allocates from Spillway's pools unchanged; segments are
 * zeroed, aligned, pinned (never spilled) and valid until close, which frees every block and makes
 * every segment fail on access; bad sizes and alignments are refused naming them.
 * Run: {@code mvn -B -pl core -am test -Dsurefire.failIfNoSpecifiedTests=false -Dtest='BlockSegmentAllocatorTest'}
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class BlockSegmentAllocatorTest extends AllocatorTestBase {
  @TempDir Path tmp;

  /** Code that knows only FFM's interface. */
  private static MemorySegment squares(SegmentAllocator a, int n) {
    MemorySegment s = a.allocate(JAVA_INT, n);
    for (int i = 0; i < n; i++) {
      s.setAtIndex(JAVA_INT, i, i * i);
    }
    return s;
  }

  @Test
  void ffmCodeAllocatesFromThePoolsAndCloseFreesEverythingAndInvalidatesTheSegments() {
    BlockAllocator memory = allocator();
    MemorySegment squares;
    MemorySegment copied;
    try (BlockSegmentAllocator a = memory.newSegmentAllocator()) {
      squares = squares(a, 1000);
      copied = a.allocateFrom(JAVA_LONG, 7L, 8L, 9L);
      assertThat(squares.byteSize()).isEqualTo(4000);
      assertThat(squares.getAtIndex(JAVA_INT, 999)).isEqualTo(999 * 999);
      assertThat(copied.toArray(JAVA_LONG)).containsExactly(7L, 8L, 9L);
      assertThat(a.blocks()).isEqualTo(2);
      assertThat(memory.stats().blocksInUse()).as("two blocks of the pools").isEqualTo(2);
    }
    assertThat(memory.stats().blocksInUse()).isZero();
    assertThatThrownBy(() -> squares.getAtIndex(JAVA_INT, 0)).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> copied.set(JAVA_LONG, 0, 1L)).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void segmentsAreZeroedSizedExactlyAndAlignedAsAsked() {
    BlockAllocator memory = allocator();
    try (BlockSegmentAllocator a = memory.newSegmentAllocator()) {
      for (long size : new long[] {0, 1, 7, 8, 100, 4096, 70_000, 2 << 20}) {
        for (long align : new long[] {1, 2, 8, 16, 64, 4096}) {
          MemorySegment s = a.allocate(size, align);
          assertThat(s.byteSize()).as("size %d align %d", size, align).isEqualTo(size);
          assertThat(s.address() % align).as("size %d align %d", size, align).isZero();
          for (long i = 0; i < size; i += 997) {
            assertThat(s.get(java.lang.foreign.ValueLayout.JAVA_BYTE, i)).isZero();
          }
          if (size > 0) {
            s.fill((byte) 0x5a); // dirty it: the next segment of this class must still come zeroed
          }
        }
      }
    }
    assertThat(memory.stats().blocksInUse()).isZero();
  }

  @Test
  void itsBlocksArePinnedAndNeverSpill() throws Exception {
    BlockAllocator memory = tiered(tmp, "");
    try (BlockSegmentAllocator a = memory.newSegmentAllocator()) {
      List<MemorySegment> segments = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        MemorySegment s = a.allocate(4096, 8);
        s.set(JAVA_INT, 0, i);
        segments.add(s);
      }
      BlockRefs refs = new BlockRefs(64);
      int n = memory.control().coldest(refs);
      assertThat(n).isEqualTo(8);
      SpillReport report = memory.control().spill(refs.toArray(), 0, n);
      assertThat(report.spilled()).isZero();
      assertThat(report.pinned()).isEqualTo(8);
      for (int i = 0; i < 8; i++) {
        assertThat(segments.get(i).get(JAVA_INT, 0)).isEqualTo(i);
      }
    }
    assertThat(memory.stats().blocksInUse()).isZero();
  }

  @Test
  void badSizesAndAlignmentsAndUseAfterCloseAreRefusedNamingThem() {
    BlockAllocator memory = allocator("max-block-size = 1 MiB");
    BlockSegmentAllocator a = memory.newSegmentAllocator();
    assertThatThrownBy(() -> a.allocate(-1, 8)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("byteSize = -1");
    assertThatThrownBy(() -> a.allocate(8, 3)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("byteAlignment = 3").hasMessageContaining("power of two");
    assertThatThrownBy(() -> a.allocate(8, 0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> a.allocate(2 << 20, 8)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("allowed at most 1048576").hasMessageContaining("spillway.memory.max-block-size");
    assertThatThrownBy(() -> a.allocate(1 << 20, 4096)).as("padding counts").isInstanceOf(IllegalArgumentException.class);
    assertThat(a.blocks()).isZero();
    a.close();
    a.close(); // a second close does nothing
    assertThatThrownBy(() -> a.allocate(8, 8)).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
  }

  @Test
  void twoThreadsAllocateAtOnceAndCloseFreesAllOfIt() throws Exception {
    BlockAllocator memory = allocator();
    BlockSegmentAllocator a = memory.newSegmentAllocator();
    Thread[] threads = new Thread[2];
    List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
    for (int t = 0; t < 2; t++) {
      int id = t;
      threads[t] = Thread.ofPlatform().start(() -> {
        try {
          for (int i = 0; i < 5000; i++) {
            MemorySegment s = a.allocate(64 + (i % 200), 16);
            s.set(JAVA_INT, 0, id * 100_000 + i);
            assertThat(s.get(JAVA_INT, 0)).isEqualTo(id * 100_000 + i);
          }
        } catch (Throwable e) {
          errors.add(e);
        }
      });
    }
    for (Thread t : threads) {
      t.join();
    }
    assertThat(errors).isEmpty();
    assertThat(a.blocks()).isEqualTo(10_000);
    a.close();
    assertThat(memory.stats().blocksInUse()).isZero();
  }
}
