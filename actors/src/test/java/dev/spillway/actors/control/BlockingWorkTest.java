package dev.spillway.actors.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.actor.typed.javadsl.AskPattern;
import dev.spillway.TierStatus;
import dev.spillway.actors.pressure.MemoryReadings;
import dev.spillway.actors.pressure.PressureClassifier;
import dev.spillway.actors.pressure.PressureSample;
import dev.spillway.actors.pressure.PressureWatermarks;
import dev.spillway.config.SpillwaySettings;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.spi.BlockRefs;
import dev.spillway.memory.spi.MaintenanceReport;
import dev.spillway.streams.spill.IoDispatcher;
import dev.spillway.streams.spill.SpillPipeline;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Blocking work never runs on the threads of the default dispatcher, which run the actors: the
 * allocator's housekeeping and {@code maintainPool}, {@code ShrinkNow}'s {@code maintain}, pressure
 * samples, directory checks and the release of the resources on {@code Stop} each record the thread
 * they run on, and every one is a thread of the I/O dispatcher; the metrics tick, which runs on the
 * guardian itself, shows what a default-dispatcher thread's name looks like.
 */
class BlockingWorkTest {
  static final ActorTestKit testKit = ActorTestKit.create();
  static final Executor IO = IoDispatcher.of(testKit.system());
  static final Duration NEVER = Duration.ofHours(1);
  static final Duration WAIT = Duration.ofSeconds(30);
  static final String IO_THREADS = IoDispatcher.CONFIG_PATH;
  static final String ACTOR_THREADS = "default-dispatcher";

  @TempDir Path dir;

  /** Per kind of work, the names of the threads it ran on. */
  private final Map<String, Set<String>> threads = new ConcurrentHashMap<>();

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  private void record(String kind) {
    threads.computeIfAbsent(kind, k -> ConcurrentHashMap.newKeySet()).add(Thread.currentThread().getName());
  }

  private void assertOnIoThreads(String... kinds) {
    for (String kind : kinds) {
      assertThat(threads.get(kind)).as("threads of %s", kind).isNotEmpty()
          .allSatisfy(name -> assertThat(name).contains(IO_THREADS).doesNotContain(ACTOR_THREADS));
    }
  }

  /** A target whose emptiest slabs hold one block, and whose spills succeed at once. */
  private static final class OneBlockTarget implements IdleDetector.Target {
    @Override
    public int sweepIdle(int idleSweeps, BlockRefs out) {
      out.clear();
      return 0;
    }

    @Override
    public int coldest(BlockRefs out) {
      out.clear();
      return 0;
    }

    @Override
    public int sparsest(BlockRefs out, long bytes) {
      out.clear();
      out.add(1, 100);
      return out.size();
    }

    @Override
    public long mappedBytes() {
      return 1000;
    }

    @Override
    public CompletionStage<?> spill(long[] refs, int count) {
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public long liveBytes() {
      return 0;
    }

    @Override
    public long budgetBytes() {
      return 1000;
    }

    @Override
    public Map<String, Long> poolActivity() {
      return Map.of();
    }
  }

