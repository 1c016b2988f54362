package dev.spillway.core.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.SpillOutcome;
import dev.spillway.memory.spi.SpillReport;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongConsumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The spill protocol ({@link SpillProtocol}) and the restorer ({@link Restorer}), each race forced at
 * the moment it decides the outcome: a {@link MoveObserver} stops the mover there and runs another
 * thread's step, waiting until that thread has done it or is blocked on the block, then lets the
 * mover go on. Every test states the one outcome the protocol allows; the base class fails a test
 * that leaks a block.
 *
 * <ul>
 *   <li>Between the append and the commit ({@link MoveObserver#appended}): an access, a free or a pin
 *       of the block aborts its spill; the record becomes dead and the block stays what it was.
 *   <li>During a restore ({@link MoveObserver#restoring}): a second access waits and sees the same
 *       bytes, a free waits and then frees, a spill finds the block already spilled.
 * </ul>
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class MoveInterleavingTest extends AllocatorTestBase {
  private static final Duration DEADLINE = Duration.ofSeconds(20);

  @TempDir Path dir;

  /** An observer that runs {@code step} once, at the first {@code appended} or {@code restoring} it sees. */
  private static final class Once implements MoveObserver {
    private final AtomicReference<LongConsumer> atAppend = new AtomicReference<>();
    private final AtomicReference<LongConsumer> atRestore = new AtomicReference<>();

    @Override
    public void appended() {
      LongConsumer step = atAppend.getAndSet(null);
      if (step != null) {
        step.accept(0);
      }
    }

    @Override
    public void restoring(long handle) {
      LongConsumer step = atRestore.getAndSet(null);
      if (step != null) {
        step.accept(handle);
      }
    }

    boolean ran() {
      return atAppend.get() == null && atRestore.get() == null;
    }
  }

  private BlockAllocator tiered(Once observer) {
    return tiered(dir, "memory.thread-cache.enabled = false", observer);
  }

  /** Runs {@code step} on another thread and waits until it has finished. */
  private static void onAnotherThread(Runnable step) {
    CompletableFuture.runAsync(step).orTimeout(DEADLINE.toSeconds(), TimeUnit.SECONDS).join();
  }

  /** Starts {@code step} on another thread and returns once that thread waits on a monitor (or finished). */
  private static Thread blockedOnAnotherThread(Runnable step, AtomicReference<Throwable> failure) {
    Thread t = new Thread(() -> {
      try {
        step.run();
      } catch (Throwable e) {
        failure.set(e);
      }
    });
    t.start();
    await().atMost(DEADLINE).until(() -> t.getState() == Thread.State.WAITING
        || t.getState() == Thread.State.BLOCKED || t.getState() == Thread.State.TERMINATED);
    return t;
  }

  private static void join(Thread t) throws InterruptedException {
    t.join(DEADLINE.toMillis());
    assertThat(t.isAlive()).as("the other thread finished").isFalse();
  }

  // ---- between the append and the commit ---------------------------------------------------------

  @Test
  void aWriteBetweenTheAppendAndTheCommitKeepsTheBlockResidentWithItsBytes() {
    Once observer = new Once();
    BlockAllocator a = tiered(observer);
    long h = a.allocate(4096);
    a.putLong(h, 0, 1);
    observer.atAppend.set(x -> onAnotherThread(() -> a.putLong(h, 0, 42)));
    SpillReport report = a.control().spill(new long[] {h}, 0, 1);
    assertThat(observer.ran()).isTrue();
    assertThat(report.single()).isEqualTo(SpillOutcome.BUSY);
    assertThat(a.isResident(h)).isTrue();
    assertThat(a.getLong(h, 0)).as("the write went to the block, not to a copy about to be dropped").isEqualTo(42);
    assertThat(a.stats().spill().spills()).isZero();
    assertThat(a.stats().spill().busySpills()).isEqualTo(1);
    a.control().maintain();
    assertThat(a.stats().spill().tier().liveRecords()).as("the record written for nothing is dead").isZero();
    assertThat(a.control().spill(new long[] {h}, 0, 1).single()).as("and it spills normally after")
        .isEqualTo(SpillOutcome.SPILLED);
    assertThat(a.getLong(h, 0)).isEqualTo(42);
    a.free(h);
  }

  @Test
  void aFreeBetweenTheAppendAndTheCommitFreesTheBlockOnce() {
    Once observer = new Once();
    BlockAllocator a = tiered(observer);
    long h = a.allocate(4096);
    observer.atAppend.set(x -> onAnotherThread(() -> a.free(h)));
    assertThat(a.control().spill(new long[] {h}, 0, 1).single()).isEqualTo(SpillOutcome.BUSY);
    assertThat(observer.ran()).isTrue();
    assertThat(a.isLive(h)).isFalse();
    assertThat(a.stats().spill().spilledBlocks()).isZero();
    long next = a.allocate(4096); // the slot is free again, once: the leak check after the test says so too
    a.free(next);
  }

  @Test
  void aPinBetweenTheAppendAndTheCommitHoldsTheBlockInPlace() {
    Once observer = new Once();
    BlockAllocator a = tiered(observer);
    long h = a.allocate(4096);
    a.putLong(h, 8, 7);
    observer.atAppend.set(x -> onAnotherThread(() -> a.pin(h)));
    assertThat(a.control().spill(new long[] {h}, 0, 1).single()).isEqualTo(SpillOutcome.BUSY);
    assertThat(a.control().spill(new long[] {h}, 0, 1).single()).as("pinned now").isEqualTo(SpillOutcome.PINNED);
    assertThat(a.getLong(h, 8)).isEqualTo(7);
    a.unpin(h);
    a.free(h);
  }

  @Test
  void aForwardedBlockWhoseSpillIsAbortedStaysForwarded() {
    Once observer = new Once();
    BlockAllocator a = tiered(observer);
    long h = a.allocate(2048);
    a.putLong(h, 0, 5);
    assertThat(a.spill(h)).isEqualTo(SpillOutcome.SPILLED);
    long taker = a.allocate(2048); // takes the home slot: the restore goes elsewhere
    assertThat(a.getLong(h, 0)).isEqualTo(5);
    assertThat(a.stats().spill().forwardedBlocks()).isEqualTo(1);
    observer.atAppend.set(x -> onAnotherThread(() -> a.putLong(h, 0, 6)));
    assertThat(a.control().spill(new long[] {h}, 0, 1).single()).isEqualTo(SpillOutcome.BUSY);
    assertThat(a.stats().spill().forwardedBlocks()).as("back in its RAM slot, still forwarded").isEqualTo(1);
    assertThat(a.getLong(h, 0)).isEqualTo(6);
    a.free(h);
    assertThat(a.stats().spill().forwardedBlocks()).isZero();
    a.free(taker);
  }

  // ---- during a restore ---------------------------------------------------------------------------

  @Test
  void aSecondAccessWaitsForTheRestoreAndReadsTheSameBytes() throws Exception {
    Once observer = new Once();
    BlockAllocator a = tiered(observer);
    long h = a.allocate(4096);
    a.putLong(h, 100, 77);
    assertThat(a.spill(h)).isEqualTo(SpillOutcome.SPILLED);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    long[] seen = new long[1];
    AtomicReference<Thread> second = new AtomicReference<>();
    observer.atRestore.set(x -> second.set(blockedOnAnotherThread(() -> seen[0] = a.getLong(h, 100), failure)));
    assertThat(a.getLong(h, 100)).isEqualTo(77);
    join(second.get());
    assertThat(failure.get()).isNull();
    assertThat(seen[0]).isEqualTo(77);
    assertThat(a.stats().spill().restores()).as("one restore for both accesses").isEqualTo(1);
    a.free(h);
  }

  @Test
  void aFreeDuringARestoreWaitsForItAndThenFreesTheBlock() throws Exception {
    Once observer = new Once();
    BlockAllocator a = tiered(observer);
    long h = a.allocate(4096);
    assertThat(a.spill(h)).isEqualTo(SpillOutcome.SPILLED);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    AtomicReference<Thread> freer = new AtomicReference<>();
    observer.atRestore.set(x -> freer.set(blockedOnAnotherThread(() -> a.free(h), failure)));
    assertThat(a.control().restore(h)).isTrue();
    join(freer.get());
    assertThat(failure.get()).isNull();
    assertThat(a.isLive(h)).isFalse();
    assertThat(a.stats().spill().spilledBlocks()).isZero();
  }

  @Test
  void aSpillDuringARestoreFindsTheBlockAlreadySpilled() {
    Once observer = new Once();
    BlockAllocator a = tiered(observer);
    long h = a.allocate(4096);
    a.putLong(h, 0, 3);
    assertThat(a.spill(h)).isEqualTo(SpillOutcome.SPILLED);
    AtomicReference<SpillOutcome> during = new AtomicReference<>();
    observer.atRestore.set(x -> onAnotherThread(() -> during.set(a.spill(h))));
    assertThat(a.getLong(h, 0)).isEqualTo(3);
    assertThat(during.get()).isEqualTo(SpillOutcome.ALREADY_SPILLED);
    assertThat(a.isResident(h)).isTrue();
    a.free(h);
  }
}
