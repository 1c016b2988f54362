package dev.spillway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.japi.Pair;
import akka.stream.BoundedSourceQueue;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import akka.util.ByteString;
import dev.spillway.actors.control.BreakableWrites;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.SpillOutcome;
import dev.spillway.streams.bulk.IngestSummary;
import dev.spillway.streams.spill.PipelineClosedException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The facade through a pipeline restart: requests in the failed stream fail, the restart shows in
 * the stats, and {@code spillAsync}, an ingestion started before the failure and the idle detector
 * all use the new pipeline; a close during the restart's backoff returns and releases everything.
 */
class SpillwayPipelineRestartTest {
  static final ActorTestKit testKit = ActorTestKit.create();
  static final Duration WAIT = Duration.ofSeconds(30);

  @TempDir Path tmp;

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  private static <T> T result(CompletionStage<T> stage) throws Exception {
    try {
      return stage.toCompletableFuture().get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw (Exception) e.getCause();
    }
  }

  private static Throwable failure(CompletionStage<?> stage) throws Exception {
    try {
      stage.toCompletableFuture().get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
      throw new AssertionError("expected the stage to fail");
    } catch (ExecutionException e) {
      return e.getCause();
    }
  }

  private static Throwable root(Throwable t) {
    while (t.getCause() != null && !t.getCause().equals(t)) {
      t = t.getCause();
    }
    return t;
  }

  private static SpillwayStats stats(Spillway spillway) throws Exception {
    return result(spillway.statsAsync());
  }

  /** Whether a request fails at once saying the pipeline restarts (one naming no block: nothing spills). */
  private static boolean refusedAsRestarting(Spillway spillway) {
    CompletableFuture<SpillOutcome> f = spillway.spillAsync(0L).toCompletableFuture();
    return f.isCompletedExceptionally() && f.exceptionNow() instanceof PipelineClosedException e
        && e.getMessage().contains("restarting");
  }

  /** Spills {@code h} while the next write breaks: every request in the stream fails with it. */
  private static void breakWithRequestsInFlight(Spillway spillway, BreakableWrites writes, long[] h) throws Exception {
    CountDownLatch gate = new CountDownLatch(1);
    writes.failNext(1, gate);
    List<CompletionStage<SpillOutcome>> answers = new ArrayList<>();
    for (long x : h) {
      answers.add(spillway.spillAsync(x));
    }
    await().atMost(WAIT).until(() -> stats(spillway).pipeline().inFlight() >= h.length); // an ingestion may have some too
    gate.countDown();
    for (CompletionStage<SpillOutcome> a : answers) {
      Throwable e = failure(a);
      assertThat(e).isInstanceOf(PipelineClosedException.class);
      assertThat(root(e)).isInstanceOf(BreakableWrites.InjectedError.class);
    }
  }

  private static long[] allocate(BlockAllocator memory, int n) {
    long[] h = new long[n];
    for (int i = 0; i < n; i++) {
      h[i] = memory.allocate(4096);
      memory.putLong(h[i], 0, i);
    }
    return h;
  }

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void afterARestartSpillsIngestionAndTheIdleDetectorUseTheNewPipeline() throws Exception {
    BreakableWrites writes = new BreakableWrites();
    Spillway spillway = Spillway.attach(testKit.system(), SpillwayFacadeTest.config(tmp,
        ", spill.pipeline.restart { min-backoff = 500 ms, max-backoff = 1 s }, streams.ingest-resident-bytes = 16 KiB"),
        writes::over);
    try {
      BlockAllocator memory = spillway.memory();
      // An ingestion that runs across the restart: it spills its oldest chunks as it goes.
      Pair<BoundedSourceQueue<ByteString>, CompletionStage<IngestSummary>> ingest = Source.<ByteString>queue(128)
          .toMat(spillway.ingestSink(), akka.stream.javadsl.Keep.both()).run(testKit.system());
      List<ByteString> chunks = new ArrayList<>();
      for (int i = 0; i < 80; i++) {
        chunks.add(ByteString.fromString("chunk " + i + " " + "x".repeat(2000)));
      }
      for (ByteString c : chunks.subList(0, 40)) {
        assertThat(ingest.first().offer(c).isEnqueued()).isTrue(); // the queue holds every chunk
      }
      await().atMost(WAIT).until(() -> stats(spillway).pipeline().spilled() > 0);

      long[] h = allocate(memory, 6);
      breakWithRequestsInFlight(spillway, writes, h);
      await().atMost(WAIT).until(() -> stats(spillway).pipelineRestarts() == 1);
      long spilledBefore = stats(spillway).pipeline().spilled();

      for (long x : h) {
        assertThat(result(spillway.spillAsync(x))).as("the new pipeline, with the block unfrozen")
            .isEqualTo(SpillOutcome.SPILLED);
      }
      for (ByteString c : chunks.subList(40, 80)) {
        assertThat(ingest.first().offer(c).isEnqueued()).isTrue();
      }
      ingest.first().complete();
      IngestSummary summary = result(ingest.second());
      assertThat(summary.blocks()).isEqualTo(80);
      SpillwayStats after = stats(spillway);
      assertThat(after.pipeline().spilled()).as("the six blocks, and the ingestion's spills after the restart")
          .isGreaterThan(spilledBefore + 6);
      assertThat(after.pipelineRestarts()).isEqualTo(1);
      List<ByteString> back = result(spillway.export(summary.handles()).runWith(Sink.seq(), testKit.system()));
      assertThat(back).isEqualTo(chunks);

      for (int i = 0; i < h.length; i++) {
        assertThat(memory.getLong(h[i], 0)).isEqualTo(i); // restored
      }
      // The idle detector's rounds go through the new pipeline too.
      await().atMost(WAIT).until(() -> result(spillway.spillIdleAsync()) > 0 && !memory.isResident(h[0]));
      for (long x : h) {
        memory.free(x);
      }
      for (long x : summary.handles()) {
        memory.free(x);
      }
    } finally {
      spillway.close();
    }
  }

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void closeDuringTheRestartsBackoffReturnsAndReleasesEverything() throws Exception {
    BreakableWrites writes = new BreakableWrites();
    Spillway spillway = Spillway.attach(testKit.system(), SpillwayFacadeTest.config(tmp,
        ", spill.pipeline.restart { min-backoff = 30 s, max-backoff = 60 s }"), writes::over);
    BlockAllocator memory = spillway.memory();
    long[] h = allocate(memory, 4);
    breakWithRequestsInFlight(spillway, writes, h);
    await().atMost(WAIT).until(() -> refusedAsRestarting(spillway));

    spillway.close(); // within the test's timeout, though the backoff is 30 s
    assertThatThrownBy(() -> spillway.spillAsync(h[0])).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
    assertThatThrownBy(() -> memory.allocate(8)).isInstanceOf(IllegalStateException.class);
    assertThat(testKit.system().whenTerminated().isCompleted()).isFalse();
    // The tier directory's lock was released with the allocator: another instance takes it.
    Spillway again = Spillway.attach(testKit.system(), SpillwayFacadeTest.config(tmp, ""));
    try {
      long x = again.memory().allocate(4096);
      assertThat(result(again.spillAsync(x))).isEqualTo(SpillOutcome.SPILLED);
      assertThat(stats(again).pipelineRestarts()).isZero();
      again.memory().free(x);
    } finally {
      again.close();
    }
  }
}