  @Test
  @Timeout(value = 2, unit = TimeUnit.MINUTES)
  void theGuardiansBlockingWorkRunsOnTheIoDispatcher() throws Exception {
    try (BlockAllocator untiered = BlockAllocator.create(SpillwaySettings.defaults().memory())) {
      LivePipeline live = new LivePipeline();
      java.util.concurrent.atomic.AtomicBoolean released = new java.util.concurrent.atomic.AtomicBoolean();
      TierActor.Setup tier = new TierActor.Setup(
          () -> SpillPipeline.start(untiered, SpillwaySettings.defaults().spill(), testKit.system()), live,
          List.of(dir), NEVER, IO, Duration.ofMillis(100), Duration.ofSeconds(1));
      MemoryGuardian.Setup setup = new MemoryGuardian.Setup(new OneBlockTarget(), List.of("4KiB"), pool -> {
        record("maintainPool");
        return 0;
      }, () -> {
        record("maintain");
        return new MaintenanceReport(0, 0, 0, 0);
      }, () -> {
        record("pressure sample");
        return new PressureSample(0, 1000, MemoryReadings.absent("synthetic"));
      }, new PressureClassifier(PressureWatermarks.DEFAULTS), Duration.ofMillis(10),
          new IdleDetector.Timing(NEVER, 3, NEVER, 0.75), tier, () -> {
            if (released.compareAndSet(false, true)) { // idempotent, as Spillway's are: PostStop calls again
              record("release");
              live.close();
            }
          }, () -> record("metrics tick"), Duration.ofMillis(10), state -> {}, Duration.ofMillis(10), IO);
      ActorRef<MemoryGuardian.Command> guardian = testKit.spawn(MemoryGuardian.create(setup));

      // ShrinkNow's pass, answered through the guardian.
      MaintenanceReport report = AskPattern.askWithStatus(guardian, MemoryGuardian.ShrinkNow::new, WAIT,
          testKit.system().scheduler()).toCompletableFuture().get(30, TimeUnit.SECONDS);
      assertThat(report).isEqualTo(new MaintenanceReport(0, 0, 0, 0));
      // MakeRoom: a round that empties the sparsest slab, then every pool maintains.
      guardian.tell(new MemoryGuardian.MakeRoom(100, 0));
      // The housekeeping timer's passes, the pressure monitor's samples and the metrics tick, by themselves.
      await().atMost(WAIT).until(() -> threads.containsKey("maintainPool") && threads.containsKey("pressure sample")
          && threads.containsKey("metrics tick") && threads.containsKey("maintain"));

      MemoryGuardian.Stopped stopped = AskPattern.<MemoryGuardian.Command, MemoryGuardian.Stopped>ask(guardian,
          MemoryGuardian.Stop::new, WAIT, testKit.system().scheduler()).toCompletableFuture().get(30, TimeUnit.SECONDS);
      assertThat(stopped).isEqualTo(MemoryGuardian.Stopped.INSTANCE);

      assertOnIoThreads("maintain", "maintainPool", "pressure sample", "release");
      assertThat(threads.get("metrics tick")).as("the guardian's own thread, for contrast")
          .allSatisfy(name -> assertThat(name).contains(ACTOR_THREADS));
    }
  }

  @Test
  @Timeout(value = 2, unit = TimeUnit.MINUTES)
  void directoryChecksRunOnTheIoDispatcher() {
    TestProbe<TierStatus> probe = testKit.createTestProbe();
    testKit.spawn(DirectoryActor.create(dir, NEVER, probe.getRef(), IO, path -> {
      record("directory check");
      return DirectoryActor.check(path);
    }));
    assertThat(probe.receiveMessage(WAIT).healthy()).isTrue();
    assertOnIoThreads("directory check");
  }

  @Test
  @Timeout(value = 2, unit = TimeUnit.MINUTES)
  void aPoolActorMaintainsOnTheIoDispatcherOnePassAtATime() {
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.atomic.AtomicInteger passes = new java.util.concurrent.atomic.AtomicInteger();
    ActorRef<PoolActor.Command> pool = testKit.spawn(PoolActor.create("4KiB", name -> {
      record("maintainPool");
      try {
        assertThat(release.await(30, TimeUnit.SECONDS)).isTrue(); // a slow pass: the actor keeps answering
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return passes.incrementAndGet();
    }, IO));
    TestProbe<PoolActor.Maintained> first = testKit.createTestProbe();
    TestProbe<PoolActor.Maintained> second = testKit.createTestProbe();
    pool.tell(new PoolActor.Maintain(first.getRef()));
    await().atMost(WAIT).until(() -> threads.containsKey("maintainPool"));
    pool.tell(new PoolActor.Maintain(second.getRef())); // during the pass: one more pass after it
    pool.tell(new PoolActor.Maintain(second.getRef()));
    release.countDown();
    assertThat(first.receiveMessage(WAIT)).isEqualTo(new PoolActor.Maintained("4KiB", 1));
    assertThat(second.receiveMessage(WAIT)).isEqualTo(new PoolActor.Maintained("4KiB", 2));
    assertThat(second.receiveMessage(WAIT)).isEqualTo(new PoolActor.Maintained("4KiB", 2));
    assertThat(passes.get()).as("the two asks during the first pass share the second").isEqualTo(2);
    assertOnIoThreads("maintainPool");
  }
}
