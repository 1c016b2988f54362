package dev.spillway.core.memory;

import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.InvalidHandleException;
import dev.spillway.memory.SpillOutcome;
import dev.spillway.memory.SpillStats;
import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Spill racing every kind of access, with verification: no write is lost, no read sees another
 * block's bytes, concurrent accesses restore a block once, pins hold, frees racing spills free once.
 * Each test runs a few seconds with more threads than cores.
 */
class SpillConcurrencyTest extends AllocatorTestBase {
  private static final long RUN_NANOS = 2_000_000_000L;

  @TempDir Path dir;

  /** Runs {@code workers} until the time is up or one fails; rethrows the first failure. */
  private static void race(List<Runnable> workers) throws Exception {
    AtomicReference<Throwable> failure = new AtomicReference<>();
    List<Thread> threads = new ArrayList<>();
    for (Runnable w : workers) {
      Thread t = new Thread(() -> {
        try {
          w.run();
        } catch (Throwable e) {
          if (!failure.compareAndSet(null, e)) {
            synchronized (failure) {
              failure.get().addSuppressed(e);
            }
          }
        }
      });
      threads.add(t);
      t.start();
    }
    for (Thread t : threads) {
      t.join(60_000);
      assertThat(t.isAlive()).as("worker stuck").isFalse();
    }
    if (failure.get() != null) {
      throw new AssertionError("a worker failed", failure.get());
    }
  }

  /**
   * Two writers own disjoint blocks of several classes and check each block against their own model
   * before every write; a third thread spills random batches of all blocks. A write racing a spill
   * must either be in the spilled record or abort the spill: any lost write shows up as a mismatch.
   */
  @Test
  void writersNeverLoseAWriteWhileTheirBlocksSpill() throws Exception {
    BlockAllocator a = tiered(dir, "");
    int perWriter = 200;
    int[] sizes = {24, 64, 200, 1000, 4096, 20_000, 70_000};
    long[][] handles = new long[2][perWriter];
    byte[][][] model = new byte[2][perWriter][];
    SplittableRandom setup = new SplittableRandom(1);
    for (int w = 0; w < 2; w++) {
      for (int i = 0; i < perWriter; i++) {
        int size = sizes[setup.nextInt(sizes.length)];
        handles[w][i] = a.allocate(size);
        model[w][i] = SpillRestoreTest.pattern(setup.nextLong(), size, setup.nextBoolean());
        a.write(handles[w][i], 0, model[w][i], 0, size);
      }
    }
    long deadline = System.nanoTime() + RUN_NANOS;
    AtomicBoolean writersDone = new AtomicBoolean();
    AtomicInteger writersLeft = new AtomicInteger(2);
    List<Runnable> workers = new ArrayList<>();
    for (int w = 0; w < 2; w++) {
      int id = w;
      workers.add(() -> {
        SplittableRandom r = new SplittableRandom(100 + id);
        try {
          while (System.nanoTime() < deadline) {
            int i = r.nextInt(perWriter);
            long h = handles[id][i];
            byte[] expected = model[id][i];
            byte[] actual = SpillRestoreTest.contents(a, h);
            if (!java.util.Arrays.equals(actual, expected)) {
              throw new AssertionError("writer " + id + " block " + i + " (" + expected.length
                  + " B) lost a write or shows foreign bytes");
            }
            int at = r.nextInt(expected.length - 7);
            long v = r.nextLong();
            switch (r.nextInt(3)) {
              case 0 -> a.putLong(h, at, v);
              case 1 -> {
                byte[] chunk = new byte[Math.min(64, expected.length - at)];
                r.nextBytes(chunk);
                a.write(h, at, chunk, 0, chunk.length);
                System.arraycopy(chunk, 0, expected, at, chunk.length);
                continue;
              }
              default -> {
                a.putByte(h, at, (byte) v);
                expected[at] = (byte) v;
                continue;
              }
            }
            for (int k = 0; k < 8; k++) {
              expected[at + k] = (byte) (v >>> (8 * k));
            }
          }
        } finally {
          if (writersLeft.decrementAndGet() == 0) {
            writersDone.set(true);
          }
        }
      });
    }
    workers.add(() -> {
      SplittableRandom r = new SplittableRandom(3);
      long[] batch = new long[32];
      while (!writersDone.get()) {
        for (int k = 0; k < batch.length; k++) {
          batch[k] = handles[r.nextInt(2)][r.nextInt(perWriter)];
        }
        a.control().spill(batch, 0, batch.length);
      }
    });
    race(workers);
    SpillStats s = a.stats().spill();
    assertThat(s.spills()).as("spills happened").isGreaterThan(100);
    assertThat(s.restores()).as("restores happened").isGreaterThan(100);
    for (int w = 0; w < 2; w++) {
      for (int i = 0; i < perWriter; i++) {
        assertThat(SpillRestoreTest.contents(a, handles[w][i])).isEqualTo(model[w][i]);
        a.free(handles[w][i]);
      }
    }
  }

