package dev.spillway.core.memory;

import dev.spillway.memory.AllocatorClosedException;
import dev.spillway.memory.AllocatorStats;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.InvalidHandleException;
import dev.spillway.memory.SizeClasses;
import dev.spillway.memory.SpillOutcome;
import dev.spillway.memory.SpillStats;
import dev.spillway.memory.spi.SpillReport;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spillway.testing.TestBytes;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.ToLongFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Spill and transparent restore through every access path, on one thread. */
class SpillRestoreTest extends AllocatorTestBase {
  @TempDir Path dir;

  static byte[] pattern(long seed, int length, boolean compressible) {
    if (!compressible) {
      return TestBytes.random(seed, length);
    }
    byte[] b = new byte[length];
    SplittableRandom r = new SplittableRandom(seed);
    for (int i = 0; i < length; i++) {
      b[i] = (byte) ((i / 64) % 7 == 0 ? r.nextInt(256) : 'a' + (i % 13));
    }
    return b;
  }

  static byte[] contents(BlockAllocator a, long h) {
    byte[] out = new byte[(int) a.size(h)];
    a.read(h, 0, out, 0, out.length);
    return out;
  }

  /** Every pooled class (a random size inside it) and a huge block round-trip byte-exact. */
  @ParameterizedTest
  @ValueSource(strings = {"lz4", "raw", "zstd"})
  void everySizeClassRoundTripsByteExact(String codec) {
    BlockAllocator a = tiered(dir, "spill { codec = " + codec + " }");
    SplittableRandom r = new SplittableRandom(7);
    List<long[]> blocks = new ArrayList<>(); // handle, seed, compressible
    List<byte[]> data = new ArrayList<>();
    for (int cls = 0; cls <= SizeClasses.COUNT; cls++) {
      long size;
      if (cls == SizeClasses.COUNT) {
        size = SizeClasses.MAX_LARGE + 1L + r.nextInt(1 << 20);
      } else {
        long hi = SizeClasses.sizeOf(cls);
        long lo = cls == 0 ? 1 : SizeClasses.sizeOf(cls - 1) + 1;
        size = lo + r.nextLong(hi - lo + 1);
      }
      for (boolean compressible : new boolean[] {false, true}) {
        long h = a.allocate(size);
        byte[] bytes = pattern(h, (int) size, compressible);
        a.write(h, 0, bytes, 0, bytes.length);
        blocks.add(new long[] {h});
        data.add(bytes);
      }
    }
    long[] handles = blocks.stream().mapToLong(b -> b[0]).toArray();
    SpillReport report = a.control().spill(handles, 0, handles.length);
    assertThat(report.spilled()).isEqualTo(handles.length);
    long raw = data.stream().mapToLong(b -> b.length).sum();
    assertThat(report.rawBytes()).isEqualTo(raw);
    if (!codec.equals("raw")) {
      assertThat(report.storedBytes()).as("%s shrinks the compressible half", codec).isLessThan(raw);
    } else {
      assertThat(report.storedBytes()).isGreaterThan(raw);
    }
    AllocatorStats stats = a.stats();
    assertThat(stats.spill().spilledBlocks()).isEqualTo(handles.length);
    assertThat(stats.blocksInUse()).as("spilled blocks hold no RAM slot").isZero();
    for (long h : handles) {
      assertThat(a.isResident(h)).isFalse();
      assertThat(a.isLive(h)).isTrue();
    }
    for (int i = handles.length - 1; i >= 0; i--) { // reverse order: some restore in place, some not
      assertThat(contents(a, handles[i])).as("block %d", i).isEqualTo(data.get(i));
      assertThat(a.isResident(handles[i])).isTrue();
      assertThat(a.size(handles[i])).isEqualTo(data.get(i).length);
    }
    assertThat(a.stats().spill().restores()).isEqualTo(handles.length);
    for (long h : handles) {
      a.free(h);
    }
  }

