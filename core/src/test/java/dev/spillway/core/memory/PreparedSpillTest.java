package dev.spillway.core.memory;

import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.InvalidHandleException;
import dev.spillway.memory.SpillOutcome;
import dev.spillway.memory.SpillStats;
import dev.spillway.memory.spi.PreparedSpill;
import dev.spillway.memory.spi.SpillReport;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The two stages of a pipelined spill: prepare (freeze and encode a copy) then write (append and
 * release RAM); abandon; per-request failures; restore as a prefetch.
 */
class PreparedSpillTest extends AllocatorTestBase {
  @TempDir Path tmp;

  private long[] fill(BlockAllocator a, int n, int size, List<byte[]> data, boolean compressible) {
    long[] h = new long[n];
    for (int i = 0; i < n; i++) {
      h[i] = a.allocate(size);
      byte[] bytes = SpillRestoreTest.pattern(i, size, compressible);
      a.write(h[i], 0, bytes, 0, bytes.length);
      data.add(bytes);
    }
    return h;
  }

  @Test
  void preparedGroupsWrittenAsOneBatchSpillAndRestoreByteExact() {
    BlockAllocator a = tiered(tmp, "");
    List<byte[]> data = new ArrayList<>();
    long[] h = fill(a, 12, 4096, data, true);
    PreparedSpill first = a.control().prepareSpill(h, 0, 6);
    PreparedSpill second = a.control().prepareSpill(h, 6, 6);
    assertThat(first.pendingBlocks()).isEqualTo(6);
    assertThat(first.outcome(0)).as("not final before the write").isNull();
    assertThat(first.storedBytes()).isPositive().isLessThan(first.rawBytes()); // compressible: LZ4 kept
    long storedBefore = a.stats().spill().tier().liveBytes();
    a.control().writeSpills(List.of(first, second));
    assertThat(a.stats().spill().tier().liveBytes() - storedBefore)
        .isEqualTo(first.storedBytes() + second.storedBytes());
    for (int i = 0; i < 6; i++) {
      assertThat(first.outcome(i)).isEqualTo(SpillOutcome.SPILLED);
      assertThat(second.outcome(i)).isEqualTo(SpillOutcome.SPILLED);
      assertThat(first.failure(i)).isNull();
    }
    assertThat(first.report()).isEqualTo(new SpillReport(6, 0, 0, 0, 6 * 4096, first.storedBytes()));
    assertThat(a.stats().spill().spilledBlocks()).isEqualTo(12);
    for (int i = 0; i < 12; i++) {
      assertThat(a.isResident(h[i])).isFalse();
      assertBytes(a, h[i], data.get(i));
    }
    for (long x : h) {
      a.free(x);
    }
  }

  @Test
  void aWriteBetweenTheStagesKeepsTheBlockResidentWithTheNewBytes() {
    BlockAllocator a = tiered(tmp, "");
    List<byte[]> data = new ArrayList<>();
    long[] h = fill(a, 4, 8192, data, false);
    PreparedSpill p = a.control().prepareSpill(h, 0, 4);
    a.putLong(h[1], 8, 0x5eed_5eedL); // touches a frozen block: it stays resident
    byte[] seen = new byte[8];
    a.read(h[2], 0, seen, 0, 8); // a read aborts the spill too
    a.control().writeSpills(List.of(p));
    assertThat(p.outcome(0)).isEqualTo(SpillOutcome.SPILLED);
    assertThat(p.outcome(1)).isEqualTo(SpillOutcome.BUSY);
    assertThat(p.outcome(2)).isEqualTo(SpillOutcome.BUSY);
    assertThat(p.outcome(3)).isEqualTo(SpillOutcome.SPILLED);
    assertThat(a.isResident(h[1])).isTrue();
    assertThat(a.getLong(h[1], 8)).isEqualTo(0x5eed_5eedL);
    java.nio.ByteBuffer.wrap(data.get(1)).order(java.nio.ByteOrder.nativeOrder()).putLong(8, 0x5eed_5eedL);
    for (int i = 0; i < 4; i++) {
      assertBytes(a, h[i], data.get(i));
    }
    assertThat(a.stats().spill().spilledBlocks()).isZero(); // all read back by the checks above
    a.control().maintain(); // tombstones for the discarded records and the restored ones
    for (long x : h) {
      a.free(x);
    }
  }

