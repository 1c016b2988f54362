package dev.spillway.streams.spill;

import static org.assertj.core.api.Assertions.assertThat;

import dev.spillway.config.SpillwaySettings;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.SpillOutcome;
import dev.spillway.memory.spi.AllocatorControl;
import dev.spillway.streams.StreamsTestBase;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongPredicate;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A stream that stops on its own (a stage failing with an {@link Error}, or the stream ending while
 * the pipeline is not closed): every request taken is answered with a {@link PipelineClosedException},
 * every block frozen between the stages goes back to normal, callers waiting for room are refused,
 * later requests are refused at once, and {@link SpillPipeline#whenStopped()} fails with the cause.
 */
class SpillPipelineStopTest extends StreamsTestBase {
  /** What the injected failures throw: not a failed batch (a RuntimeException), a broken stage. */
  static final class InjectedError extends Error {
    InjectedError(String message) {
      super(message);
    }
  }

  @Override
  protected Duration answerTimeout() {
    return Duration.ofSeconds(30);
  }

  private SpillwaySettings spillSettings(String hocon) {
    return settings(tmp, "tier.durability = none\n" + hocon);
  }

  private static long[] blocks(BlockAllocator a, int n, int size, List<byte[]> data) {
    long[] h = new long[n];
    for (int i = 0; i < n; i++) {
      h[i] = a.allocate(size);
      byte[] bytes = pattern(i, size, false);
      a.write(h[i], 0, bytes, 0, size);
      data.add(bytes);
    }
    return h;
  }

  /**
   * Each block spills on the caller's thread (so none stayed frozen: a frozen block answers BUSY),
   * reads back byte-exact, and is freed.
   */
  private static void spillReadAndFree(BlockAllocator a, long[] h, List<byte[]> data) {
    for (int i = 0; i < h.length; i++) {
      assertThat(a.spill(h[i])).as("block %d unfrozen: it spills", i).isEqualTo(SpillOutcome.SPILLED);
      byte[] got = new byte[data.get(i).length];
      a.read(h[i], 0, got, 0, got.length);
      assertThat(got).as("block %d", i).isEqualTo(data.get(i));
      a.free(h[i]);
    }
  }

  /**
   * {@code a} as the pipeline sees it: counts the requests it prepared, and blocks a preparation that
   * holds a handle {@code holdIf} accepts until {@code release} opens.
   */
  private static BlockAllocator seen(BlockAllocator a, AtomicInteger prepared, LongPredicate holdIf,
      CountDownLatch held, CountDownLatch release) {
    AllocatorControl control = (AllocatorControl) Proxy.newProxyInstance(AllocatorControl.class.getClassLoader(),
        new Class<?>[] {AllocatorControl.class}, (proxy, method, args) -> {
          if (method.getName().equals("prepareSpill")) {
            long[] handles = (long[]) args[0];
            for (int i = (Integer) args[1]; i < (Integer) args[1] + (Integer) args[2]; i++) {
              if (holdIf.test(handles[i])) {
                held.countDown();
                assertThat(release.await(60, TimeUnit.SECONDS)).isTrue();
              }
            }
          }
          try {
            Object result = method.invoke(a.control(), args);
            if (method.getName().equals("prepareSpill")) {
              prepared.addAndGet((Integer) args[2]);
            }
            return result;
          } catch (InvocationTargetException e) {
            throw e.getCause();
          }
        });
    return (BlockAllocator) Proxy.newProxyInstance(BlockAllocator.class.getClassLoader(),
        new Class<?>[] {BlockAllocator.class}, (proxy, method, args) -> {
          if (method.getName().equals("control")) {
            return control;
          }
          try {
            return method.invoke(a, args);
          } catch (InvocationTargetException e) {
            throw e.getCause();
          }
        });
  }

  private static void assertStoppedBy(Throwable e, Class<? extends Throwable> cause) {
    assertThat(e).isInstanceOf(PipelineClosedException.class);
    Throwable root = e;
    while (root.getCause() != null && !root.getCause().equals(root)) {
      root = root.getCause();
    }
    assertThat(root).isInstanceOf(cause);
  }

  @Test
  @Timeout(value = 2, unit = TimeUnit.MINUTES)
  void anErrorInTheWriteStepStopsTheStreamAndEveryRequestIsAnsweredWithItsBlockUnfrozen() throws Exception {
    // 4 KiB random blocks: one group each (a group is at most 2 KiB of weight here), two to a batch.
    SpillwaySettings s = spillSettings("spill.pipeline { queue-size = 16, batch-bytes = 8 KiB, batch-delay = 1 s }");
    BlockAllocator a = allocator(s);
    AtomicInteger prepared = new AtomicInteger();
    CountDownLatch writing = new CountDownLatch(1);
    CountDownLatch fail = new CountDownLatch(1);
    AtomicInteger writes = new AtomicInteger();
    BatchWriter broken = (allocator, batch) -> {
      writes.incrementAndGet();
      writing.countDown();
      try {
        assertThat(fail.await(60, TimeUnit.SECONDS)).isTrue();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      throw new InjectedError("injected: the write step is broken");
    };
    SpillPipeline pipeline = closeAfter(SpillPipeline.start(seen(a, prepared, h -> false, new CountDownLatch(1),
        new CountDownLatch(0)), s.spill(), system(), broken));
    List<byte[]> data = new ArrayList<>();
    long[] h = blocks(a, 24, 4096, data);
    List<CompletableFuture<SpillOutcome>> answers = new ArrayList<>();
    for (long x : h) {
      answers.add(pipeline.spill(x).toCompletableFuture()); // 16 taken, 8 wait for room
    }
    assertThat(writing.await(30, TimeUnit.SECONDS)).isTrue();
    // The first batch (two groups) in the writer, at least one more group frozen behind it.
    Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> prepared.get() >= 3);
    assertThat(pipeline.stats().inFlight()).isEqualTo(16);
    fail.countDown();

    assertStoppedBy(failureOf(pipeline.whenStopped()), InjectedError.class);
    for (CompletableFuture<SpillOutcome> f : answers) {
      assertStoppedBy(failureOf(f), InjectedError.class);
    }
    assertThat(writes.get()).as("nothing written after the failure").isEqualTo(1);
    PipelineStats stats = pipeline.stats();
    assertThat(stats.inFlight()).isZero();
    assertThat(stats.failed()).isEqualTo(24);
    assertThat(stats.spilled()).isZero();
    assertThat(failureOf(pipeline.offer(h[0]))).isInstanceOf(PipelineClosedException.class)
        .hasMessageContaining("stopped after a failure").hasMessageContaining("injected");
    assertThat(failureOf(pipeline.spillAll(h, 0, 2))).isInstanceOf(PipelineClosedException.class);
    spillReadAndFree(a, h, data);
  }

  @Test
  @Timeout(value = 2, unit = TimeUnit.MINUTES)
  void aGroupStillBeingPreparedWhenTheStreamStopsIsAbandonedAndAnsweredByItsStage() throws Exception {
    SpillwaySettings s = spillSettings("spill.pipeline { encode-parallelism = 2, batch-delay = 1 ms }");
    BlockAllocator a = allocator(s);
    List<byte[]> data = new ArrayList<>();
    long[] h = blocks(a, 2, 4096, data);
    AtomicInteger prepared = new AtomicInteger();
    CountDownLatch held = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    BatchWriter broken = (allocator, batch) -> {
      try {
        assertThat(held.await(30, TimeUnit.SECONDS)).isTrue(); // the second group is being prepared
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      throw new InjectedError("injected: the write step is broken");
    };
    long second = h[1];
    SpillPipeline pipeline = closeAfter(SpillPipeline.start(seen(a, prepared, x -> x == second, held, release),
        s.spill(), system(), broken));
    CompletableFuture<SpillOutcome> first = pipeline.offer(h[0]).toCompletableFuture();
    Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> prepared.get() >= 1);
    CompletableFuture<SpillOutcome> late = pipeline.offer(h[1]).toCompletableFuture();
    assertThat(held.await(30, TimeUnit.SECONDS)).isTrue(); // its preparation is under way

    // The first group's write fails the stream while the second is being prepared.
    assertStoppedBy(failureOf(first), InjectedError.class);
    assertStoppedBy(failureOf(pipeline.whenStopped()), InjectedError.class);
    assertThat(late).as("the stage preparing it answers it, not the sweep").isNotDone();
    release.countDown();
    assertStoppedBy(failureOf(late), InjectedError.class);
    assertThat(pipeline.stats().inFlight()).isZero();
    spillReadAndFree(a, h, data);
  }

  @Test
  @Timeout(value = 2, unit = TimeUnit.MINUTES)
  void aStreamThatEndsWhileNotClosedCountsAsStopped() throws Exception {
    SpillwaySettings s = spillSettings("");
    BlockAllocator a = allocator(s);
    SpillPipeline pipeline = closeAfter(SpillPipeline.start(a, s.spill(), system()));
    List<byte[]> data = new ArrayList<>();
    long[] h = blocks(a, 1, 4096, data);
    assertThat(await(pipeline.spill(h[0]))).isEqualTo(SpillOutcome.SPILLED);
    pipeline.endStreamWithoutClose();
    Throwable e = failureOf(pipeline.whenStopped());
    assertThat(e).isInstanceOf(PipelineClosedException.class).hasMessageContaining("not closed");
    assertThat(failureOf(pipeline.spill(h[0]))).isInstanceOf(PipelineClosedException.class)
        .hasMessageContaining("stopped");
    a.free(h[0]);
  }

  @Test
  @Timeout(value = 2, unit = TimeUnit.MINUTES)
  void whenStoppedCompletesNormallyAfterClose() throws Exception {
    SpillwaySettings s = spillSettings("");
    BlockAllocator a = allocator(s);
    SpillPipeline pipeline = closeAfter(SpillPipeline.start(a, s.spill(), system()));
    assertThat(pipeline.whenStopped().toCompletableFuture()).isNotDone();
    pipeline.close();
    assertThat(await(pipeline.whenStopped())).isNotNull();
  }
}