  /** Each kind of access restores the block, and a spilled block's size and capacity need no restore. */
  @Test
  void everyAccessRestoresTransparently() {
    BlockAllocator a = tiered(dir, "");
    List<ToLongFunction<Long>> accesses = List.of(
        h -> a.getByte(h, 5),
        h -> a.getShort(h, 6),
        h -> a.getInt(h, 8),
        h -> a.getLong(h, 16),
        h -> (long) a.getDouble(h, 24),
        h -> { a.putLong(h, 100, 42); return a.getLong(h, 100); },
        h -> { a.putByte(h, 1, (byte) 9); return a.getByte(h, 1); },
        h -> { a.write(h, 200, new byte[] {1, 2, 3}, 0, 3); return a.getByte(h, 202); },
        h -> { a.fill(h, 300, 10, (byte) 7); return a.getByte(h, 305); },
        h -> a.segment(h).get(ValueLayout.JAVA_LONG_UNALIGNED, 16),
        h -> { long v = a.pin(h).get(ValueLayout.JAVA_LONG_UNALIGNED, 16); a.unpin(h); return v; },
        h -> {
          try (Arena arena = Arena.ofConfined()) {
            MemorySegment dst = arena.allocate(8);
            a.read(h, 16, dst, 0, 8);
            return dst.get(ValueLayout.JAVA_LONG_UNALIGNED, 0);
          }
        });
    for (int i = 0; i < accesses.size(); i++) {
      long h = a.allocate(1000);
      byte[] bytes = pattern(i, 1000, false);
      a.write(h, 0, bytes, 0, bytes.length);
      long expect16 = a.getLong(h, 16);
      assertThat(a.spill(h)).isEqualTo(SpillOutcome.SPILLED);
      assertThat(a.size(h)).isEqualTo(1000);
      assertThat(a.capacity(h)).isEqualTo(1024);
      assertThat(a.isResident(h)).as("size and capacity do not restore").isFalse();
      long got = accesses.get(i).applyAsLong(h);
      assertThat(a.isResident(h)).as("access %d restored the block", i).isTrue();
      if (i >= 9) {
        assertThat(got).isEqualTo(expect16);
      }
      byte[] now = contents(a, h);
      byte[] expected = bytes.clone();
      switch (i) {
        case 5 -> expected[100] = 42;
        case 6 -> expected[1] = 9;
        case 7 -> System.arraycopy(new byte[] {1, 2, 3}, 0, expected, 200, 3);
        case 8 -> Arrays.fill(expected, 300, 310, (byte) 7);
        default -> { }
      }
      if (i == 5) {
        for (int k = 1; k < 8; k++) {
          expected[100 + k] = 0;
        }
      }
      assertThat(now).as("access %d", i).isEqualTo(expected);
      a.free(h);
    }
  }

  @Test
  void pinnedBlocksNeverSpillAndPinsNest() {
    BlockAllocator a = tiered(dir, "");
    long h = a.allocate(4096);
    MemorySegment view = a.pin(h);
    a.pin(h);
    view.set(ValueLayout.JAVA_LONG_UNALIGNED, 0, 1234L);
    assertThat(a.spill(h)).isEqualTo(SpillOutcome.PINNED);
    assertThatThrownBy(() -> a.free(h)).isInstanceOf(IllegalStateException.class).hasMessageContaining("pinned (2");
    a.unpin(h);
    assertThat(a.spill(h)).isEqualTo(SpillOutcome.PINNED);
    a.unpin(h);
    assertThatThrownBy(() -> a.unpin(h)).isInstanceOf(IllegalStateException.class).hasMessageContaining("not pinned");
    assertThat(a.spill(h)).isEqualTo(SpillOutcome.SPILLED);
    assertThat(a.spill(h)).isEqualTo(SpillOutcome.ALREADY_SPILLED);
    MemorySegment again = a.pin(h); // restores, then pins
    assertThat(again.get(ValueLayout.JAVA_LONG_UNALIGNED, 0)).isEqualTo(1234L);
    assertThat(a.spill(h)).isEqualTo(SpillOutcome.PINNED);
    a.unpin(h);
    a.free(h);
  }

  @Test
  void aForwardedBlockSpillsAndRestoresAgainAndItsPinsHold() {
    BlockAllocator a = tiered(dir, "memory.thread-cache.enabled = false");
    long h = a.allocate(512);
    a.putLong(h, 0, 77);
    a.spill(h);
    long taker = a.allocate(512); // takes the home slot: the restore must go elsewhere
    assertThat(a.getLong(h, 0)).isEqualTo(77);
    assertThat(a.stats().spill().forwardedBlocks()).isEqualTo(1);
    assertThat(a.stats().spill().restoresInPlace()).isZero();
    for (int round = 0; round < 5; round++) {
      a.putLong(h, 8, round);
      assertThat(a.spill(h)).isEqualTo(SpillOutcome.SPILLED);
      assertThat(a.getLong(h, 8)).isEqualTo(round);
      assertThat(a.getLong(h, 0)).isEqualTo(77);
    }
    a.pin(h);
    assertThat(a.spill(h)).isEqualTo(SpillOutcome.PINNED);
    assertThatThrownBy(() -> a.free(h)).hasMessageContaining("pinned");
    a.unpin(h);
    a.free(h);
    assertThat(a.stats().spill().forwardedBlocks()).isZero();
    assertThatThrownBy(() -> a.getLong(h, 0)).isInstanceOf(InvalidHandleException.class);
    assertThatThrownBy(() -> a.free(h)).isInstanceOf(InvalidHandleException.class);
    a.free(taker);
  }

  @Test
  void aBlockWhoseSlotStayedFreeComesBackInPlaceAndIsDirectAgain() {
    BlockAllocator a = tiered(dir, "memory.thread-cache.enabled = false");
    long h = a.allocate(256);
    a.putLong(h, 0, 5);
    a.spill(h);
    assertThat(a.getLong(h, 0)).isEqualTo(5);
    SpillStats s = a.stats().spill();
    assertThat(s.restoresInPlace()).isEqualTo(1);
    assertThat(s.forwardedBlocks()).isZero();
    a.free(h);
    assertThatThrownBy(() -> a.free(h)).isInstanceOf(InvalidHandleException.class).hasMessageContaining("double free");
  }

