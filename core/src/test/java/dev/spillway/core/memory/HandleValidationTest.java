package dev.spillway.core.memory;

import dev.spillway.memory.AllocatorClosedException;
import dev.spillway.memory.Block;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.BlockBoundsException;
import dev.spillway.memory.InvalidHandleException;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spillway.memory.InvalidHandleException.Problem;
import java.util.SplittableRandom;
import java.util.function.LongConsumer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class HandleValidationTest extends AllocatorTestBase {

  /** Small (cached and not), large and huge blocks all get the same checks. */
  @ParameterizedTest
  @ValueSource(longs = {8, 64, 100, 4096, 40 << 10, 1 << 20, (1 << 20) + 1})
  void useAfterFreeIsDetectedByEveryAccessor(long size) {
    BlockAllocator a = allocator();
    long h = a.allocate(size);
    a.putLong(h, 0, 42);
    a.free(h);
    assertThat(a.isLive(h)).isFalse();
    for (LongConsumer access : accessors(a)) {
      assertThatThrownBy(() -> access.accept(h))
          .isInstanceOfSatisfying(InvalidHandleException.class, e -> {
            assertThat(e.handle()).isEqualTo(h);
            assertThat(e.problem()).isIn(Problem.STALE, Problem.UNKNOWN_SLAB, Problem.DOUBLE_FREE);
          })
          .hasMessageContaining(String.format("0x%016x", h));
    }
  }

  @ParameterizedTest
  @ValueSource(longs = {8, 64, 4096, 40 << 10, (1 << 20) + 1})
  void doubleFreeIsDetectedAndLeavesThePoolIntact(long size) {
    BlockAllocator a = allocator();
    long h = a.allocate(size);
    a.free(h);
    assertThatThrownBy(() -> a.free(h))
        .isInstanceOf(InvalidHandleException.class)
        .satisfies(e -> assertThat(((InvalidHandleException) e).problem())
            .isIn(Problem.DOUBLE_FREE, Problem.UNKNOWN_SLAB));
    // The slot went back exactly once: two new blocks never share it.
    long x = a.allocate(size);
    long y = a.allocate(size);
    assertThat(a.segment(x).address()).isNotEqualTo(a.segment(y).address());
    a.free(x);
    a.free(y);
  }

  @Test
  void doubleFreeNamesTheProblem() {
    BlockAllocator a = allocator();
    long h = a.allocate(64);
    a.free(h);
    assertThatThrownBy(() -> a.free(h)).hasMessageContaining("double free")
        .hasMessageContaining("already free");
  }

  @Test
  void aHandleWhoseSlotWasReusedIsStale() {
    BlockAllocator a = allocator("thread-cache.enabled = false");
    long old = a.allocate(64);
    a.free(old);
    long reuse = a.allocate(64);
    assertThatThrownBy(() -> a.getLong(old, 0)).hasMessageContaining("the block was freed");
    assertThat(Handles.slot(reuse)).isEqualTo(Handles.slot(old));
    assertThat(Handles.slab(reuse)).isEqualTo(Handles.slab(old));
    a.free(reuse);
    reuse = a.allocate(64);
    assertThatThrownBy(() -> a.getLong(old, 0))
        .isInstanceOf(InvalidHandleException.class)
        .hasMessageContaining("slot reused since").hasMessageContaining("use after free");
    assertThatThrownBy(() -> a.free(old)).isInstanceOf(InvalidHandleException.class);
    assertThat(a.isLive(reuse)).isTrue();
    a.free(reuse);
  }

  @Test
  void staleHandlesAreCaughtForTheDocumentedNumberOfReuses() {
    BlockAllocator a = allocator("thread-cache.enabled = false");
    long first = a.allocate(64); // 8-bit generations: 127 reuses stay detectable
    a.free(first);
    for (int i = 0; i < 127; i++) {
      long h = a.allocate(64);
      assertThat(Handles.slot(h)).isEqualTo(Handles.slot(first));
      assertThat(a.isLive(first)).as("after %d reuses", i + 1).isFalse();
      a.free(h);
    }
    long wide = a.allocate(4096); // 16-bit generations
    a.free(wide);
    for (int i = 0; i < 32767; i++) {
      long h = a.allocate(4096);
      assertThat(a.isLive(wide)).isFalse();
      a.free(h);
    }
  }

  @Test
  void garbageAndForgedHandlesFailCleanlyAndNeverTouchMemory() {
    BlockAllocator a = allocator();
    long live = a.allocate(64);
    a.putLong(live, 0, 0x1234L);
    SplittableRandom random = new SplittableRandom(7);
    for (int i = 0; i < 100_000; i++) {
      long garbage = i % 2 == 0 ? random.nextLong()
          : live ^ (1L << random.nextInt(64)); // one flipped bit of a real handle
      if (garbage == live) {
        continue;
      }
      if (a.isLive(garbage)) {
        // A flipped slack bit still names the live block (the size differs, the block is the same);
        // a flipped slot bit may name a free neighbour's next handle, which a forged handle can
        // equal in any handle scheme (see Handles). Neither is a stale handle: nothing to check.
        continue;
      }
      assertThatThrownBy(() -> a.getLong(garbage, 0)).isInstanceOf(InvalidHandleException.class);
      assertThatThrownBy(() -> a.free(garbage)).isInstanceOf(InvalidHandleException.class);
    }
    assertThat(a.getLong(live, 0)).isEqualTo(0x1234L);
    assertThatThrownBy(() -> a.free(0L)).isInstanceOf(InvalidHandleException.class)
        .hasMessageContaining("0x0000000000000000");
    a.free(live);
  }

  @Test
  void evenGenerationsAreMalformed() {
    BlockAllocator a = allocator();
    long h = a.allocate(256);
    long even = h + (1L << Handles.GEN_SHIFT);
    assertThatThrownBy(() -> a.free(even)).isInstanceOfSatisfying(InvalidHandleException.class,
        e -> assertThat(e.problem()).isEqualTo(Problem.MALFORMED)).hasMessageContaining("not a handle");
    a.free(h);
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 13, 64, 100, 4096, 40 << 10, (1 << 20) + 3})
  void outOfBoundsOffsetsAndLengthsFailBeforeTouchingMemory(long size) {
    BlockAllocator a = allocator();
    long h = a.allocate(size);
    assertThatThrownBy(() -> a.getByte(h, size)).isInstanceOf(BlockBoundsException.class)
        .hasMessageContaining("offset " + size).hasMessageContaining(size + " bytes");
    assertThatThrownBy(() -> a.getByte(h, -1)).isInstanceOf(BlockBoundsException.class);
    assertThatThrownBy(() -> a.putLong(h, size - 7, 1)).isInstanceOf(BlockBoundsException.class);
    assertThatThrownBy(() -> a.getInt(h, Long.MAX_VALUE)).isInstanceOf(BlockBoundsException.class);
    assertThatThrownBy(() -> a.getInt(h, Long.MIN_VALUE)).isInstanceOf(BlockBoundsException.class);
    assertThatThrownBy(() -> a.write(h, 0, new byte[(int) size + 1], 0, (int) size + 1))
        .isInstanceOf(BlockBoundsException.class);
    assertThatThrownBy(() -> a.read(h, 1, new byte[(int) size], 0, (int) size))
        .isInstanceOf(BlockBoundsException.class);
    assertThatThrownBy(() -> a.fill(h, 0, -1, (byte) 0)).isInstanceOf(BlockBoundsException.class);
    assertThatThrownBy(() -> a.read(h, 0, new byte[4], 2, 4)).isInstanceOf(IndexOutOfBoundsException.class);
    // The exact bounds are fine, and the bytes outside were never written.
    a.putByte(h, size - 1, (byte) 9);
    assertThat(a.getByte(h, size - 1)).isEqualTo((byte) 9);
    byte[] all = new byte[(int) size];
    a.read(h, 0, all, 0, (int) size);
    a.free(h);
  }

  @Test
  void badSizesNameTheArgumentAndTheAllowedRange() {
    BlockAllocator a = allocator("max-block-size = 1 MiB");
    assertThatThrownBy(() -> a.allocate(0)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("size = 0").hasMessageContaining("allowed 1 B to 1 MiB")
        .hasMessageContaining("spillway.memory.max-block-size");
    assertThatThrownBy(() -> a.allocate(-5)).hasMessageContaining("size = -5");
    assertThatThrownBy(() -> a.allocate((1 << 20) + 1)).hasMessageContaining("size = 1048577");
    BlockAllocator b = allocator();
    assertThatThrownBy(() -> b.allocate((1L << 30) + 1)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("allowed 1 B to 1 GiB");
    assertThatThrownBy(() -> b.allocate(Long.MAX_VALUE)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void everyCallAfterCloseFailsClearlyAndCloseIsIdempotent() {
    BlockAllocator a = BlockAllocator.create(settings(""));
    long h = a.allocate(64);
    a.close();
    a.close();
    assertThatThrownBy(() -> a.allocate(64)).isInstanceOf(AllocatorClosedException.class)
        .hasMessageContaining("closed");
    assertThatThrownBy(() -> a.getLong(h, 0)).isInstanceOf(AllocatorClosedException.class);
    assertThatThrownBy(() -> a.free(h)).isInstanceOf(AllocatorClosedException.class);
    assertThatThrownBy(a::stats).isInstanceOf(AllocatorClosedException.class);
    assertThat(a.isLive(h)).isFalse();
  }

  @Test
  void freesRacingCloseFailWithTheClosedErrorOnly() throws Exception {
    for (int round = 0; round < 20; round++) {
      BlockAllocator a = BlockAllocator.create(settings(round % 2 == 0 ? "thread-cache.max-blocks-per-class = 4" : "thread-cache.enabled = false"));
      long[] handles = new long[2000];
      for (int i = 0; i < handles.length; i++) {
        handles[i] = a.allocate(i % 50 == 0 ? (2 << 20) : 64 + (i % 3) * 1000);
      }
      java.util.concurrent.atomic.AtomicReference<Throwable> unexpected = new java.util.concurrent.atomic.AtomicReference<>();
      Thread freer = Thread.ofPlatform().start(() -> {
        for (long h : handles) {
          try {
            a.free(h);
          } catch (AllocatorClosedException expected) {
            // the only acceptable failure once close has begun
          } catch (Throwable t) {
            unexpected.compareAndSet(null, t);
          }
        }
      });
      a.close();
      freer.join();
      assertThat(unexpected.get()).as("round %d", round).isNull();
    }
  }

  @SuppressWarnings("try") // closes inside try-with-resources on purpose: a second close does nothing
  @Test
  void blockObjectFreesOnceOnClose() {
    BlockAllocator a = allocator();
    long handle;
    try (Block b = a.allocateBlock(100)) {
      handle = b.handle();
      b.putLong(8, 77);
      assertThat(b.getLong(8)).isEqualTo(77);
      assertThat(b.size()).isEqualTo(100);
      b.close(); // a second close, by try-with-resources, does nothing
    }
    assertThat(a.isLive(handle)).isFalse();
  }

  private static LongConsumer[] accessors(BlockAllocator a) {
    return new LongConsumer[] {
      h -> a.getLong(h, 0),
      h -> a.putLong(h, 0, 1),
      h -> a.getByte(h, 0),
      h -> a.putInt(h, 0, 1),
      h -> a.size(h),
      h -> a.capacity(h),
      h -> a.segment(h),
      h -> a.read(h, 0, new byte[1], 0, 1),
      h -> a.write(h, 0, new byte[1], 0, 1),
      h -> a.fill(h, 0, 1, (byte) 0),
      a::free,
    };
  }
}
