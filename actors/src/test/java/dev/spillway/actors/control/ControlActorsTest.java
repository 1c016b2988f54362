package dev.spillway.actors.control;

import dev.spillway.TierStatus;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import dev.spillway.memory.spi.BlockRefs;
import dev.spillway.actors.pressure.MemoryReadings;
import dev.spillway.actors.pressure.PressureClassifier;
import dev.spillway.PressureLevel;
import dev.spillway.actors.pressure.PressureSample;
import dev.spillway.actors.pressure.PressureWatermarks;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each actor's decisions under synthetic statistics: pressure levels with hysteresis, what the idle
 * detector spills at each level and when pools shrink, pool maintenance, tier checks.
 */
@Timeout(value = 2, unit = java.util.concurrent.TimeUnit.MINUTES)
class ControlActorsTest {
  static final ActorTestKit testKit = ActorTestKit.create();
  static final Duration NEVER = Duration.ofHours(1); // timers off: the tests send the ticks
  static final java.util.concurrent.Executor IO = dev.spillway.streams.spill.IoDispatcher.of(testKit.system());

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  private static PressureSample sample(double share) {
    return new PressureSample((long) (share * 1000), 1000, MemoryReadings.absent("synthetic"));
  }

  @Test
  void pressureRisesAtHighWaterAndFallsOnlyUnderLowWater() {
    AtomicReference<PressureSample> next = new AtomicReference<>(sample(0.5));
    TestProbe<PressureMonitor.Changed> listener = testKit.createTestProbe();
    ActorRef<PressureMonitor.Command> monitor = testKit.spawn(PressureMonitor.create(next::get,
        new PressureClassifier(PressureWatermarks.DEFAULTS), NEVER, listener.getRef(), IO));
    monitor.tell(PressureMonitor.Tick.INSTANCE);
    listener.expectNoMessage(Duration.ofMillis(50)); // 50 %: still NORMAL, nothing to say
    next.set(sample(0.92));
    monitor.tell(PressureMonitor.Tick.INSTANCE);
    assertThat(listener.receiveMessage().state().level()).isEqualTo(PressureLevel.HIGH);
    next.set(sample(0.80)); // between the watermarks: stays HIGH
    monitor.tell(PressureMonitor.Tick.INSTANCE);
    listener.expectNoMessage(Duration.ofMillis(50));
    next.set(sample(0.89)); // flapping under high-water does not flap the level
    monitor.tell(PressureMonitor.Tick.INSTANCE);
    listener.expectNoMessage(Duration.ofMillis(50));
    next.set(sample(0.70));
    monitor.tell(PressureMonitor.Tick.INSTANCE);
    assertThat(listener.receiveMessage().state().level()).isIn(PressureLevel.ELEVATED, PressureLevel.NORMAL);
    next.set(sample(1.02));
    monitor.tell(PressureMonitor.Tick.INSTANCE);
    assertThat(listener.receiveMessage().state().level()).isEqualTo(PressureLevel.CRITICAL);
  }

  @Test
  void aSampleThatThrowsIsSkippedAndTheMonitorCarriesOn() {
    AtomicReference<PressureSample> next = new AtomicReference<>(null);
    TestProbe<PressureMonitor.Changed> listener = testKit.createTestProbe();
    ActorRef<PressureMonitor.Command> monitor = testKit.spawn(PressureMonitor.create(() -> {
      PressureSample s = next.get();
      if (s == null) {
        throw new IllegalStateException("no reading");
      }
      return s;
    }, new PressureClassifier(PressureWatermarks.DEFAULTS), NEVER, listener.getRef(), IO));
    monitor.tell(PressureMonitor.Tick.INSTANCE);
    next.set(sample(0.95));
    monitor.tell(PressureMonitor.Tick.INSTANCE);
    assertThat(listener.receiveMessage().state().level()).isEqualTo(PressureLevel.HIGH);
  }

  /** A target that hands out candidates 1.. and records what was spilled. */
  private static final class FakeTarget implements IdleDetector.Target {
    final List<Integer> sweeps = Collections.synchronizedList(new ArrayList<>()); // idleSweeps asked with a buffer
    final List<long[]> spilled = Collections.synchronizedList(new ArrayList<>());
    final AtomicLong live = new AtomicLong(500);
    final Map<String, Long> activity = new ConcurrentHashMap<>(Map.of("4KiB", 10L, "64B", 3L));
    volatile int candidates = 10;
    volatile CompletableFuture<Void> spillDone = CompletableFuture.completedFuture(null);