  @Test
  void freeOfASpilledBlockWritesATombstoneAndCompactionReturnsTheSpace() {
    BlockAllocator a = tiered(dir, "tier.segment-size = 1 MiB");
    long[] handles = new long[600];
    for (int i = 0; i < handles.length; i++) {
      handles[i] = a.allocate(4096);
      byte[] bytes = pattern(i, 4096, false);
      a.write(handles[i], 0, bytes, 0, bytes.length);
    }
    a.control().spill(handles, 0, handles.length);
    assertThat(a.stats().spill().tier().liveRecords()).isEqualTo(600);
    long bytesBefore = a.stats().spill().tier().bytesOnDisk();
    for (long h : handles) {
      a.free(h);
    }
    a.control().maintain(); // writes the queued tombstones, then compacts
    var tier = a.stats().spill().tier();
    assertThat(tier.liveRecords()).isZero();
    assertThat(a.stats().spill().tier().bytesOnDisk()).isLessThan(bytesBefore / 2);
  }

  @Test
  void invalidHandlesFailTheBatchBeforeAnythingIsWritten() {
    BlockAllocator a = tiered(dir, "");
    long good = a.allocate(64);
    long freed = a.allocate(64);
    a.free(freed);
    long[] batch = {good, freed};
    assertThatThrownBy(() -> a.control().spill(batch, 0, 2)).isInstanceOf(InvalidHandleException.class);
    assertThat(a.isResident(good)).isTrue();
    assertThat(a.stats().spill().tier().liveRecords()).isZero();
    assertThatThrownBy(() -> a.control().spill(batch, 1, 5)).isInstanceOf(IndexOutOfBoundsException.class);
    assertThatThrownBy(() -> a.spill(0L)).isInstanceOf(InvalidHandleException.class);
    assertThat(a.control().spill(batch, 0, 0)).isEqualTo(SpillReport.EMPTY);
    a.free(good);
  }

  @Test
  void anAllocatorWithoutATierSaysSo() {
    BlockAllocator a = allocator();
    long h = a.allocate(64);
    assertThatThrownBy(() -> a.spill(h)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("no tier").hasMessageContaining("BlockAllocator.open");
    a.free(h);
  }

  /**
   * Classes under 128 B keep 8-bit generations: 128 reuses wrap a slot's generation. A spilled handle's
   * generation must never be handed out again while the block lives, or the handle would silently
   * name another block.
   */
  @Test
  void wrappedGenerationsNeverReuseASpilledHandle() {
    BlockAllocator a = tiered(dir, "memory.thread-cache.enabled = false");
    long h = a.allocate(64);
    a.putLong(h, 0, 0xABCDL);
    a.spill(h);
    for (int i = 0; i < 1000; i++) { // the lowest free slot is h's: every round reuses it
      long other = a.allocate(64);
      assertThat(other).isNotEqualTo(h);
      assertThat(other & Handles.LOCATION_MASK).isEqualTo(h & Handles.LOCATION_MASK);
      a.putLong(other, 0, i);
      a.free(other);
    }
    assertThat(a.isResident(h)).isFalse();
    assertThat(a.getLong(h, 0)).isEqualTo(0xABCDL);
    a.free(h);
  }

  @Test
  void aSlabReleasedUnderSpilledBlocksKeepsItsIndexUntilTheyAreGone() {
    BlockAllocator a = tiered(dir, "memory.thread-cache.enabled = false\n"
        + "memory.pools.classes { \"16KiB\" { max-blocks = 64 } }");
    List<Long> handles = new ArrayList<>();
    for (int i = 0; i < 16; i++) { // one 256 KiB slab of 16 KiB blocks
      long h = a.allocate(16 << 10);
      a.putLong(h, 0, i);
      handles.add(h);
    }
    long[] all = handles.stream().mapToLong(Long::longValue).toArray();
    a.control().spill(all, 0, all.length);
    a.control().maintain(); // the slab is empty: it goes back to the OS
    assertThat(a.stats().pool("16KiB").slabs()).isZero();
    for (int i = 0; i < 16; i++) {
      long fresh = a.allocate(16 << 10);
      assertThat(Handles.slab(fresh)).as("a new slab must not take the released index").isNotEqualTo(Handles.slab(all[0]));
      assertThat(a.getLong(all[i], 0)).isEqualTo(i);
      a.free(fresh);
    }
    for (long h : all) {
      a.free(h);
    }
  }

  @Test
  void closingWithSpilledBlocksReleasesEverything() {
    checkLeaks = false;
    BlockAllocator a = tiered(dir, "");
    long h = a.allocate(100);
    a.spill(h);
    a.close();
    assertThatThrownBy(() -> a.getLong(h, 0)).isInstanceOf(AllocatorClosedException.class);
    assertThat(a.isLive(h)).isFalse();
  }
}