  /**
   * In place (what a pipeline's writer does when encoding is cheap): records stored raw point at the
   * slots; written at once they spill and read back byte-exact, and an access between the freeze and
   * the write keeps its block resident with the new bytes.
   */
  @Test
  void anInPlaceGroupWrittenAtOnceSpillsAndATouchedBlockStaysWithItsNewBytes() {
    BlockAllocator a = tiered(tmp, "spill.codec = raw");
    assertThat(a.control().spillEncodingIsCheap()).as("raw codec: encoding is a copy at most").isTrue();
    List<byte[]> data = new ArrayList<>();
    long[] h = fill(a, 6, 8192, data, true);
    PreparedSpill p = a.control().prepareSpillInPlace(h, 0, 6);
    assertThat(p.pendingBlocks()).isEqualTo(6);
    assertThat(p.storedBytes()).as("raw: stored as they are").isGreaterThanOrEqualTo(p.rawBytes());
    a.putLong(h[2], 16, 0x1d1e_5eedL); // touches a frozen block: it stays resident
    a.control().writeSpills(List.of(p));
    for (int i = 0; i < 6; i++) {
      assertThat(p.outcome(i)).as("block %d", i).isEqualTo(i == 2 ? SpillOutcome.BUSY : SpillOutcome.SPILLED);
    }
    assertThat(a.isResident(h[2])).isTrue();
    java.nio.ByteBuffer.wrap(data.get(2)).order(java.nio.ByteOrder.nativeOrder()).putLong(16, 0x1d1e_5eedL);
    for (int i = 0; i < 6; i++) {
      assertBytes(a, h[i], data.get(i));
    }
    long gone = a.allocate(64);
    a.free(gone);
    PreparedSpill bad = a.control().prepareSpillInPlace(new long[] {gone}, 0, 1);
    assertThat(bad.failure(0)).as("an invalid handle fails only its request").isInstanceOf(InvalidHandleException.class);
    bad.abandon();
    a.control().maintain();
    for (long x : h) {
      a.free(x);
    }
  }

  /**
   * LZ4: encoding is work until the probe backs off on data that does not compress, and is work again
   * once a sampled attempt pays.
   */
  @Test
  void encodingIsCheapWhileLz4DoesNotPayAndNotOnceItPaysAgain() {
    BlockAllocator a = tiered(tmp, "");
    assertThat(a.control().spillEncodingIsCheap()).as("LZ4, nothing tried yet").isFalse();
    List<byte[]> data = new ArrayList<>();
    long[] random = fill(a, CompressionProbe.MISSES_TO_BACK_OFF, 4096, data, false);
    a.control().spill(random, 0, random.length);
    assertThat(a.control().spillEncodingIsCheap()).as("16 records in a row did not compress").isTrue();
    long[] compressible = fill(a, 2 * CompressionProbe.SAMPLE_EVERY, 4096, data, true);
    a.control().spill(compressible, 0, compressible.length);
    assertThat(a.control().spillEncodingIsCheap()).as("a sampled attempt paid").isFalse();
    long[] all = new long[random.length + compressible.length];
    System.arraycopy(random, 0, all, 0, random.length);
    System.arraycopy(compressible, 0, all, random.length, compressible.length);
    for (int i = 0; i < all.length; i++) {
      assertBytes(a, all[i], data.get(i));
      a.free(all[i]);
    }
    BlockAllocator untiered = BlockAllocator.create(dev.spillway.config.SpillwaySettings.defaults().memory());
    try {
      assertThat(untiered.control().spillEncodingIsCheap()).as("no tier").isFalse();
    } finally {
      untiered.close();
    }
  }