    @Override
    public int sweepIdle(int idleSweeps, BlockRefs out) {
      out.clear();
      if (out.capacity() == 0) {
        return 0;
      }
      sweeps.add(idleSweeps);
      for (int i = 0; i < candidates && out.add(i + 1, 100); i++) {
        // 100 bytes each
      }
      return out.size();
    }

    @Override
    public int coldest(BlockRefs out) {
      sweeps.add(0); // 0: a coldest pick, which ages nothing
      out.clear();
      for (int i = 0; i < candidates && out.add(i + 1, 100); i++) {
        // 100 bytes each
      }
      return out.size();
    }

    /** The blocks of the emptiest slabs: 101, 102, ... (a sweep entry -1 records the call). */
    volatile int sparse = 4;
    volatile long sparsestAskedFor = -1;

    @Override
    public int sparsest(BlockRefs out, long bytes) {
      sweeps.add(-1);
      sparsestAskedFor = bytes;
      out.clear();
      for (int i = 0; i < sparse && out.add(101 + i, 100); i++) {
        // 100 bytes each
      }
      return out.size();
    }

    @Override
    public long mappedBytes() {
      return 1000;
    }

    @Override
    public CompletionStage<?> spill(long[] refs, int count) {
      spilled.add(java.util.Arrays.copyOf(refs, count));
      return spillDone;
    }

    @Override
    public long liveBytes() {
      return live.get();
    }

    @Override
    public long budgetBytes() {
      return 1000;
    }

    @Override
    public Map<String, Long> poolActivity() {
      return Map.copyOf(activity);
    }

    /** What each demotion asked the maps for; they free up to {@code mapsFree}, or answer with {@code demoted}. */
    final List<Long> demoteAsks = Collections.synchronizedList(new ArrayList<>());
    volatile long mapsFree;
    volatile CompletableFuture<Long> demoted;

    @Override
    public CompletionStage<Long> demoteMaps(long bytes) {
      demoteAsks.add(bytes);
      CompletableFuture<Long> answer = demoted;
      return answer != null ? answer : CompletableFuture.completedFuture(Math.min(bytes, mapsFree));
    }
  }

  private static IdleDetector.Timing timing(Duration shrinkAfter) {
    return new IdleDetector.Timing(NEVER, 3, shrinkAfter, 0.75);
  }

  @Test
  void theIdleDetectorSpillsNothingAtNormalIdleBlocksWhenElevatedAndEnoughWhenHigh() throws Exception {
    FakeTarget target = new FakeTarget();
    ActorRef<IdleDetector.Command> detector = testKit.spawn(IdleDetector.create(target, timing(NEVER), Map.of()));
    detector.tell(IdleDetector.Sweep.INSTANCE);
    TestProbe<IdleDetector.Spilled> probe = testKit.createTestProbe();
    detector.tell(new IdleDetector.SpillNow(probe.getRef())); // a round-trip: the sweep was handled
    assertThat(probe.receiveMessage().blocks()).isEqualTo(10);
    assertThat(target.spilled).hasSize(1); // only SpillNow's round: NORMAL spilled nothing
    target.spilled.clear();
    target.sweeps.clear();

    detector.tell(new IdleDetector.PressureIs(PressureLevel.ELEVATED));
    detector.tell(IdleDetector.Sweep.INSTANCE);
    awaitSpills(target, 1);
    assertThat(target.sweeps).containsExactly(3); // idle-after, in sweeps
    assertThat(target.spilled.get(0)).hasSize(10);

    target.spilled.clear();
    target.sweeps.clear();
    target.live.set(950); // 950 live, low-water 750: 200 bytes = 2 blocks of 100
    detector.tell(new IdleDetector.PressureIs(PressureLevel.HIGH));
    detector.tell(IdleDetector.Sweep.INSTANCE);
    awaitSpills(target, 1);
    assertThat(target.sweeps).containsExactly(0); // the coldest blocks (the aging sweep passes no buffer)
    assertThat(target.spilled.get(0)).containsExactly(1, 2);
  }

