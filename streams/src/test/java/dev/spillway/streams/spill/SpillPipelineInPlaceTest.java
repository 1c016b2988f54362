package dev.spillway.streams.spill;

import static org.assertj.core.api.Assertions.assertThat;

import dev.spillway.config.SpillwaySettings;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.SpillOutcome;
import dev.spillway.memory.spi.AllocatorControl;
import dev.spillway.memory.spi.PreparedSpill;
import dev.spillway.streams.StreamsTestBase;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Groups spilled in place by the writer (encoding is cheap: codec raw here): no copy ahead of the
 * writer, the same answers, order and bounds as prepared groups; a block touched between the freeze
 * and the append keeps its RAM; a failed or broken write leaves no request unanswered and no block
 * frozen. Also the collector: requests go through the stream in groups, and a bulk round is answered
 * once.
 */
class SpillPipelineInPlaceTest extends StreamsTestBase {
  @Override
  protected Duration answerTimeout() {
    return Duration.ofSeconds(30);
  }

  private SpillwaySettings rawSettings(String hocon) {
    return settings(tmp, "tier.durability = none\nspill.codec = raw\n" + hocon);
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

  private static void verifyAndFree(BlockAllocator a, long[] h, List<byte[]> data) {
    for (int i = 0; i < h.length; i++) {
      byte[] got = new byte[data.get(i).length];
      a.read(h[i], 0, got, 0, got.length);
      assertThat(got).as("block %d", i).isEqualTo(data.get(i));
      a.free(h[i]);
    }
  }

  /** {@code a} as the pipeline sees it, counting requests prepared with a copy and in place. */
  private static BlockAllocator counting(BlockAllocator a, AtomicInteger copied, AtomicInteger inPlace) {
    AllocatorControl control = (AllocatorControl) Proxy.newProxyInstance(AllocatorControl.class.getClassLoader(),
        new Class<?>[] {AllocatorControl.class}, (proxy, method, args) -> {
          try {
            Object result = method.invoke(a.control(), args);
            if (method.getName().equals("prepareSpill")) {
              copied.addAndGet((Integer) args[2]);
            } else if (method.getName().equals("prepareSpillInPlace")) {
              inPlace.addAndGet((Integer) args[2]);
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

  @Test
  @Timeout(value = 2, unit = TimeUnit.MINUTES)
  void cheapEncodingSpillsInPlaceInOrderAndEveryBlockReadsBack() throws Exception {
    SpillwaySettings s = rawSettings("spill.pipeline { queue-size = 1024, batch-bytes = 64 KiB }");
    BlockAllocator a = allocator(s);
    AtomicInteger copied = new AtomicInteger();
    AtomicInteger inPlace = new AtomicInteger();
    SpillPipeline pipeline = closeAfter(SpillPipeline.start(counting(a, copied, inPlace), s.spill(), system()));
    List<byte[]> data = new ArrayList<>();
    long[] h = blocks(a, 500, 4096, data);
    List<Integer> answered = Collections.synchronizedList(new ArrayList<>());
    List<CompletableFuture<SpillOutcome>> answers = new ArrayList<>();
    for (int i = 0; i < h.length; i++) {
      int index = i;
      answers.add(pipeline.spill(h[i]).toCompletableFuture().whenComplete((o, e) -> answered.add(index)));
    }
    for (CompletableFuture<SpillOutcome> f : answers) {
      assertThat(await(f)).isEqualTo(SpillOutcome.SPILLED);
    }
    List<Integer> expected = new ArrayList<>();
    for (int i = 0; i < h.length; i++) {
      expected.add(i);
    }
    assertThat(answered).as("answers come in the order requests were taken").isEqualTo(expected);
    assertThat(copied.get()).as("nothing copied ahead of the writer").isZero();
    assertThat(inPlace.get()).isEqualTo(500);
    PipelineStats stats = pipeline.stats();
    assertThat(stats.spilled()).isEqualTo(500);
    assertThat(stats.inFlight()).isZero();
    assertThat(stats.groups()).as("requests go through in groups").isLessThan(500);
    verifyAndFree(a, h, data);
  }

  @Test
  @Timeout(value = 2, unit = TimeUnit.MINUTES)
  void aBlockWrittenWhileItsGroupIsFrozenInPlaceKeepsItsRamAndItsNewBytes() throws Exception {
    SpillwaySettings s = rawSettings("");
    BlockAllocator a = allocator(s);
    List<byte[]> data = new ArrayList<>();
    long[] h = blocks(a, 40, 4096, data);
    List<Long> touched = Collections.synchronizedList(new ArrayList<>());
    // Between the freeze and the append (the writer's window in place), an application thread writes
    // into the first block of every group; the writer waits for that write to finish.
    BatchWriter touching = (allocator, batch) -> {
      for (PreparedSpill p : batch) {
        long victim = p.handle(0);
        Thread writerOfTheApp = new Thread(() -> allocator.putLong(victim, 0, ~victim));
        writerOfTheApp.start();
        try {
          writerOfTheApp.join(30_000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        touched.add(victim);
      }
      allocator.control().writeSpills(batch);
    };
    SpillPipeline pipeline = closeAfter(SpillPipeline.start(a, s.spill(), system(), touching));
    List<CompletableFuture<SpillOutcome>> answers = new ArrayList<>();
    for (long x : h) {
      answers.add(pipeline.spill(x).toCompletableFuture());
    }
    for (int i = 0; i < h.length; i++) {
      SpillOutcome o = await(answers.get(i));
      if (touched.contains(h[i])) {
        assertThat(o).as("block %d, written while frozen", i).isEqualTo(SpillOutcome.BUSY);
        assertThat(a.isResident(h[i])).isTrue();
        java.nio.ByteBuffer.wrap(data.get(i)).order(java.nio.ByteOrder.nativeOrder()).putLong(0, ~h[i]);
      } else {
        assertThat(o).as("block %d", i).isEqualTo(SpillOutcome.SPILLED);
        assertThat(a.isResident(h[i])).isFalse();
      }
    }
    assertThat(touched).isNotEmpty();
    verifyAndFree(a, h, data);
    a.control().maintain();
  }

  @Test
  @Timeout(value = 2, unit = TimeUnit.MINUTES)
  void aFailedInPlaceBatchFailsItsRequestsLeavesTheBlocksResidentAndTheNextBatchGoesOn() throws Exception {
    SpillwaySettings s = rawSettings("spill.pipeline { batch-bytes = 16 KiB, batch-delay = 1 ms,"
        + " restart { min-backoff = 10 ms, max-backoff = 20 ms } }");
    BlockAllocator a = allocator(s);
    AtomicInteger fail = new AtomicInteger(1);
    BatchWriter failingOnce = (allocator, batch) -> {
      if (fail.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        throw new UncheckedIOException(new IOException("injected: device unavailable"));
      }
      allocator.control().writeSpills(batch);
    };
    SpillPipeline pipeline = closeAfter(SpillPipeline.start(a, s.spill(), system(), failingOnce));
    List<byte[]> data = new ArrayList<>();
    long[] h = blocks(a, 4, 4096, data);
    List<CompletableFuture<Throwable>> answers = new ArrayList<>();
    for (long x : h) {
      answers.add(pipeline.spill(x).toCompletableFuture().handle((o, e) -> e));
    }
    for (int i = 0; i < h.length; i++) {
      long x = h[i];
      Throwable e = await(answers.get(i));
      if (e != null) {
        assertThat(e).isInstanceOf(UncheckedIOException.class).hasMessageContaining("injected");
      }
      assertThat(a.isResident(x)).as("answered: resident when failed, spilled otherwise").isEqualTo(e != null);
    }
    PipelineStats stats = pipeline.stats();
    assertThat(stats.failedBatches()).isEqualTo(1);
    assertThat(stats.failed()).isPositive();
    assertThat(stats.failed() + stats.spilled()).isEqualTo(4);
    assertThat(stats.inFlight()).isZero();
    // The blocks of the failed batch were unfrozen: they spill now.
    for (long x : h) {
      if (a.isResident(x)) {
        assertThat(await(pipeline.spill(x))).isEqualTo(SpillOutcome.SPILLED);
      }
    }
    verifyAndFree(a, h, data);
  }

  @Test
  @Timeout(value = 2, unit = TimeUnit.MINUTES)
  void anErrorInAnInPlaceWriteStopsTheStreamAndEveryRequestIsAnsweredWithItsBlockUnfrozen() throws Exception {
    SpillwaySettings s = rawSettings("spill.pipeline { queue-size = 16, batch-bytes = 8 KiB, batch-delay = 1 s }");
    BlockAllocator a = allocator(s);
    CountDownLatch writing = new CountDownLatch(1);
    CountDownLatch fail = new CountDownLatch(1);
    BatchWriter broken = (allocator, batch) -> {
      writing.countDown();
      try {
        assertThat(fail.await(60, TimeUnit.SECONDS)).isTrue();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      throw new SpillPipelineStopTest.InjectedError("injected: the write step is broken");
    };
    SpillPipeline pipeline = closeAfter(SpillPipeline.start(a, s.spill(), system(), broken));
    List<byte[]> data = new ArrayList<>();
    long[] h = blocks(a, 24, 4096, data);
    List<CompletableFuture<SpillOutcome>> answers = new ArrayList<>();
    for (long x : h) {
      answers.add(pipeline.spill(x).toCompletableFuture()); // 16 taken, 8 wait for room
    }
    assertThat(writing.await(30, TimeUnit.SECONDS)).isTrue();
    assertThat(pipeline.stats().inFlight()).isEqualTo(16);
    fail.countDown();
    Throwable stopped = failureOf(pipeline.whenStopped());
    assertThat(stopped).isInstanceOf(PipelineClosedException.class);
    for (CompletableFuture<SpillOutcome> f : answers) {
      assertThat(failureOf(f)).isInstanceOf(PipelineClosedException.class);
    }
    PipelineStats stats = pipeline.stats();
    assertThat(stats.inFlight()).isZero();
    assertThat(stats.failed()).isEqualTo(24);
    for (int i = 0; i < h.length; i++) {
      assertThat(a.spill(h[i])).as("block %d unfrozen: it spills", i).isEqualTo(SpillOutcome.SPILLED);
    }
    verifyAndFree(a, h, data);
  }

  @Test
  @Timeout(value = 2, unit = TimeUnit.MINUTES)
  void aBulkRoundOfManyMoreBlocksThanTheQueueIsAnsweredOnce() throws Exception {
    SpillwaySettings s = settings(tmp, "tier.durability = none\nspill.pipeline { queue-size = 64, batch-bytes = 64 KiB }");
    BlockAllocator a = allocator(s);
    SpillPipeline pipeline = closeAfter(SpillPipeline.start(a, s.spill(), system()));
    List<byte[]> data = new ArrayList<>();
    long[] h = blocks(a, 100, 2048, data);
    List<CompletableFuture<Void>> rounds = new ArrayList<>();
    for (int from = 0; from < h.length; from += 50) {
      rounds.add(pipeline.spillAll(h, from, 50).toCompletableFuture()); // 100 > 64: the rest waits for room
    }
    for (CompletableFuture<Void> r : rounds) {
      assertThat(await(r)).isNull();
    }
    PipelineStats stats = pipeline.stats();
    assertThat(stats.spilled()).isEqualTo(100);
    assertThat(stats.inFlight()).isZero();
    for (long x : h) {
      assertThat(a.isResident(x)).isFalse();
    }
    verifyAndFree(a, h, data);
  }
}
