package dev.spillway.core.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link WriteGate} alone and with two or three threads driven step by step: each platform thread
 * gets one mark of its own, virtual threads share sixteen striped marks, {@link
 * WriteGate#awaitWriters} waits for every write that had entered when it was called (whoever
 * registered when) and for none that entered after it, and the protocol it serves (enter, check the
 * generation, store, exit; freeze, await, copy) never lets a store land after the copy.
 *
 * <p>A mover that must still be waiting is checked by waiting (with a deadline) until its thread
 * either ended or parked in the gate's back-off: a parked mover has looked at the counts after the
 * step that matters, many times, and is still waiting. The proof that a striped mark ended a wait
 * too early ({@link #aLaterVirtualWriteThatExitsFirstDoesNotEndTheWaitForAnEarlierOne}) failed
 * before the fix: the mover returned at once.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class WriteGateTest {
  private static final Duration DEADLINE = Duration.ofSeconds(30);

  private final WriteGate gate = new WriteGate();
  /** Whether the hook installed by {@link #onCountsRead} has run (true while none is installed). */
  private final AtomicBoolean hookDone = new AtomicBoolean(true);
  /** Failures of the test's own threads, rethrown after the test. */
  private final List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());

  @AfterEach
  void noThreadFailed() {
    assertThat(failures).as("failures of the test's threads").isEmpty();
  }

  /** {@code body} as a task that records its failure. */
  private Runnable checked(Runnable body) {
    return () -> {
      try {
        body.run();
      } catch (Throwable e) {
        failures.add(e);
      }
    };
  }

  private Thread platform(Runnable body) {
    return Thread.ofPlatform().start(checked(body));
  }

  @Test
  void awaitWritersReturnsAtOnceWhenNobodyWrites() {
    gate.awaitWriters();
    WriteGate.Mark mine = gate.mark();
    mine.enter();
    mine.exit();
    gate.awaitWriters(); // the calling thread's own finished write does not hold it
  }

  @Test
  void aPlatformThreadGetsOneMarkOfItsOwn() throws Exception {
    WriteGate.Mark mine = gate.mark();
    assertThat(gate.mark()).as("found again").isSameAs(mine);
    assertThat(mine.shared).isFalse();
    assertThat(mine.owner).isSameAs(Thread.currentThread());
    AtomicReference<WriteGate.Mark> other = new AtomicReference<>();
    Thread t = Thread.ofPlatform().start(() -> other.set(gate.mark()));
    join(t);
    assertThat(other.get()).isNotNull().isNotSameAs(mine);
    assertThat(other.get().owner).isSameAs(t);
    assertThat(gate.mark()).as("still found after the table was copied").isSameAs(mine);
  }

  @Test
  void virtualThreadsShareAStripedMarkByThreadId() throws Exception {
    List<WriteGate.Mark> marks = java.util.Collections.synchronizedList(new ArrayList<>());
    Thread[] pair = virtualPairOnOneStripe(() -> marks.add(gate.mark()), () -> marks.add(gate.mark()));
    for (Thread t : pair) {
      t.start();
      join(t);
    }
    assertThat(marks).hasSize(2);
    assertThat(marks).allMatch(m -> m.shared && m.owner == null);
    assertThat(marks.get(0)).as("ids equal modulo 16 share a stripe").isSameAs(marks.get(1));
    assertThat(marks.get(0)).isSameAs(gate.sharedMark(pair[0].threadId()));
    assertThat(gate.sharedMark(pair[0].threadId() + 1)).isNotSameAs(marks.get(0));
  }

  /**
   * Hundreds of platform threads register at once (the table is copied and grows many times, and
   * drops the marks of threads that ended); each keeps its own mark, and awaitWriters waits for one
   * of them that is inside a write.
   */
  @Test
  void manyThreadsRegisterAndAwaitWritersCoversEveryOne() throws Exception {
    int n = 300;
    CountDownLatch registered = new CountDownLatch(n);
    CountDownLatch release = new CountDownLatch(1);
    Map<WriteGate.Mark, Thread> marks = java.util.Collections.synchronizedMap(new IdentityHashMap<>());
    AtomicBoolean lastWriteDone = new AtomicBoolean();
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      boolean writer = i == n - 1;
      threads.add(platform(() -> {
        WriteGate.Mark m = gate.mark();
        marks.put(m, Thread.currentThread());
        if (writer) {
          m.enter();
        }
        registered.countDown();
        awaitLatch(release);
        assertThat(gate.mark()).isSameAs(m);
        if (writer) {
          lastWriteDone.set(true);
          m.exit();
        }
      }));
    }
    awaitLatch(registered);
    assertThat(marks).hasSize(n);
    AtomicBoolean doneWhenReturned = new AtomicBoolean();
    Thread mover = platform(() -> {
      gate.awaitWriters();
      doneWhenReturned.set(lastWriteDone.get());
    });
    awaitParkedOrEnded(mover);
    assertThat(mover.isAlive()).as("awaitWriters waits for the write in progress").isTrue();
    release.countDown();
    for (Thread t : threads) {
      join(t);
    }
    join(mover);
    assertThat(doneWhenReturned).as("the write of the last thread to register was waited for").isTrue();
    // The threads have ended: the next registration drops their marks, and the gate still works.
    join(platform(() -> {
      WriteGate.Mark m = gate.mark();
      m.enter();
      m.exit();
    }));
    gate.awaitWriters();
  }

  /**
   * The protocol: a writer entered and saw the block live, and is about to store; the mover freezes
   * the block and waits. The mover must not copy until the store is done, and a writer that enters
   * after the freeze sees it and does not store.
   */
  @Test
  void theMoverCopiesOnlyAfterAWriteThatSawTheBlockLive() throws Exception {
    AtomicInteger generation = new AtomicInteger(1);
    int[] block = new int[1];
    CountDownLatch checked = new CountDownLatch(1);
    CountDownLatch store = new CountDownLatch(1);
    Thread writer = platform(() -> {
      WriteGate.Mark m = gate.mark();
      m.enter();
      try {
        if (generation.get() == 1) {
          checked.countDown();
          awaitLatch(store);
          block[0] = 42;
        }
      } finally {
        m.exit();
      }
    });
    awaitLatch(checked);
    AtomicInteger copy = new AtomicInteger(-1);
    Thread mover = platform(() -> {
      assertThat(generation.compareAndSet(1, 2)).isTrue(); // the freeze
      gate.awaitWriters();
      copy.set(block[0]);
    });
    awaitParkedOrEnded(mover);
    assertThat(mover.isAlive()).as("the mover waits for the write that saw the block live").isTrue();
    // A second writer comes after the freeze: it sees it and stays out.
    AtomicBoolean late = new AtomicBoolean();
    Thread second = platform(() -> {
      WriteGate.Mark m = gate.mark();
      m.enter();
      try {
        late.set(generation.get() == 1);
      } finally {
        m.exit();
      }
    });
    join(second);
    assertThat(late).as("a write entering after the freeze sees it").isFalse();
    assertThat(mover.isAlive()).isTrue();
    store.countDown();
    join(writer);
    join(mover);
    assertThat(copy.get()).as("the copy holds the write").isEqualTo(42);
  }

  /** A write that enters after awaitWriters read the counts is none of its business. */
  @Test
  void awaitWritersDoesNotWaitForWritesThatEnterAfterItReadTheCounts() throws Exception {
    CountDownLatch entered = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    Thread writer = Thread.ofPlatform().unstarted(checked(() -> {
      WriteGate.Mark m = gate.mark();
      m.enter();
      entered.countDown();
      awaitLatch(release);
      m.exit();
    }));
    onCountsRead(() -> {
      writer.start(); // registers and enters after the counts were read
      awaitLatch(entered);
    });
    Thread mover = platform(gate::awaitWriters);
    join(mover);
    assertThat(mover.isAlive()).as("awaitWriters returned with a later write still inside").isFalse();
    assertThat(writer.isAlive()).isTrue();
    release.countDown();
    join(writer);
  }

  /**
   * Two virtual threads on one striped mark: A entered before the mover read the counts and is still
   * inside; B enters after and exits at once (it saw the frozen generation, or wrote another block).
   * The stripe's exits then reach the count the mover read, although A has not exited. The mover
   * returned there before the fix, and would have copied a block A was still writing.
   */
  @Test
  void aLaterVirtualWriteThatExitsFirstDoesNotEndTheWaitForAnEarlierOne() throws Exception {
    CountDownLatch aEntered = new CountDownLatch(1);
    CountDownLatch aRelease = new CountDownLatch(1);
    AtomicBoolean aDone = new AtomicBoolean();
    Thread[] pair = virtualPairOnOneStripe(
        checked(() -> {
          WriteGate.Mark m = gate.mark();
          m.enter();
          aEntered.countDown();
          awaitLatch(aRelease); // a writer descheduled between its check and its store
          aDone.set(true);
          m.exit();
        }),
        checked(() -> {
          WriteGate.Mark m = gate.mark();
          m.enter();
          m.exit();
        }));
    pair[0].start();
    awaitLatch(aEntered);
    onCountsRead(() -> {
      pair[1].start();
      join(pair[1]);
    });
    AtomicBoolean aDoneWhenReturned = new AtomicBoolean();
    Thread mover = platform(() -> {
      gate.awaitWriters();
      aDoneWhenReturned.set(aDone.get());
    });
    awaitParkedOrEnded(mover);
    assertThat(mover.isAlive())
        .as("awaitWriters returned while a write that entered before it was still inside").isTrue();
    aRelease.countDown();
    join(mover);
    assertThat(mover.isAlive()).isFalse();
    assertThat(aDoneWhenReturned).isTrue();
    join(pair[0]);
  }

  /** The same with platform threads, each on its own mark: B's exit never counts for A. */
  @Test
  void aLaterPlatformWriteThatExitsFirstDoesNotEndTheWaitForAnEarlierOne() throws Exception {
    CountDownLatch aEntered = new CountDownLatch(1);
    CountDownLatch aRelease = new CountDownLatch(1);
    Thread a = platform(() -> {
      WriteGate.Mark m = gate.mark();
      m.enter();
      aEntered.countDown();
      awaitLatch(aRelease);
      m.exit();
    });
    awaitLatch(aEntered);
    onCountsRead(() -> {
      join(platform(() -> {
        WriteGate.Mark m = gate.mark();
        m.enter();
        m.exit();
      }));
    });
    Thread mover = platform(gate::awaitWriters);
    awaitParkedOrEnded(mover);
    assertThat(mover.isAlive()).isTrue();
    aRelease.countDown();
    join(mover);
    assertThat(mover.isAlive()).isFalse();
    join(a);
  }

  /**
   * The same on one striped mark from platform threads (the seam Lincheck uses): write 1 entered
   * before the counts were read; write 2 enters after, and one exit follows (the mark cannot tell
   * whose). The mover waits until the stripe is empty, and then goes although writes keep coming.
   */
  @Test
  void aStripedMarkReleasesTheMoverOnceEmptyAndNotBefore() throws Exception {
    WriteGate.Mark stripe = gate.sharedMark(3);
    stripe.enter(); // write 1
    onCountsRead(() -> {
      stripe.enter(); // write 2
      stripe.exit(); // write 2 (or 1) exits
    });
    Thread mover = platform(gate::awaitWriters);
    awaitParkedOrEnded(mover);
    assertThat(mover.isAlive()).as("a write that entered before the counts were read may still be inside").isTrue();
    stripe.exit();
    join(mover);
  }

  /** Two unstarted virtual threads running {@code a} and {@code b} whose ids map to the same stripe. */
  private static Thread[] virtualPairOnOneStripe(Runnable a, Runnable b) {
    Thread first = Thread.ofVirtual().unstarted(a);
    for (int i = 0; i < 1_000; i++) {
      Thread second = Thread.ofVirtual().unstarted(b);
      if ((second.threadId() & 15) == (first.threadId() & 15)) {
        return new Thread[] {first, second};
      }
    }
    throw new AssertionError("no two virtual thread ids on one stripe in 1000 tries");
  }

  /**
   * Runs {@code body} once, in awaitWriters right after it read the counts it waits for. A hook
   * may block (joining a thread it started): until it is done, the mover's state says nothing.
   */
  private void onCountsRead(Runnable body) {
    hookDone.set(false);
    gate.countsReadHook = () -> {
      gate.countsReadHook = null;
      body.run();
      hookDone.set(true);
    };
  }

  /**
   * Waits until {@code mover} ended, or parked in the gate's back-off (after its spins and yields)
   * once any hook was done: it then looked at the counts many times since the hook's step.
   */
  private void awaitParkedOrEnded(Thread mover) {
    await().atMost(DEADLINE).pollInterval(Duration.ofMillis(5))
        .until(() -> !mover.isAlive() || (hookDone.get() && mover.getState() == Thread.State.TIMED_WAITING));
  }

  static void awaitLatch(CountDownLatch latch) {
    try {
      assertThat(latch.await(30, TimeUnit.SECONDS)).as("the other thread's step").isTrue();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  private static void join(Thread t) {
    try {
      assertThat(t.join(DEADLINE)).as("%s ended", t).isTrue();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