  @Test
  void oneRoundAtATimeAndMakeRoomIsAnsweredWhenItsRoundEnds() throws Exception {
    FakeTarget target = new FakeTarget();
    target.live.set(800); // over low-water (750): the coldest blocks make room
    target.spillDone = new CompletableFuture<>();
    TestProbe<PoolActor.Command> pool = testKit.createTestProbe();
    ActorRef<IdleDetector.Command> detector = testKit.spawn(IdleDetector.create(target, timing(NEVER),
        Map.of("4KiB", pool.getRef())));
    TestProbe<IdleDetector.RoomMade> first = testKit.createTestProbe();
    TestProbe<IdleDetector.RoomMade> second = testKit.createTestProbe();
    detector.tell(new IdleDetector.MakeRoom(250, 0, first.getRef())); // 250 bytes: 3 blocks
    awaitSpills(target, 1);
    detector.tell(new IdleDetector.MakeRoom(100, 0, second.getRef())); // joins the round in progress
    detector.tell(new IdleDetector.PressureIs(PressureLevel.HIGH));
    detector.tell(IdleDetector.Sweep.INSTANCE); // no second round while one runs
    first.expectNoMessage(Duration.ofMillis(100));
    assertThat(target.spilled).hasSize(1);
    assertThat(target.spilled.get(0)).containsExactly(1, 2, 3);
    target.spillDone.complete(null);
    assertThat(first.receiveMessage().blocks()).isEqualTo(3);
    assertThat(second.receiveMessage().blocks()).isEqualTo(3);
    assertThat(pool.receiveMessage()).isInstanceOf(PoolActor.Maintain.class); // shrink after making room
  }

  @Test
  void atHighTheMapsDemoteFirstAndTheColdestBlocksSpillOnlyForTheRest() throws Exception {
    FakeTarget target = new FakeTarget();
    target.live.set(950); // 200 bytes over low-water
    target.mapsFree = 100;
    TestProbe<PoolActor.Command> pool = testKit.createTestProbe();
    ActorRef<IdleDetector.Command> detector = testKit.spawn(IdleDetector.create(target, timing(NEVER),
        Map.of("4KiB", pool.getRef())));
    detector.tell(new IdleDetector.PressureIs(PressureLevel.HIGH));
    detector.tell(IdleDetector.Sweep.INSTANCE);
    awaitSpills(target, 1);
    assertThat(target.demoteAsks).containsExactly(200L);
    assertThat(target.spilled.get(0)).as("the 100 bytes the maps did not free").containsExactly(1);
    assertThat(pool.receiveMessage()).isInstanceOf(PoolActor.Maintain.class);

    target.mapsFree = 1000; // the maps free it all: no block spills, the pools still shrink
    detector.tell(IdleDetector.Sweep.INSTANCE);
    assertThat(pool.receiveMessage()).isInstanceOf(PoolActor.Maintain.class);
    assertThat(target.demoteAsks).containsExactly(200L, 200L);
    assertThat(target.spilled).hasSize(1);
    assertThat(target.sweeps).as("no coldest pick when the maps freed enough").containsExactly(0);
  }

  @Test
  void makeRoomWaitsForTheMapsDemotionAndAFailedOneFallsBackToTheColdestBlocks() throws Exception {
    FakeTarget target = new FakeTarget();
    target.live.set(800); // over low-water (750): the coldest path
    target.demoted = new CompletableFuture<>();
    ActorRef<IdleDetector.Command> detector = testKit.spawn(IdleDetector.create(target, timing(NEVER), Map.of()));
    TestProbe<IdleDetector.RoomMade> first = testKit.createTestProbe();
    TestProbe<IdleDetector.RoomMade> second = testKit.createTestProbe();
    detector.tell(new IdleDetector.MakeRoom(250, 0, first.getRef()));
    await().atMost(Duration.ofSeconds(5)).until(() -> target.demoteAsks.size() == 1);
    detector.tell(new IdleDetector.MakeRoom(100, 0, second.getRef())); // joins the round in progress
    first.expectNoMessage(Duration.ofMillis(100));
    assertThat(target.spilled).isEmpty();
    target.demoted.complete(50L);
    assertThat(first.receiveMessage().blocks()).isEqualTo(2); // 200 bytes left: 2 blocks of 100
    assertThat(second.receiveMessage().blocks()).isEqualTo(2);
    assertThat(target.demoteAsks).containsExactly(250L);

    target.demoted = CompletableFuture.failedFuture(new IllegalStateException("no tier"));
    detector.tell(new IdleDetector.MakeRoom(250, 0, first.getRef()));
    assertThat(first.receiveMessage().blocks()).as("all of it from the coldest blocks").isEqualTo(3);
  }