  @Test
  void abandonUnfreezesEverythingAndReleasesNothingOfTheBlocks() {
    BlockAllocator a = tiered(tmp, "");
    List<byte[]> data = new ArrayList<>();
    long[] h = fill(a, 5, 1000, data, false);
    PreparedSpill p = a.control().prepareSpill(h, 0, 5);
    p.abandon();
    p.abandon(); // idempotent
    for (int i = 0; i < 5; i++) {
      assertThat(p.outcome(i)).isEqualTo(SpillOutcome.BUSY);
      assertThat(a.isResident(h[i])).isTrue();
      assertBytes(a, h[i], data.get(i));
    }
    assertThat(a.stats().spill().tier().liveRecords()).as("nothing was appended").isZero();
    assertThatThrownBy(() -> a.control().writeSpills(List.of(p))).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("ABANDONED");
    PreparedSpill again = a.control().prepareSpill(h, 0, 5); // the blocks can be spilled again
    a.control().writeSpills(List.of(again));
    assertThat(again.report().spilled()).isEqualTo(5);
    assertThatThrownBy(() -> a.control().writeSpills(List.of(again))).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("written once");
    for (int i = 0; i < 5; i++) {
      assertBytes(a, h[i], data.get(i));
      a.free(h[i]);
    }
  }

  @Test
  void anInvalidHandleFailsOnlyItsOwnRequest() {
    BlockAllocator a = tiered(tmp, "");
    List<byte[]> data = new ArrayList<>();
    long[] h = fill(a, 3, 64, data, false);
    long freed = a.allocate(64);
    a.free(freed);
    a.spill(h[2]);
    long[] group = {h[0], freed, h[1], h[2], 0L};
    PreparedSpill p = a.control().prepareSpill(group, 0, group.length);
    a.control().writeSpills(List.of(p));
    assertThat(p.outcome(0)).isEqualTo(SpillOutcome.SPILLED);
    assertThat(p.outcome(1)).isNull();
    assertThat(p.failure(1)).isInstanceOf(InvalidHandleException.class);
    assertThat(p.outcome(2)).isEqualTo(SpillOutcome.SPILLED);
    assertThat(p.outcome(3)).isEqualTo(SpillOutcome.ALREADY_SPILLED);
    assertThat(p.failure(4)).isInstanceOf(InvalidHandleException.class);
    assertThat(p.report()).isEqualTo(new SpillReport(2, 1, 0, 0, 128, p.report().storedBytes()));
    for (int i = 0; i < 3; i++) {
      assertBytes(a, h[i], data.get(i));
      a.free(h[i]);
    }
  }

