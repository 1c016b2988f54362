package dev.spillway.actors.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import com.typesafe.config.ConfigFactory;
import dev.spillway.TierStatus;
import dev.spillway.config.SpillwaySettings;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.SpillOutcome;
import dev.spillway.streams.spill.IoDispatcher;
import dev.spillway.streams.spill.PipelineClosedException;
import dev.spillway.streams.spill.PipelineStats;
import dev.spillway.streams.spill.SpillPipeline;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tier actor owns the spill pipeline: a stream that fails is restarted by supervision with
 * backoff (a fresh pipeline behind the same {@link LivePipeline}), the requests in the dead stream are
 * answered with failures and their blocks unfrozen, later spills go through the new pipeline, and a
 * close during the backoff neither hangs nor leaves a pipeline running.
 */
class TierActorTest {
  static final ActorTestKit testKit = ActorTestKit.create();
  static final Executor IO = IoDispatcher.of(testKit.system());
  static final Duration NEVER = Duration.ofHours(1);
  static final Duration WAIT = Duration.ofSeconds(30);

  @TempDir Path dir;
  private final List<AutoCloseable> toClose = new ArrayList<>();

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @AfterEach
  void closeAll() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
  }

  /**
   * A tiered allocator in the test's directory, the allocator the pipelines see (its writes break on
   * demand), the live pipeline and every pipeline the tier actor started.
   */
  private final class Fixture {
    final SpillwaySettings settings;
    final BlockAllocator real;
    final BlockAllocator view;
    final LivePipeline live = new LivePipeline();
    final List<SpillPipeline> started = new CopyOnWriteArrayList<>();
    final BreakableWrites writes = new BreakableWrites();
    final TestProbe<TierStatus> statuses = testKit.createTestProbe();
    final List<long[]> blocks = new ArrayList<>(); // {handle, seed}

    Fixture(String minBackoff, String maxBackoff) throws IOException {
      SpillwaySettings s = SpillwaySettings.from(ConfigFactory.parseString("spillway { tier.durability = none,"
          + " spill.pipeline { batch-delay = 1 ms, restart { min-backoff = " + minBackoff + ", max-backoff = "
          + maxBackoff + " } } }"));
      settings = s.withTier(s.tier().withDirectories(List.of(dir.toAbsolutePath())));
      real = BlockAllocator.open(settings);
      toClose.add(() -> {
        assertThat(real.stats().blocksInUse()).as("blocks left in RAM").isZero();
        real.close();
      });
      toClose.add(live);
      view = writes.over(real);
    }

    TierActor.Setup setup(Supplier<SpillPipeline> start) {
      return new TierActor.Setup(start, live, List.of(dir), NEVER, IO, settings.spill().minBackoff(),
          settings.spill().maxBackoff());
    }

    TierActor.Setup setup() {
      return setup(() -> {
        SpillPipeline p = SpillPipeline.start(view, settings.spill(), testKit.system());
        started.add(p);
        return p;
      });
    }

    ActorRef<TierActor.Command> spawn(TierActor.Setup setup) {
      ActorRef<TierActor.Command> tier = testKit.spawn(TierActor.supervised(setup, statuses.getRef()));
      live.awaitFirstStart(WAIT);
      return tier;
    }

    long[] allocate(int n) {
      long[] h = new long[n];
      for (int i = 0; i < n; i++) {
        long seed = blocks.size();
        h[i] = real.allocate(4096);
        real.write(h[i], 0, bytes(seed), 0, 4096);
        blocks.add(new long[] {h[i], seed});
      }
      return h;
    }

    /** Every block reads back byte-exact (restored if it was spilled) and is freed. */
    void verifyAndFree() {
      for (long[] b : blocks) {
        byte[] got = new byte[4096];
        real.read(b[0], 0, got, 0, got.length);
        assertThat(got).as("block %d", b[1]).isEqualTo(bytes(b[1]));
        real.free(b[0]);
      }
      blocks.clear();
    }
  }

  private static byte[] bytes(long seed) {
    SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + 1);
    byte[] b = new byte[4096];
    for (int i = 0; i < b.length; i++) {
      b[i] = (byte) r.nextInt();
    }
    return b;
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

  /**
   * Whether a request now fails at once saying the pipeline is restarting (the supervisor's backoff).
   * The request names no block: a running pipeline refuses it as invalid, and nothing spills.
   */
  private static boolean refusedAsRestarting(LivePipeline live) {
    CompletableFuture<SpillOutcome> f = live.offer(0L).toCompletableFuture();
    return f.isCompletedExceptionally() && f.exceptionNow() instanceof PipelineClosedException e
        && e.getMessage().contains("restarting");
  }

  /** Spills {@code h} through the pipeline while the next write fails; every request is answered with it. */
  private static void failInFlight(Fixture f, long[] h) throws Exception {
    CountDownLatch gate = new CountDownLatch(1);
    f.writes.failNext(1, gate);
    List<CompletionStage<SpillOutcome>> answers = new ArrayList<>();
    for (long x : h) {
      answers.add(f.live.spill(x));
    }
    // Every request taken before the failing write is let go: in the writer, batched or queued.
    await().atMost(WAIT).until(() -> f.live.stats().inFlight() == h.length);
    gate.countDown();
    for (CompletionStage<SpillOutcome> a : answers) {
      Throwable e = failure(a);
      assertThat(e).isInstanceOf(PipelineClosedException.class);
      assertThat(root(e)).isInstanceOf(BreakableWrites.InjectedError.class);
    }
  }

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void aFailedStreamIsRestartedWithBackoffAndLaterSpillsGoThroughTheNewPipeline() throws Exception {
    Fixture f = new Fixture("1 s", "2 s");
    ActorRef<TierActor.Command> tier = f.spawn(f.setup());
    assertThat(f.statuses.receiveMessage(WAIT).healthy()).as("the directory child checks at start").isTrue();
    long[] h = f.allocate(8);

    failInFlight(f, h);
    assertThat(failure(f.started.get(0).whenStopped())).isInstanceOf(PipelineClosedException.class);
    // The backoff: until the new pipeline runs, a request fails at once, saying so.
    await().atMost(WAIT).until(() -> refusedAsRestarting(f.live));
    await().atMost(WAIT).until(() -> f.live.restarts() == 1);
    assertThat(f.started).hasSize(2);

    for (long x : h) {
      assertThat(result(f.live.spill(x))).as("unfrozen, and spilled by the new pipeline").isEqualTo(SpillOutcome.SPILLED);
    }
    PipelineStats stats = f.live.stats();
    assertThat(stats.spilled()).as("counted over both pipelines").isEqualTo(8);
    assertThat(stats.failed()).isGreaterThanOrEqualTo(8);
    assertThat(stats.inFlight()).isZero();
    assertThat(f.statuses.receiveMessage(WAIT).healthy()).as("the restarted actor's new child checks again").isTrue();

    // Again: the restarted actor is supervised as the first one was.
    long[] more = f.allocate(2);
    failInFlight(f, more);
    await().atMost(WAIT).until(() -> f.live.restarts() == 2);
    assertThat(result(f.live.spillAll(more, 0, 2))).isNull();
    assertThat(f.started).hasSize(3);

    testKit.stop(tier, WAIT);
    f.live.close();
    assertThat(result(f.started.get(2).whenStopped())).isNotNull();
    f.verifyAndFree();
  }

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void closingDuringTheBackoffDoesNotHangAndStartsNoPipeline() throws Exception {
    Fixture f = new Fixture("30 s", "60 s"); // a backoff far longer than the test
    ActorRef<TierActor.Command> tier = f.spawn(f.setup());
    long[] h = f.allocate(4);
    failInFlight(f, h);
    await().atMost(WAIT).until(() -> refusedAsRestarting(f.live));

    f.live.close(); // what Spillway's close does first
    testKit.stop(tier, WAIT); // then the guardian stops its children: at once, backoff or not
    assertThat(f.started).as("no pipeline started after the failure").hasSize(1);
    assertThat(f.live.restarts()).isZero();
    assertThat(failure(f.live.spill(h[0]))).isInstanceOf(PipelineClosedException.class).hasMessageContaining("closed");
    for (long x : h) {
      assertThat(f.real.spill(x)).as("the dead stream's blocks are unfrozen").isEqualTo(SpillOutcome.SPILLED);
    }
    f.verifyAndFree();
  }

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void aRestartAfterTheCloseClosesItsNewPipelineAndStops() throws Exception {
    Fixture f = new Fixture("1 s", "2 s");
    ActorRef<TierActor.Command> tier = f.spawn(f.setup());
    TestProbe<Object> watcher = testKit.createTestProbe();
    long[] h = f.allocate(2);
    failInFlight(f, h);
    await().atMost(WAIT).until(() -> refusedAsRestarting(f.live));

    f.live.close(); // Spillway closes while the tier actor waits out its backoff, and is not stopped yet
    watcher.expectTerminated(tier, WAIT); // the restart found the live pipeline closed, and stopped
    assertThat(f.started).hasSize(2);
    assertThat(result(f.started.get(1).whenStopped())).as("the pipeline it started is closed").isNotNull();
    assertThat(f.live.restarts()).as("never attached").isZero();
    f.verifyAndFree();
  }

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void aPipelineThatCannotStartIsRetriedWithBackoff() throws Exception {
    Fixture f = new Fixture("100 ms", "1 s");
    AtomicInteger attempts = new AtomicInteger();
    ActorRef<TierActor.Command> tier = f.spawn(f.setup(() -> {
      if (attempts.incrementAndGet() == 1) {
        throw new IllegalStateException("injected: cannot start");
      }
      SpillPipeline p = SpillPipeline.start(f.view, f.settings.spill(), testKit.system());
      f.started.add(p);
      return p;
    }));
    assertThat(attempts.get()).isEqualTo(2);
    assertThat(f.live.restarts()).as("the first pipeline that ran").isZero();
    long[] h = f.allocate(1);
    assertThat(result(f.live.spill(h[0]))).isEqualTo(SpillOutcome.SPILLED);
    testKit.stop(tier, WAIT);
    f.live.close();
    f.verifyAndFree();
  }
}
