package dev.spillway.core.memory;

import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.BlockBoundsException;
import dev.spillway.memory.BudgetExceededException;
import dev.spillway.memory.PoolExhaustedException;
import dev.spillway.memory.spi.BlockRefs;
import dev.spillway.memory.spi.SpillReport;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spillway.testing.TestBytes;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The idle clock (sweeps, references, spilling through them) and the memory budget (growth capped,
 * restores allowed the slack).
 */
class IdleSweepAndBudgetTest extends AllocatorTestBase {
  @TempDir Path tmp;

  @Test
  void untouchedBlocksBecomeIdleAndSpillThroughTheirReferences() {
    BlockAllocator a = tiered(tmp, "");
    int n = 20;
    long[] h = new long[n];
    byte[][] data = new byte[n][];
    for (int i = 0; i < n; i++) {
      data[i] = TestBytes.random(i, 3000); // class 3 KiB... with slack: the caller's handle carries it
      h[i] = a.allocate(3000);
      a.write(h[i], 0, data[i], 0, 3000);
    }
    BlockRefs out = new BlockRefs(64);
    assertThat(a.control().sweepIdle(2, out)).as("one sweep: nothing idle for 2 yet").isZero();
    for (int i = 0; i < n; i += 2) {
      a.getLong(h[i], 0); // the even blocks are in use
    }
    int idle = a.control().sweepIdle(2, out);
    assertThat(idle).isEqualTo(n / 2);
    long[] refs = out.toArray();
    for (int k = 0; k < idle; k++) {
      assertThat(out.bytes(k)).as("a reference carries the RAM its block holds: its class").isEqualTo(3072);
    }
    for (long ref : refs) {
      boolean odd = false;
      for (int i = 1; i < n; i += 2) {
        odd |= MovedBlock.keyOf(ref) == MovedBlock.keyOf(h[i]);
      }
      assertThat(odd).as("only untouched blocks are idle").isTrue();
    }
    assertThat(a.control().spill(refs, 0, refs.length).spilled()).isEqualTo(n / 2);
    for (int i = 1; i < n; i += 2) {
      assertThat(a.isResident(h[i])).isFalse();
      assertThat(a.size(h[i])).as("the caller's handle keeps its size").isEqualTo(3000);
    }
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment dst = arena.allocate(3000);
      assertThat(a.control().copyOut(h[1], dst)).isEqualTo(3000);
      assertThat(dst.toArray(ValueLayout.JAVA_BYTE)).isEqualTo(data[1]);
    }
    assertThatThrownBy(() -> a.getLong(h[3], 2996)).as("bounds follow the caller's size")
        .isInstanceOf(BlockBoundsException.class);
    for (int i = 0; i < n; i++) {
      if (i % 4 == 1) {
        a.free(h[i]); // spilled: freed without coming back
      } else {
        assertBytes(a, h[i], data[i]);
        a.free(h[i]);
      }
    }
    assertThat(a.stats().requestedBytes()).as("accounting balances for blocks spilled by reference").isZero();
    assertThat(a.stats().spill().spilledBlocks()).isZero();
  }

  @Test
  void smallAndFreedBlocksAreNeverListedAndForwardedOnesSpillThroughTheirSlot() {
    BlockAllocator a = tiered(tmp, "");
    long tiny = a.allocate(512);
    a.putLong(tiny, 0, 1);
    long freed = a.allocate(2048);
    a.putLong(freed, 0, 1);
    a.free(freed);
    // Spill blocks, let new blocks take their slots, then read them back: they are forwarded.
    long[] moved = new long[8];
    for (int i = 0; i < moved.length; i++) {
      moved[i] = a.allocate(4096);
      a.putLong(moved[i], 0, i);
    }
    a.control().spill(moved, 0, moved.length);
    List<Long> squatters = new ArrayList<>();
    for (int i = 0; i < 64; i++) {
      long s = a.allocate(4096);
      a.putLong(s, 0, -i);
      squatters.add(s);
    }
    for (int i = 0; i < moved.length; i++) {
      assertThat(a.getLong(moved[i], 0)).isEqualTo(i);
    }
    long forwarded = a.stats().spill().forwardedBlocks();
    assertThat(forwarded).as("the squatters took the home slots").isPositive();
    BlockRefs out = new BlockRefs(128);
    for (int i = 0; i < 3; i++) {
      a.control().sweepIdle(1, out);
    }
    int idle = a.control().sweepIdle(1, out);
    assertThat(idle).as("the squatters and every restored block (forwarded ones named by their slot); not the"
        + " 512 B block or the freed one").isEqualTo(64 + moved.length);
    for (int k = 0; k < idle; k++) {
      assertThat(MovedBlock.keyOf(out.ref(k))).isNotEqualTo(MovedBlock.keyOf(freed)).isNotEqualTo(MovedBlock.keyOf(tiny));
    }
    // Spilling through the references spills the forwarded blocks too; their own handles still work.
    SpillReport report = a.control().spill(out.toArray(), 0, idle);
    assertThat(report.spilled()).isEqualTo(idle);
    assertThat(a.stats().spill().forwardedBlocks()).isZero();
    for (int i = 0; i < moved.length; i++) {
      assertThat(a.isResident(moved[i])).isFalse();
      assertThat(a.getLong(moved[i], 0)).isEqualTo(i);
    }
    for (int i = 0; i < squatters.size(); i++) {
      assertThat(a.getLong(squatters.get(i), 0)).isEqualTo(-i);
    }
    assertThat(a.control().sweepIdle(1, new BlockRefs(0))).isZero();
    assertThatThrownBy(() -> a.control().sweepIdle(0, out)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("allowed 1 to 120");
    a.free(tiny);
    for (long m : moved) {
      a.free(m);
    }
    squatters.forEach(a::free);
  }

  @Test
  void coldestNamesTheLongestIdleFirstAndAgesNothing() {
    BlockAllocator a = tiered(tmp, "");
    long[] h = new long[6];
    for (int i = 0; i < h.length; i++) {
      h[i] = a.allocate(2048);
      a.putLong(h[i], 0, i);
    }
    BlockRefs none = new BlockRefs(0);
    a.control().sweepIdle(1, none);
    a.control().sweepIdle(1, none);
    a.getLong(h[2], 0); // h[2] and h[4] younger: touched after two sweeps
    a.getLong(h[4], 0);
    a.control().sweepIdle(1, none);
    BlockRefs out = new BlockRefs(4);
    assertThat(a.control().coldest(out)).isEqualTo(4);
    List<Long> keys = new ArrayList<>();
    for (long ref : out.toArray()) {
      keys.add(MovedBlock.keyOf(ref));
    }
    assertThat(keys).containsExactlyInAnyOrder(MovedBlock.keyOf(h[0]), MovedBlock.keyOf(h[1]),
        MovedBlock.keyOf(h[3]), MovedBlock.keyOf(h[5]));
    BlockRefs again = new BlockRefs(4);
    a.control().coldest(again);
    assertThat(again.toArray()).as("asking twice ages nothing: the same answer").isEqualTo(out.toArray());
    assertThat(a.control().coldest(new BlockRefs(0))).isZero();
    for (long x : h) {
      a.free(x);
    }
  }

  @Test
  void theBudgetCapsGrowthAndRestoresMayUseTheSlack() {
    BlockAllocator a = tiered(tmp, "memory.large-slab-size = 1 MiB");
    a.control().budget(2L << 20, 1L << 20); // two 1 MiB slabs of 64 KiB blocks, one more for restores
    List<Long> handles = new ArrayList<>();
    BudgetExceededException full = null;
    try {
      for (int i = 0; i < 100; i++) {
        long h = a.allocate(64 << 10);
        a.putLong(h, 0, i);
        handles.add(h);
      }
    } catch (BudgetExceededException e) {
      full = e;
    }
    assertThat(full).isNotNull().hasMessageContaining("memory budget").hasMessageContaining("spill")
        .hasMessageContaining("raise spillway.control.budget");
    assertThat(full).isInstanceOf(PoolExhaustedException.class);
    assertThat(a.control().mappedBytes()).isLessThanOrEqualTo(2L << 20);
    assertThat(a.control().budgetBytes()).isEqualTo(2L << 20);
    int fit = handles.size();
    assertThat(fit).isEqualTo(32);
    long[] all = handles.stream().mapToLong(Long::longValue).toArray();
    assertThat(a.control().spill(all, 0, 16).spilled()).isEqualTo(16);
    for (int i = 0; i < 16; i++) { // the spilled blocks' slots take new blocks, within the budget
      long h = a.allocate(64 << 10);
      a.putLong(h, 0, 1000 + i);
      handles.add(h);
    }
    assertThat(a.control().mappedBytes()).isLessThanOrEqualTo(2L << 20);
    // The budget is full, yet the spilled blocks come back: into the slack.
    for (int i = 0; i < 16; i++) {
      assertThat(a.getLong(all[i], 0)).isEqualTo(i);
    }
    assertThat(a.control().mappedBytes()).isGreaterThan(2L << 20).isLessThanOrEqualTo(3L << 20);
    for (long h : handles) {
      a.free(h);
    }
    assertThatThrownBy(() -> a.control().budget(0, 0)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("allowed a budget of at least 1 B");
  }

  /**
   * Both cores: two threads keep reading and writing their blocks (checking every value), one sweeps
   * and spills what is idle through references, one frees and reallocates blocks. No value is lost
   * and every block's bytes are its own.
   */
  @Test
  void sweepingAndSpillingByReferenceUnderConcurrentUseLosesNothing() throws Exception {
    BlockAllocator a = tiered(tmp, "tier.durability = none");
    int n = 256;
    long[] h = new long[n];
    long[] expected = new long[n];
    for (int i = 0; i < n; i++) {
      h[i] = a.allocate(1500 + (i % 7) * 100);
      a.putLong(h[i], 0, 0);
    }
    AtomicBoolean stop = new AtomicBoolean();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    CyclicBarrier start = new CyclicBarrier(4);
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < 2; t++) {
      int owner = t;
      threads.add(new Thread(() -> run(start, failure, () -> {
        var random = new java.util.SplittableRandom(owner);
        while (!stop.get()) {
          int i = random.nextInt(n / 2) * 2 + owner;
          if (random.nextInt(64) == 0) { // replace the block: freed slots get reused under the sweeper
            a.free(h[i]);
            h[i] = a.allocate(1500 + random.nextInt(700));
            a.putLong(h[i], 0, expected[i]);
          }
          long seen = a.getLong(h[i], 0);
          if (seen != expected[i]) {
            throw new AssertionError("block " + i + " holds " + seen + ", expected " + expected[i]);
          }
          a.putLong(h[i], 0, ++expected[i]);
        }
      })));
    }
    threads.add(new Thread(() -> run(start, failure, () -> {
      BlockRefs out = new BlockRefs(64);
      while (!stop.get()) {
        int idle = a.control().sweepIdle(1, out);
        // References can go stale under the sweeper (a block freed since): those requests fail alone.
        a.control().writeSpills(List.of(a.control().prepareSpill(out.toArray(), 0, idle)));
      }
    })));
    threads.forEach(Thread::start);
    run(start, failure, () -> keepLoadRunning(Duration.ofSeconds(2), failure, () -> a.stats().spill().spills() > 0));
    stop.set(true);
    for (Thread t : threads) {
      t.join(30_000);
      assertThat(t.isAlive()).as(() -> "thread stuck at " + Arrays.toString(t.getStackTrace())).isFalse();
    }
    if (failure.get() != null) {
      throw new AssertionError(failure.get());
    }
    assertThat(a.stats().spill().spills()).as("the sweeper spilled blocks").isPositive();
    for (int i = 0; i < n; i++) {
      assertThat(a.getLong(h[i], 0)).isEqualTo(expected[i]);
      a.free(h[i]);
    }
    assertThat(a.stats().requestedBytes()).isZero();
    a.control().maintain();
  }
}