  @Test
  void whenLiveBytesAreUnderLowWaterMakeRoomEmptiesTheSparsestSlabsAndShrinks() throws Exception {
    FakeTarget target = new FakeTarget(); // 500 live of a 1000 budget, all of it mapped: free slots hold it
    TestProbe<PoolActor.Command> pool = testKit.createTestProbe();
    ActorRef<IdleDetector.Command> detector = testKit.spawn(IdleDetector.create(target, timing(NEVER),
        Map.of("4KiB", pool.getRef())));
    TestProbe<IdleDetector.RoomMade> made = testKit.createTestProbe();
    detector.tell(new IdleDetector.MakeRoom(100, 0, made.getRef()));
    assertThat(made.receiveMessage().blocks()).isEqualTo(4);
    assertThat(target.spilled).hasSize(1);
    assertThat(target.spilled.get(0)).containsExactly(101, 102, 103, 104);
    assertThat(target.sweeps).containsExactly(-1).doesNotContain(0);
    assertThat(target.sparsestAskedFor).as("down to low-water: 1000 mapped - 750").isEqualTo(250);
    // The maps are asked first (a durable map frees RAM without a write, its large entries whole huge
    // blocks); this target has none to give, so the sparsest slabs are asked for all of it.
    assertThat(target.demoteAsks).as("the maps first").containsExactly(250L);
    assertThat(pool.receiveMessage()).isInstanceOf(PoolActor.Maintain.class); // the emptied slabs go back
  }

  @Test
  void anAskerStillWaitingAfterTheColdestRoundGetsWholeSlabsEmptied() throws Exception {
    FakeTarget target = new FakeTarget();
    target.live.set(900); // over low-water: a first ask spills the coldest
    ActorRef<IdleDetector.Command> detector = testKit.spawn(IdleDetector.create(target, timing(NEVER), Map.of()));
    TestProbe<IdleDetector.RoomMade> made = testKit.createTestProbe();
    detector.tell(new IdleDetector.MakeRoom(100, 0, made.getRef()));
    made.receiveMessage();
    detector.tell(new IdleDetector.MakeRoom(100, IdleDetector.ESCALATE_AFTER_NANOS, made.getRef()));
    made.receiveMessage();
    assertThat(target.sweeps).containsExactly(0, -1); // coldest first, then the sparsest slabs
    assertThat(target.spilled.get(1)).containsExactly(101, 102, 103, 104);
  }

  /**
   * A round that ends after the detector stopped goes to dead letters as a message with a value: with
   * a null one (a {@code CompletionStage<Void>} piped as it is) Akka's dead-letter logging fails with a
   * NullPointerException.
   */
  @Test
  void aRoundThatOutlivesTheDetectorIsADeadLetterWithAValue() throws Exception {
    FakeTarget target = new FakeTarget();
    target.spillDone = new CompletableFuture<>();
    TestProbe<akka.actor.DeadLetter> dead = testKit.createTestProbe();
    testKit.system().eventStream().tell(new akka.actor.typed.eventstream.EventStream.Subscribe<>(
        akka.actor.DeadLetter.class, dead.getRef()));
    ActorRef<IdleDetector.Command> detector = testKit.spawn(IdleDetector.create(target, timing(NEVER), Map.of()));
    detector.tell(new IdleDetector.MakeRoom(250, 0, null));
    awaitSpills(target, 1);
    testKit.stop(detector);
    target.spillDone.complete(null);
    akka.actor.DeadLetter letter = dead.fishForMessage(Duration.ofSeconds(10), d ->
        d.recipient().path().name().equals(detector.path().name())
            ? akka.actor.testkit.typed.javadsl.FishingOutcomes.complete()
            : akka.actor.testkit.typed.javadsl.FishingOutcomes.continueAndIgnore()).getLast();
    assertThat(akka.actor.WrappedMessage.unwrap(letter.message())).isNotNull();
  }

