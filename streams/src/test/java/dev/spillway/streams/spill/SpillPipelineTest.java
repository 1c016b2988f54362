package dev.spillway.streams.spill;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spillway.config.SpillwaySettings;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.InvalidHandleException;
import dev.spillway.memory.spi.AllocatorControl;
import dev.spillway.memory.spi.PreparedSpill;
import dev.spillway.memory.SpillFailedException;
import dev.spillway.memory.SpillOutcome;
import dev.spillway.streams.StreamsTestBase;
import dev.spillway.testing.TmpfsMount;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * The spill pipeline: answers and their order, batch bounds by bytes and by time, backpressure with a
 * slow writer, failed batches and the writer's backoff, closing, bad requests.
 */
class SpillPipelineTest extends StreamsTestBase {

  /** A write step that records each batch (stored bytes, blocks) and can be slowed down or failed. */
  private static final class RecordingWriter implements BatchWriter {
    final List<long[]> batches = new CopyOnWriteArrayList<>(); // {stored bytes, pending blocks}
    final AtomicInteger failNext = new AtomicInteger();
    final AtomicInteger maxInFlight = new AtomicInteger();
    volatile long sleepMillis;
    volatile SpillPipeline pipeline;

    @Override
    public void write(BlockAllocator allocator, List<PreparedSpill> batch) {
      long bytes = 0;
      long blocks = 0;
      for (PreparedSpill p : batch) {
        bytes += p.storedBytes();
        blocks += p.pendingBlocks();
      }
      batches.add(new long[] {bytes, blocks});
      if (pipeline != null) {
        maxInFlight.accumulateAndGet(pipeline.stats().inFlight(), Math::max);
      }
      if (sleepMillis > 0) {
        try {
          Thread.sleep(sleepMillis); // the scenario: a slow device, each write takes this long
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      if (failNext.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        throw new UncheckedIOException(new IOException("injected: device unavailable"));
      }
      allocator.control().writeSpills(batch);
    }
  }

  private SpillwaySettings spillSettings(String hocon) {
    return settings(tmp, "tier.durability = none\n" + hocon);
  }

  private SpillPipeline start(BlockAllocator a, SpillwaySettings s, BatchWriter writer) {
    SpillPipeline p = SpillPipeline.start(a, s.spill(), system(), writer);
    if (writer instanceof RecordingWriter r) {
      r.pipeline = p;
    }
    return closeAfter(p);
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

  @Override
  protected Duration answerTimeout() {
    return Duration.ofSeconds(30);
  }

  @Test
  void everyRequestIsAnsweredInOrderAndItsBlockReadsBackByteExact() throws Exception {
    SpillwaySettings s = spillSettings("");
    BlockAllocator a = allocator(s);
    RecordingWriter w = new RecordingWriter();
    SpillPipeline pipeline = start(a, s, w);
    List<byte[]> data = new ArrayList<>();
    long[] h = blocks(a, 300, 4096, data);
    List<Integer> answered = Collections.synchronizedList(new ArrayList<>());
    List<CompletableFuture<SpillOutcome>> answers = new ArrayList<>();
    for (int i = 0; i < h.length; i++) {
      int index = i;
      CompletableFuture<SpillOutcome> f = pipeline.offer(h[i]).toCompletableFuture();
      answers.add(f.whenComplete((o, e) -> answered.add(index)));
    }
    for (CompletableFuture<SpillOutcome> f : answers) {
      assertThat(await(f)).isEqualTo(SpillOutcome.SPILLED);
    }
    List<Integer> expected = new ArrayList<>();
    for (int i = 0; i < h.length; i++) {
      expected.add(i);
    }
    assertThat(answered).as("answers come in the order requests were taken").isEqualTo(expected);
    assertThat(a.stats().spill().spilledBlocks()).isEqualTo(300);
    PipelineStats stats = pipeline.stats();
    assertThat(stats.accepted()).isEqualTo(300);
    assertThat(stats.spilled()).isEqualTo(300);
    assertThat(stats.inFlight()).isZero();
    assertThat(stats.batches()).isEqualTo(w.batches.size());
    assertThat(w.batches.stream().mapToLong(b -> b[1]).sum()).isEqualTo(300);
    verifyAndFree(a, h, data);
  }

  @Test
  void aBatchClosesAtBatchBytesEvenWhenTheDelayIsLong() throws Exception {
    // 4 KiB random blocks stored raw: 4096 payload bytes a record, so at most 16 fit a 64 KiB batch.
    SpillwaySettings s = spillSettings("spill.pipeline { batch-bytes = 64 KiB, batch-delay = 30 s }");
    BlockAllocator a = allocator(s);
    RecordingWriter w = new RecordingWriter();
    SpillPipeline pipeline = SpillPipeline.start(a, s.spill(), system(), w);
    List<byte[]> data = new ArrayList<>();
    long[] h = blocks(a, 170, 4096, data);
    List<CompletableFuture<SpillOutcome>> answers = new ArrayList<>();
    for (long x : h) {
      answers.add(pipeline.offer(x).toCompletableFuture());
    }
    // Batches that fill up are written at once: 100 answers arrive long before the 30 s delay.
    CompletableFuture.allOf(answers.subList(0, 100).toArray(new CompletableFuture<?>[0])).get(20, TimeUnit.SECONDS);
    pipeline.close(); // the last, partial batch goes out with the end of the stream, not after 30 s
    assertThat(answers).allSatisfy(f -> assertThat(f.join()).isEqualTo(SpillOutcome.SPILLED));
    long groupMax = 4 * 4096; // a group is at most a quarter of batch-bytes (16 KiB): 4 blocks here
    for (long[] b : w.batches.subList(0, w.batches.size() - 1)) {
      long payload = b[0] - 48 * b[1];
      assertThat(payload).as("payload bytes of a batch closed by size").isLessThanOrEqualTo(64 << 10)
          .isGreaterThan((64 << 10) - groupMax);
    }
    assertThat(w.batches.stream().mapToLong(b -> b[1]).sum()).isEqualTo(170);
    verifyAndFree(a, h, data);
  }

  @Test
  void aBatchClosesAtBatchDelayWhenBytesAreFew() throws Exception {
    SpillwaySettings s = spillSettings("spill.pipeline { batch-bytes = 1 GiB, batch-delay = 20 ms }");
    BlockAllocator a = allocator(s);
    RecordingWriter w = new RecordingWriter();
    SpillPipeline pipeline = start(a, s, w);
    List<byte[]> data = new ArrayList<>();
    long[] h = blocks(a, 3, 1000, data);
    for (int i = 0; i < 3; i++) {
      // One request at a time: each is written by the delay, far below the 1 GiB of a full batch.
      assertThat(await(pipeline.offer(h[i]))).isEqualTo(SpillOutcome.SPILLED);
      assertThat(w.batches).hasSize(i + 1);
      assertThat(w.batches.get(i)[1]).isEqualTo(1);
    }
    verifyAndFree(a, h, data);
  }

  @Test
  void aSlowWriterFillsTheQueueAndNothingBuffersWithoutBound() throws Exception {
    SpillwaySettings s = spillSettings("spill.pipeline { queue-size = 8, batch-bytes = 8 KiB, batch-delay = 1 ms }");
    BlockAllocator a = allocator(s);
    RecordingWriter w = new RecordingWriter();
    w.sleepMillis = 20;
    SpillPipeline pipeline = start(a, s, w);
    List<byte[]> data = new ArrayList<>();
    long[] h = blocks(a, 60, 4096, data);
    // Offers: the first ones are taken, then "full" at once while the writer sleeps.
    List<CompletableFuture<SpillOutcome>> taken = new ArrayList<>();
    int full = 0;
    for (long x : h) {
      CompletableFuture<SpillOutcome> f = pipeline.offer(x).toCompletableFuture();
      if (f.isCompletedExceptionally() && f.exceptionNow() instanceof SpillQueueFullException e) {
        assertThat(e).hasMessageContaining("8 requests in flight").hasMessageContaining("queue-size");
        assertThat(e.capacity()).isEqualTo(8);
        full++;
      } else {
        taken.add(f);
      }
    }
    assertThat(taken).hasSizeBetween(8, 59);
    assertThat(full).isEqualTo(60 - taken.size());
    assertThat(pipeline.stats().rejectedFull()).isEqualTo(full);
    for (CompletableFuture<SpillOutcome> f : taken) {
      assertThat(await(f)).isEqualTo(SpillOutcome.SPILLED);
    }
    // The waiting form: every request completes, at most 8 in flight and 8 waiting at any time.
    List<CompletionStage<SpillOutcome>> waiting = new ArrayList<>();
    int refused = 0;
    for (long x : h) {
      if (a.isResident(x)) {
        CompletionStage<SpillOutcome> st = pipeline.spill(x);
        CompletableFuture<SpillOutcome> f = st.toCompletableFuture();
        if (f.isCompletedExceptionally()) {
          assertThat(f.exceptionNow()).isInstanceOf(SpillQueueFullException.class)
              .hasMessageContaining("as many callers wait");
          refused++;
          await(waiting.get(waiting.size() - 8)); // let the pipeline catch up, then go on
          st = pipeline.spill(x);
        }
        waiting.add(st);
      }
    }
    for (CompletionStage<SpillOutcome> st : waiting) {
      assertThat(await(st)).isEqualTo(SpillOutcome.SPILLED);
    }
    assertThat(refused).as("more than 16 outstanding calls were refused").isPositive();
    assertThat(w.maxInFlight.get()).as("requests in flight never exceed queue-size").isLessThanOrEqualTo(8);
    assertThat(a.stats().spill().spilledBlocks()).isEqualTo(60);
    verifyAndFree(a, h, data);
  }

  /**
   * {@code spillAll}: a round of 60 blocks through a queue of 8 with a slow writer completes once
   * every block is spilled (the calls beyond the queue wait for room); an invalid handle among them
   * fails the whole answer, after the valid ones were spilled, unless a failed write outranks it; bad
   * bounds and an empty round.
   */
  @Test
  void spillAllAnswersOnceForEveryBlockOfARound() throws Exception {
    SpillwaySettings s = spillSettings("spill.pipeline { queue-size = 8, batch-bytes = 8 KiB, batch-delay = 1 ms }");
    BlockAllocator a = allocator(s);
    RecordingWriter w = new RecordingWriter();
    w.sleepMillis = 5;
    SpillPipeline pipeline = start(a, s, w);
    List<byte[]> data = new ArrayList<>();
    long[] h = blocks(a, 16, 4096, data);
    CompletableFuture<Void> all = pipeline.spillAll(h, 0, h.length).toCompletableFuture();
    assertThat(all.isDone()).as("a slow writer: not answered at once").isFalse();
    await(all);
    for (long x : h) {
      assertThat(a.isResident(x)).isFalse();
    }
    assertThat(pipeline.stats().spilled()).isEqualTo(16);
    assertThat(w.maxInFlight.get()).as("requests in flight never exceed queue-size").isLessThanOrEqualTo(8);
    verifyAndFree(a, h, data);

    List<byte[]> more = new ArrayList<>();
    long[] mixed = blocks(a, 5, 4096, more);
    long gone = mixed[2];
    a.free(gone);
    Throwable e = failureOf(pipeline.spillAll(mixed, 0, mixed.length));
    assertThat(e).isInstanceOf(InvalidHandleException.class);
    for (int i = 0; i < mixed.length; i++) {
      if (i != 2) {
        assertThat(a.isResident(mixed[i])).as("block %d, valid, spilled all the same", i).isFalse();
        a.free(mixed[i]);
      }
    }
    // A failed write outranks a freed block, whatever the order: the freed one fails at once, the
    // write later.
    List<byte[]> third = new ArrayList<>();
    long[] failing = blocks(a, 3, 4096, third);
    a.free(failing[0]);
    w.failNext.set(1);
    assertThat(failureOf(pipeline.spillAll(failing, 0, 3))).as("the failed write, not the freed block")
        .isInstanceOf(UncheckedIOException.class).hasMessageContaining("injected");
    assertThat(a.isResident(failing[1])).as("the first batch failed: its block stays resident").isTrue();
    for (int i = 1; i < 3; i++) {
      a.free(failing[i]); // the second block may have had a batch of its own, written
    }
    assertThat(await(pipeline.spillAll(mixed, 1, 0))).as("an empty round").isNull();
    assertThatThrownBy(() -> pipeline.spillAll(mixed, 3, 3)).isInstanceOf(IndexOutOfBoundsException.class);
    pipeline.close();
    long late = a.allocate(64);
    assertThat(failureOf(pipeline.spillAll(new long[] {late}, 0, 1))).isInstanceOf(PipelineClosedException.class);
    assertThat(a.isResident(late)).isTrue();
    a.free(late);
  }

  @Test
  void aFailedBatchFailsOnlyItsRequestsAndTheWriterBacksOffThenCarriesOn() throws Exception {
    SpillwaySettings s = spillSettings("spill.pipeline { batch-delay = 1 ms, restart { min-backoff = 30 ms,"
        + " max-backoff = 60 ms } }");
    BlockAllocator a = allocator(s);
    RecordingWriter w = new RecordingWriter();
    w.failNext.set(2);
    SpillPipeline pipeline = start(a, s, w);
    List<byte[]> data = new ArrayList<>();
    long[] h = blocks(a, 4, 2048, data);
    for (int i = 0; i < 2; i++) {
      Throwable e = failureOf(pipeline.offer(h[i]));
      assertThat(e).isInstanceOf(UncheckedIOException.class).hasMessageContaining("injected");
      assertThat(a.isResident(h[i])).as("a failed spill leaves its block resident").isTrue();
    }
    long t0 = System.nanoTime();
    assertThat(await(pipeline.offer(h[2]))).isEqualTo(SpillOutcome.SPILLED);
    long waited = System.nanoTime() - t0;
    assertThat(waited).as("the writer paused (60 ms after the second failure) before writing again")
        .isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(30));
    assertThat(await(pipeline.offer(h[3]))).isEqualTo(SpillOutcome.SPILLED);
    assertThat(await(pipeline.offer(h[0]))).as("the failed block spills once the device is back")
        .isEqualTo(SpillOutcome.SPILLED);
    PipelineStats stats = pipeline.stats();
    assertThat(stats.failedBatches()).isEqualTo(2);
    assertThat(stats.backoffs()).isEqualTo(2);
    assertThat(stats.failed()).isEqualTo(2);
    assertThat(stats.spilled()).isEqualTo(3);
    verifyAndFree(a, h, data);
  }

  /** A real full device under the pipeline: a 4 MiB tmpfs (tests run as root). */
  @Test
  void aFullDeviceFailsTheBatchesThatDoNotFitAndTheirBlocksStayReadable() throws Exception {
    try (TmpfsMount device = TmpfsMount.mount(tmp.resolve("mnt"), "4m", "0700")) {
      try {
        SpillwaySettings s = settings(device.path().resolve("tier"), "tier.segment-size = 1 MiB\n"
            + "spill.codec = raw\n"
            + "spill.pipeline { batch-bytes = 256 KiB, batch-delay = 1 ms, restart { min-backoff = 1 ms,"
            + " max-backoff = 2 ms } }");
        BlockAllocator a = allocator(s);
        SpillPipeline pipeline = closeAfter(SpillPipeline.start(a, s.spill(), system()));
        List<byte[]> data = new ArrayList<>();
        long[] h = blocks(a, 200, 32 << 10, data); // 6.4 MiB: more than the device holds
        List<CompletableFuture<SpillOutcome>> answers = new ArrayList<>();
        for (long x : h) {
          answers.add(pipeline.spill(x).toCompletableFuture());
        }
        int spilled = 0;
        int failedFull = 0;
        for (CompletableFuture<SpillOutcome> f : answers) {
          try {
            assertThat(await(f)).isEqualTo(SpillOutcome.SPILLED);
            spilled++;
          } catch (SpillFailedException e) {
            assertThat(e).hasMessageContaining("stays resident");
            failedFull++;
          }
        }
        assertThat(spilled).as("what fits the device spills").isPositive();
        assertThat(failedFull).as("the rest fails, batch by batch").isPositive();
        assertThat(spilled + failedFull).isEqualTo(200);
        assertThat(a.stats().spill().spilledBlocks()).isEqualTo(spilled);
        verifyAndFree(a, h, data); // every block reads back: restored or never left
      } finally {
        closeEverything(); // the pipeline and the tier's files close before the unmount
      }
    }
  }

  @Test
  void closeDrainsWhatWasTakenAndRefusesTheRest() throws Exception {
    SpillwaySettings s = spillSettings("spill.pipeline.batch-delay = 50 ms");
    BlockAllocator a = allocator(s);
    SpillPipeline pipeline = SpillPipeline.start(a, s.spill(), system());
    List<byte[]> data = new ArrayList<>();
    long[] h = blocks(a, 40, 512, data);
    List<CompletableFuture<SpillOutcome>> answers = new ArrayList<>();
    for (long x : h) {
      answers.add(pipeline.offer(x).toCompletableFuture());
    }
    pipeline.close();
    for (CompletableFuture<SpillOutcome> f : answers) {
      assertThat(f).as("answered before close returned").isDone();
      assertThat(f.join()).isEqualTo(SpillOutcome.SPILLED);
    }
    assertThat(failureOf(pipeline.offer(h[0]))).isInstanceOf(PipelineClosedException.class)
        .hasMessageContaining("closed");
    assertThat(failureOf(pipeline.spill(h[0]))).isInstanceOf(PipelineClosedException.class);
    pipeline.close(); // idempotent
    verifyAndFree(a, h, data);
  }

  @Test
  void badRequestsFailAtOnceAndLeaveTheOthersAlone() throws Exception {
    SpillwaySettings s = spillSettings("");
    BlockAllocator a = allocator(s);
    SpillPipeline pipeline = start(a, s, BatchWriter.ALLOCATOR);
    long h = a.allocate(100);
    long gone = a.allocate(100);
    a.free(gone);
    assertThat(failureOf(pipeline.offer(gone))).isInstanceOf(InvalidHandleException.class);
    assertThat(failureOf(pipeline.spill(0L))).isInstanceOf(InvalidHandleException.class);
    a.pin(h);
    assertThat(await(pipeline.offer(h))).isEqualTo(SpillOutcome.PINNED);
    a.unpin(h);
    assertThat(await(pipeline.offer(h))).isEqualTo(SpillOutcome.SPILLED);
    assertThat(await(pipeline.offer(h))).isEqualTo(SpillOutcome.ALREADY_SPILLED);
    PipelineStats stats = pipeline.stats();
    assertThat(stats.failed()).isZero(); // refused before being taken
    assertThat(stats.notSpilled()).isEqualTo(2);
    a.free(h);
    BlockAllocator plain = BlockAllocator.create(SpillwaySettings.defaults().memory());
    try {
      long x = plain.allocate(8);
      SpillPipeline untiered = SpillPipeline.start(plain, s.spill(), system());
      Throwable e = failureOf(untiered.offer(x));
      assertThat(e).isInstanceOf(IllegalStateException.class).hasMessageContaining("no tier");
      untiered.close();
      plain.free(x);
    } finally {
      plain.close();
    }
    assertThatThrownBy(() -> SpillPipeline.start(null, s.spill(), system()))
        .isInstanceOf(NullPointerException.class).hasMessageContaining("allocator");
  }

  /** {@code a} as the pipeline sees it, counting the requests it has prepared (frozen) in {@code prepared}. */
  private static BlockAllocator countingPrepares(BlockAllocator a, AtomicInteger prepared) {
    AllocatorControl control = (AllocatorControl) Proxy.newProxyInstance(AllocatorControl.class.getClassLoader(),
        new Class<?>[] {AllocatorControl.class}, (proxy, method, args) -> {
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

  @Test
  void accessesDuringThePipelineKeepBlocksResidentWithTheirNewBytes() throws Exception {
    SpillwaySettings s = spillSettings("spill.pipeline.batch-delay = 200 ms");
    BlockAllocator a = allocator(s);
    AtomicInteger prepared = new AtomicInteger();
    SpillPipeline pipeline = start(countingPrepares(a, prepared), s, BatchWriter.ALLOCATOR);
    List<byte[]> data = new ArrayList<>();
    long[] h = blocks(a, 20, 256, data);
    List<CompletableFuture<SpillOutcome>> answers = new ArrayList<>();
    for (long x : h) {
      answers.add(pipeline.offer(x).toCompletableFuture());
    }
    // Every block prepared (frozen) and waiting for the 200 ms batch delay:
    Awaitility.await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(1)).until(() -> prepared.get() == 20);
    for (int i = 0; i < 20; i += 2) {
      a.putLong(h[i], 0, -i);
      java.nio.ByteBuffer.wrap(data.get(i)).order(java.nio.ByteOrder.nativeOrder()).putLong(0, -i);
    }
    for (int i = 0; i < 20; i++) {
      SpillOutcome o = await(answers.get(i));
      if (i % 2 == 1) {
        assertThat(o).isEqualTo(SpillOutcome.SPILLED);
      } else {
        // BUSY when the write met the frozen block (it stays resident), SPILLED when the write came
        // first; either way the new bytes must be what reads back.
        assertThat(o).isIn(SpillOutcome.BUSY, SpillOutcome.SPILLED);
        assertThat(a.isResident(h[i])).isEqualTo(o == SpillOutcome.BUSY);
      }
    }
    verifyAndFree(a, h, data);
    a.control().maintain();
  }

  @Test
  void answersNeverOvertakeEachOtherUnderLoadFromBothCores() throws Exception {
    SpillwaySettings s = spillSettings("spill.pipeline { queue-size = 64, batch-bytes = 32 KiB }");
    BlockAllocator a = allocator(s);
    SpillPipeline pipeline = start(a, s, BatchWriter.ALLOCATOR);
    int n = 2000;
    List<byte[]> data = new ArrayList<>();
    long[] h = blocks(a, n, 1024, data);
    AtomicInteger errors = new AtomicInteger();
    Thread[] producers = new Thread[2];
    for (int t = 0; t < 2; t++) {
      int first = t;
      producers[t] = new Thread(() -> {
        CompletionStage<SpillOutcome> last = null;
        for (int i = first; i < n; i += 2) {
          CompletionStage<SpillOutcome> st = pipeline.spill(h[i]);
          while (st.toCompletableFuture().isCompletedExceptionally()) {
            Thread.onSpinWait();
            st = pipeline.spill(h[i]); // refused: more than queue-size callers waited; try again
          }
          CompletionStage<SpillOutcome> previous = last;
          last = st.whenComplete((o, e) -> {
            if (e != null || o != SpillOutcome.SPILLED
                || (previous != null && !previous.toCompletableFuture().isDone())) {
              errors.incrementAndGet(); // failed, or answered before an earlier request of this thread
            }
          });
        }
        try {
          last.toCompletableFuture().get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
          errors.incrementAndGet();
        }
      });
      producers[t].start();
    }
    for (Thread t : producers) {
      t.join(90_000);
    }
    assertThat(errors.get()).isZero();
    assertThat(a.stats().spill().spilledBlocks()).isEqualTo(n);
    assertThat(pipeline.stats().inFlight()).isZero();
    verifyAndFree(a, h, data);
  }
}