  /** Many threads touch the same spilled block at once: it is restored exactly once per spill. */
  @Test
  void concurrentAccessesRestoreABlockOnce() throws Exception {
    BlockAllocator a = tiered(dir, "");
    long h = a.allocate(512 << 10);
    byte[] bytes = SpillRestoreTest.pattern(9, 512 << 10, false);
    a.write(h, 0, bytes, 0, bytes.length);
    int threads = 6;
    int rounds = 40;
    CyclicBarrier start = new CyclicBarrier(threads + 1);
    CyclicBarrier end = new CyclicBarrier(threads + 1);
    List<Runnable> workers = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      int id = t;
      workers.add(() -> {
        try {
          for (int round = 0; round < rounds; round++) {
            start.await(30, java.util.concurrent.TimeUnit.SECONDS);
            int at = (id * 4099 + round * 8) % (bytes.length - 8);
            long expected = MemorySegment.ofArray(bytes).get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(
                java.nio.ByteOrder.LITTLE_ENDIAN), at);
            assertThat(a.getLong(h, at)).isEqualTo(expected);
            end.await(30, java.util.concurrent.TimeUnit.SECONDS);
          }
        } catch (Exception e) {
          throw new AssertionError(e);
        }
      });
    }
    workers.add(() -> {
      try {
        for (int round = 0; round < rounds; round++) {
          assertThat(a.spill(h)).isEqualTo(SpillOutcome.SPILLED);
          start.await(30, java.util.concurrent.TimeUnit.SECONDS);
          end.await(30, java.util.concurrent.TimeUnit.SECONDS);
        }
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });
    race(workers);
    assertThat(a.stats().spill().restores()).isEqualTo(rounds);
    assertThat(SpillRestoreTest.contents(a, h)).isEqualTo(bytes);
    a.free(h);
  }

  /**
   * An access that finds a spill's entry before the spill froze the slot (a reader still on the slow
   * path from an earlier spill of the block) aborts it; the spill must then leave the slot alone. It
   * froze it anyway before the fix: the slot stayed frozen with no entry, and the block was lost.
   */
  @Test
  void aSpillWhoseEntryIsAbortedBeforeItsFreezeLeavesTheBlockAlone() throws Exception {
    java.util.concurrent.atomic.AtomicReference<SlabAllocator> allocator = new java.util.concurrent.atomic.AtomicReference<>();
    java.util.concurrent.atomic.AtomicBoolean once = new java.util.concurrent.atomic.AtomicBoolean();
    SlabAllocator a = (SlabAllocator) tiered(dir, "", new MoveObserver() {
      @Override
      public void entryAdded(long handle) {
        if (once.compareAndSet(false, true)) {
          assertThat(allocator.get().mover().restorer.resolve(handle)).as("the access finds the entry and aborts it")
              .isEqualTo(handle);
        }
      }
    });
    allocator.set(a);
    long h = a.allocate(100);
    a.putLong(h, 0, 99);
    assertThat(a.control().spill(new long[] {h}, 0, 1).busy()).isEqualTo(1);
    assertThat(once).as("the observer ran between the entry and the freeze").isTrue();
    assertThat(a.isResident(h)).isTrue();
    assertThat(a.getLong(h, 0)).isEqualTo(99);
    assertThat(a.control().spill(new long[] {h}, 0, 1).spilled()).as("and it spills normally after").isEqualTo(1);
    assertThat(a.getLong(h, 0)).isEqualTo(99);
    a.free(h);
  }

  /**
   * A free of a forwarded block ends its entry and goes on to free the block's RAM slot; a sweep can
   * spill that slot by reference in between. The free must then follow the slot (its record), not
   * give up on the caller's handle: it used to throw "double free" for a live block, and the block
   * leaked (found by {@code sweepingAndSpillingByReferenceUnderConcurrentUseLosesNothing}, once).
   */
  @Test
  void aFreeFollowsAForwardedBlocksSlotThatASweepSpillsMeanwhile() throws Exception {
    java.util.concurrent.atomic.AtomicReference<Runnable> atRamSlot = new java.util.concurrent.atomic.AtomicReference<>();
    SlabAllocator a = (SlabAllocator) tiered(dir, "memory.thread-cache.enabled = false", new MoveObserver() {
      @Override
      public void ramSlotFound(long handle, long ram) {
        Runnable r = atRamSlot.getAndSet(null);
        if (r != null) {
          r.run();
        }
      }
    });
    long h = a.allocate(2048);
    a.putLong(h, 0, 5);
    assertThat(a.spill(h)).isEqualTo(SpillOutcome.SPILLED);
    long taker = a.allocate(2048); // takes the home slot: the restore goes elsewhere
    assertThat(a.getLong(h, 0)).isEqualTo(5);
    assertThat(a.stats().spill().forwardedBlocks()).isEqualTo(1);
    long ram = a.mover().restorer.resolve(h); // the slot a sweep names the block by
    assertThat(ram).isNotEqualTo(h);
    atRamSlot.set(() -> {
      assertThat(a.control().spill(new long[] {ram}, 0, 1).spilled()).as("the sweep spills the slot by reference").isEqualTo(1);
    });
    a.free(h);
    assertThat(atRamSlot.get()).as("the sweep ran where the free had found the RAM slot").isNull();
    assertThat(a.isLive(h)).isFalse();
    assertThat(a.stats().spill().spilledBlocks()).as("the record went with the block").isZero();
    a.free(taker);
  }

  /**
   * One block spilled again and again while two threads read it and ask about it, so its spills are
   * aborted and it is frozen again all the time: the slow paths' looks can straddle an abort and a
   * re-freeze, and must look again rather than call a live block invalid (a bug this test found:
   * {@code getByte} threw "use after free" for a live handle once in a few runs).
   */
  @Test
  void slowPathsNeverCallALiveBlockInvalidWhileItsSpillsAbortAndFreezeAgain() throws Exception {
    BlockAllocator a = tiered(dir, "");
    byte[] bytes = SpillRestoreTest.pattern(3, 100, false);
    long h = a.allocate(100);
    a.write(h, 0, bytes, 0, bytes.length);
    long deadline = System.nanoTime() + RUN_NANOS;
    List<Runnable> workers = new ArrayList<>();
    workers.add(() -> {
      long[] one = {h};
      while (System.nanoTime() < deadline) {
        a.control().spill(one, 0, 1);
      }
    });
    for (int t = 0; t < 2; t++) {
      int id = t;
      workers.add(() -> {
        SplittableRandom r = new SplittableRandom(id);
        while (System.nanoTime() < deadline) {
          switch (r.nextInt(5)) {
            case 0 -> assertThat(a.getByte(h, 7)).isEqualTo(bytes[7]);
            case 1 -> assertThat(a.isLive(h)).isTrue();
            case 2 -> assertThat(a.size(h)).isEqualTo(100);
            case 3 -> assertThat(a.capacity(h)).isEqualTo(112);
            default -> a.isResident(h);
          }
        }
      });
    }
    race(workers);
    assertThat(SpillRestoreTest.contents(a, h)).isEqualTo(bytes);
    a.free(h);
  }

  /**
   * Readers check immutable blocks (a checksum per block) while a spiller spills them and a churner
   * allocates and frees blocks of the same classes, so released slots are reused at once: a read must
   * never return bytes of the block that reused a slot.
   */
  @Test
  void readersNeverSeeAnotherBlocksBytes() throws Exception {
    BlockAllocator a = tiered(dir, "");
    int n = 300;
    long[] handles = new long[n];
    byte[][] data = new byte[n][];
    SplittableRandom setup = new SplittableRandom(5);
    for (int i = 0; i < n; i++) {
      int size = 16 + setup.nextInt(3000);
      handles[i] = a.allocate(size);
      data[i] = SpillRestoreTest.pattern(setup.nextLong(), size, false);
      a.write(handles[i], 0, data[i], 0, size);
    }
    long deadline = System.nanoTime() + RUN_NANOS;
    List<Runnable> workers = new ArrayList<>();
    for (int t = 0; t < 2; t++) {
      int id = t;
      workers.add(() -> {
        SplittableRandom r = new SplittableRandom(id);
        while (System.nanoTime() < deadline) {
          int i = r.nextInt(n);
          int at = r.nextInt(data[i].length);
          assertThat(a.getByte(handles[i], at)).as("block %d byte %d", i, at).isEqualTo(data[i][at]);
        }
      });
    }
    workers.add(() -> {
      SplittableRandom r = new SplittableRandom(7);
      while (System.nanoTime() < deadline) {
        long h = a.allocate(16 + r.nextInt(3000));
        a.fill(h, 0, a.size(h), (byte) 0x5A);
        a.free(h);
      }
    });
    workers.add(() -> {
      SplittableRandom r = new SplittableRandom(11);
      long[] batch = new long[16];
      while (System.nanoTime() < deadline) {
        for (int k = 0; k < batch.length; k++) {
          batch[k] = handles[r.nextInt(n)];
        }
        a.control().spill(batch, 0, batch.length);
      }
    });
    race(workers);
    for (int i = 0; i < n; i++) {
      assertThat(SpillRestoreTest.contents(a, handles[i])).isEqualTo(data[i]);
      a.free(handles[i]);
    }
  }

  /** A block written through its pinned view is never spilled under it: the writes are all kept. */
  @Test
  void pinsHoldAgainstARacingSpiller() throws Exception {
    BlockAllocator a = tiered(dir, "");
    int n = 64;
    long[] handles = new long[n];
    for (int i = 0; i < n; i++) {
      handles[i] = a.allocate(256);
      a.fill(handles[i], 0, 256, (byte) 0);
    }
    long deadline = System.nanoTime() + RUN_NANOS;
    AtomicInteger pinnedRounds = new AtomicInteger();
    List<Runnable> workers = new ArrayList<>();
    workers.add(() -> {
      SplittableRandom r = new SplittableRandom(1);
      long[] counters = new long[n];
      while (System.nanoTime() < deadline) {
        int i = r.nextInt(n);
        MemorySegment view = a.pin(handles[i]);
        for (int k = 0; k < 50; k++) {
          counters[i]++;
          view.set(ValueLayout.JAVA_LONG_UNALIGNED, 8, counters[i]);
          Thread.onSpinWait();
        }
        a.unpin(handles[i]);
        assertThat(a.getLong(handles[i], 8)).as("block %d", i).isEqualTo(counters[i]);
        pinnedRounds.incrementAndGet();
      }
    });
    workers.add(() -> {
      SplittableRandom r = new SplittableRandom(2);
      while (System.nanoTime() < deadline) {
        a.spill(handles[r.nextInt(n)]);
      }
    });
    race(workers);
    assertThat(pinnedRounds.get()).isGreaterThan(100);
    assertThat(a.stats().spill().busySpills()).as("some spills met a pin").isGreaterThan(0);
    for (long h : handles) {
      a.free(h);
    }
  }

  /**
   * Frees race spills of the same blocks: every block is freed exactly once (whether resident,
   * being spilled, or spilled), and nothing leaks: no resident block, no spilled block, no live record.
   */
  @Test
  void freesRacingSpillsFreeEachBlockOnceAndLeakNothing() throws Exception {
    BlockAllocator a = tiered(dir, "");
    for (int round = 0; round < 20; round++) {
      int n = 400;
      long[] handles = new long[n];
      for (int i = 0; i < n; i++) {
        handles[i] = a.allocate(64 + (i % 5) * 1000);
      }
      CyclicBarrier go = new CyclicBarrier(2);
      race(List.of(
          () -> {
            try {
              go.await();
            } catch (Exception e) {
              throw new AssertionError(e);
            }
            for (int i = 0; i < n; i += 8) {
              try {
                a.control().spill(handles, i, 8);
              } catch (InvalidHandleException freedMeanwhile) {
                // a batch naming a block the other thread already freed fails as a whole
              }
            }
          },
          () -> {
            try {
              go.await();
            } catch (Exception e) {
              throw new AssertionError(e);
            }
            for (int i = n - 1; i >= 0; i--) {
              a.free(handles[i]);
            }
          }));
      for (long h : handles) {
        assertThat(a.isLive(h)).isFalse();
      }
    }
    a.control().maintain();
    assertThat(a.stats().spill().tier().liveRecords()).isZero();
  }
}