  @Test
  void aPoolQuietForShrinkAfterIsToldToMaintainOncePerQuietPeriod() throws Exception {
    FakeTarget target = new FakeTarget();
    TestProbe<PoolActor.Command> busy = testKit.createTestProbe();
    TestProbe<PoolActor.Command> quiet = testKit.createTestProbe();
    ActorRef<IdleDetector.Command> detector = testKit.spawn(IdleDetector.create(target,
        timing(Duration.ofMillis(30)), Map.of("4KiB", busy.getRef(), "64B", quiet.getRef())));
    for (int i = 0; i < 5; i++) {
      target.activity.merge("4KiB", 1L, Long::sum); // the 4 KiB pool keeps allocating
      detector.tell(IdleDetector.Sweep.INSTANCE);
      Thread.sleep(20); // the scenario: time passes between sweeps, the 64B pool stays quiet past shrink-after (30 ms)
    }
    assertThat(quiet.receiveMessage(Duration.ofSeconds(2))).isInstanceOf(PoolActor.Maintain.class);
    quiet.expectNoMessage(Duration.ofMillis(100)); // once per quiet period
    busy.expectNoMessage(Duration.ofMillis(10));
    target.activity.merge("64B", 1L, Long::sum);
    detector.tell(IdleDetector.Sweep.INSTANCE); // activity: a new quiet period starts
    Thread.sleep(40); // the scenario: the new quiet period lasts past shrink-after (30 ms) before the next sweep
    detector.tell(IdleDetector.Sweep.INSTANCE);
    assertThat(quiet.receiveMessage(Duration.ofSeconds(2))).isInstanceOf(PoolActor.Maintain.class);
  }

  @Test
  void aPoolActorAppliesItsRulesAndSaysWhatChanged() {
    List<String> asked = Collections.synchronizedList(new ArrayList<>());
    ActorRef<PoolActor.Command> pool = testKit.spawn(PoolActor.create("4KiB", name -> {
      asked.add(name);
      return -64;
    }, IO));
    TestProbe<PoolActor.Maintained> probe = testKit.createTestProbe();
    pool.tell(new PoolActor.Maintain(probe.getRef()));
    assertThat(probe.receiveMessage()).isEqualTo(new PoolActor.Maintained("4KiB", -64));
    pool.tell(new PoolActor.Maintain(probe.getRef())); // and again: the actor lives on
    assertThat(probe.receiveMessage()).isEqualTo(new PoolActor.Maintained("4KiB", -64));
    assertThat(asked).containsExactly("4KiB", "4KiB");
    ActorRef<PoolActor.Command> failing = testKit.spawn(PoolActor.create("8B", name -> {
      throw new IllegalStateException("closed");
    }, IO));
    failing.tell(new PoolActor.Maintain(probe.getRef()));
    assertThat(probe.receiveMessage()).isEqualTo(new PoolActor.Maintained("8B", 0));
    failing.tell(new PoolActor.Maintain(probe.getRef()));
    assertThat(probe.receiveMessage()).isEqualTo(new PoolActor.Maintained("8B", 0));
  }

  @Test
  void aDirectoryActorReportsItsDirectory(@TempDir Path dir) throws Exception {
    java.nio.file.Files.createDirectories(dir.resolve("spill"));
    java.nio.file.Files.write(dir.resolve("spill").resolve("seg-0000000000000001.spw"), new byte[100]);
    TestProbe<TierStatus> probe = testKit.createTestProbe();
    testKit.spawn(DirectoryActor.create(dir, NEVER, probe.getRef(), IO)); // checks once at start
    TierStatus status = probe.receiveMessage();
    assertThat(status.healthy()).isTrue();
    assertThat(status.segments()).isEqualTo(1);
    assertThat(status.segmentBytes()).isEqualTo(100);
    assertThat(status.usableBytes()).isPositive();
    assertThat(DirectoryActor.check(dir.resolve("missing")).problem()).isNotEmpty();
  }

  private static void awaitSpills(FakeTarget target, int rounds) {
    await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(5))
        .untilAsserted(() -> assertThat(target.spilled).hasSizeGreaterThanOrEqualTo(rounds));
  }
}