  @Test
  void badBatchesAreRefusedWithAClearError() {
    BlockAllocator a = tiered(tmp, "");
    BlockAllocator other = tiered(tmp.resolve("other"), "");
    long h = other.allocate(64);
    PreparedSpill foreign = other.control().prepareSpill(new long[] {h}, 0, 1);
    assertThatThrownBy(() -> a.control().writeSpills(List.of(foreign))).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("prepared by another allocator");
    foreign.abandon();
    assertThatThrownBy(() -> a.control().writeSpills(java.util.Arrays.asList((PreparedSpill) null)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("null");
    assertThatThrownBy(() -> a.control().prepareSpill(new long[2], 1, 2)).isInstanceOf(IndexOutOfBoundsException.class);
    BlockAllocator plain = allocator();
    assertThatThrownBy(() -> plain.control().prepareSpill(new long[1], 0, 1)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("no tier");
    other.free(h);
  }

  @Test
  void restoreIsAPrefetchThatReadsABlockBackOnce() {
    BlockAllocator a = tiered(tmp, "");
    List<byte[]> data = new ArrayList<>();
    long[] h = fill(a, 2, 5000, data, true);
    assertThat(a.control().restore(h[0])).as("resident: nothing to read").isFalse();
    a.control().spill(h, 0, 2);
    assertThat(a.control().restore(h[0])).isTrue();
    assertThat(a.control().restore(h[0])).isFalse();
    assertThat(a.isResident(h[0])).isTrue();
    assertThat(a.isResident(h[1])).isFalse();
    assertThat(a.stats().spill().restores()).isEqualTo(1);
    assertBytes(a, h[0], data.get(0));
    assertBytes(a, h[1], data.get(1));
    a.free(h[0]);
    assertThatThrownBy(() -> a.control().restore(h[0])).isInstanceOf(InvalidHandleException.class);
    a.free(h[1]);
  }

  @Test
  void copyOutReadsASpilledBlockWithoutBringingItBack() {
    BlockAllocator a = tiered(tmp, "");
    List<byte[]> data = new ArrayList<>();
    long[] h = fill(a, 3, 3000, data, true);
    a.control().spill(h, 0, 2);
    try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
      java.lang.foreign.MemorySegment dst = arena.allocate(4000);
      for (int i = 0; i < 3; i++) {
        dst.fill((byte) 0);
        assertThat(a.control().copyOut(h[i], dst)).isEqualTo(3000);
        assertThat(dst.asSlice(0, 3000).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)).isEqualTo(data.get(i));
      }
      assertThat(a.isResident(h[0])).as("still spilled").isFalse();
      assertThat(a.stats().spill().restores()).isZero();
      java.lang.foreign.MemorySegment small = arena.allocate(2999);
      assertThatThrownBy(() -> a.control().copyOut(h[0], small)).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("at least the block's size");
      assertThatThrownBy(() -> a.control().copyOut(h[2], small)).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("at least the block's size");
      a.free(h[0]);
      assertThatThrownBy(() -> a.control().copyOut(h[0], dst)).isInstanceOf(InvalidHandleException.class);
    }
    a.free(h[1]);
    a.free(h[2]);
  }

  /**
   * Two threads prepare groups and hand them to a writer thread, while two more threads keep writing
   * into the same blocks and checking what they read: no write is ever lost, whatever the stages do.
   */
  @Test
  void pipelinedStagesNeverLoseAWrite() throws Exception {
    BlockAllocator a = tiered(tmp, "tier.durability = none");
    int n = 256;
    long[] h = new long[n];
    long[] expected = new long[n]; // written only by the owner thread of block i (i % 2)
    for (int i = 0; i < n; i++) {
      h[i] = a.allocate(2048);
      a.putLong(h[i], 0, 0);
    }
    var queue = new java.util.concurrent.ArrayBlockingQueue<PreparedSpill>(8);
    AtomicBoolean stop = new AtomicBoolean();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    CyclicBarrier start = new CyclicBarrier(5);
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < 2; t++) {
      int seed = t;
      threads.add(new Thread(() -> run(start, failure, () -> {
        var random = new java.util.SplittableRandom(seed);
        while (!stop.get()) {
          int from = random.nextInt(n - 16);
          PreparedSpill p = a.control().prepareSpill(h, from, 16);
          if (!queue.offer(p, 1, TimeUnit.SECONDS)) {
            p.abandon();
          }
        }
      })));
    }
    threads.add(new Thread(() -> run(start, failure, () -> {
      List<PreparedSpill> batch = new ArrayList<>();
      while (!stop.get() || !queue.isEmpty()) {
        PreparedSpill p = queue.poll(10, TimeUnit.MILLISECONDS);
        if (p != null) {
          batch.add(p);
          queue.drainTo(batch);
          a.control().writeSpills(batch);
          batch.clear();
        }
      }
    })));
    for (int t = 0; t < 2; t++) {
      int owner = t;
      threads.add(new Thread(() -> run(start, failure, () -> {
        var random = new java.util.SplittableRandom(100 + owner);
        while (!stop.get()) {
          int i = random.nextInt(n / 2) * 2 + owner;
          long seen = a.getLong(h[i], 0);
          if (seen != expected[i]) {
            throw new AssertionError("block " + i + " holds " + seen + ", last written " + expected[i]);
          }
          a.putLong(h[i], 0, ++expected[i]);
        }
      })));
    }
    threads.forEach(Thread::start);
    keepLoadRunning(Duration.ofSeconds(2), failure,
        () -> a.stats().spill().spills() > 0 && a.stats().spill().busySpills() > 0);
    stop.set(true);
    for (Thread t : threads) {
      t.join(30_000);
      assertThat(t.isAlive()).as("thread " + t + " finished").isFalse();
    }
    if (failure.get() != null) {
      throw new AssertionError(failure.get());
    }
    SpillStats s = a.stats().spill();
    assertThat(s.spills()).as("the writer spilled blocks").isPositive();
    assertThat(s.busySpills()).as("writers raced the spills").isPositive();
    for (int i = 0; i < n; i++) {
      assertThat(a.getLong(h[i], 0)).isEqualTo(expected[i]);
      a.free(h[i]);
    }
    a.control().maintain();
  }
}
