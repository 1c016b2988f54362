package dev.spillway.actors.control;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.javadsl.TimerScheduler;
import dev.spillway.PressureLevel;
import dev.spillway.memory.spi.BlockRefs;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Sweeps the allocator's idle clock every {@code sweep-interval} and decides what to spill and which
 * pools to shrink:
 *
 * <ul>
 *   <li>{@code NORMAL}: nothing spills; RAM within the budget is there to be used. The sweep only ages
 *       the blocks.
 *   <li>{@code ELEVATED}: blocks idle for {@code idle-after} (counted in sweeps) spill.
 *   <li>{@code HIGH} and {@code CRITICAL}: the keyed maps first send their coldest entries to NVMe,
 *       each in its own demotion-policy order ({@link Target#demoteMaps}); then the coldest blocks
 *       (longest idle first) spill for what is left, as many as it takes to bring live bytes down to
 *       {@code low-water} of the budget.
 *   <li>{@link MakeRoom} (an allocation found the budget full): as for {@code HIGH}, at least the bytes
 *       asked for, at once and without aging the clock; then every pool applies its shrink rule. When
 *       live bytes are already under {@code low-water}, the budget is held by free slots of partly
 *       used slabs; when the asker has waited {@link #ESCALATE_AFTER_NANOS} already, the coldest
 *       blocks' slots did not help it. Either way the keyed maps are asked first (a durable map gives
 *       RAM back without a write, and its large entries are whole huge blocks, unmapped as they are
 *       freed: without this a durable map under a tight budget could hold it all), then every block
 *       of the emptiest slabs spills ({@code sparsest}), enough of them to bring mapped bytes down to
 *       {@code low-water}, and the shrink gives them back.
 *       Requests that arrive while a round runs are answered when it ends.
 *   <li>A pool with no allocation and no free for {@code shrink-after} is told to {@link
 *       PoolActor.Maintain} (its shrink rule gives empty slabs back), once per quiet period.
 * </ul>
 *
 * One spill round runs at a time (its requests go through the spill pipeline, which bounds them);
 * sweeps during a round only age blocks. A round whose pipeline is restarting fails at once and is
 * logged; the next sweep tries again.
 */
public final class IdleDetector extends AbstractBehavior<IdleDetector.Command> {

  /** Most references one sweep hands to the pipeline. */
  static final int MAX_PER_ROUND = 4096;

  /** What the detector works on: the allocator and the spill pipeline, behind a narrow interface. */
  public interface Target {
    /** {@code BlockAllocator.sweepIdle}. */
    int sweepIdle(int idleSweeps, BlockRefs out);

    /** {@code BlockAllocator.coldest}: the longest idle first, aging nothing. */
    int coldest(BlockRefs out);

    /** {@code BlockAllocator.sparsest}: every block of the emptiest slabs mapping at least {@code bytes}. */
    int sparsest(BlockRefs out, long bytes);

    /** Bytes mapped: live blocks, free slots of their slabs, huge blocks. */
    long mappedBytes();


    /** Spills the blocks of {@code refs[0, count)}; completes when every request is answered. */
    CompletionStage<?> spill(long[] refs, int count);

    /** Bytes of live blocks in RAM. */
    long liveBytes();

    /** The memory budget, in bytes. */
    long budgetBytes();

    /** Per pool name, allocations plus frees so far (for idleness). */
    Map<String, Long> poolActivity();

    /**
     * Asks the keyed maps to send about {@code bytes} of their resident entries to NVMe, each in its
     * own demotion-policy order; completes with the bytes of the blocks they spilled. Whatever blocks
     * must run off the caller's thread (the detector is an actor). Without maps (the default): 0 at
     * once.
     */
    default CompletionStage<Long> demoteMaps(long bytes) {
      return CompletableFuture.completedFuture(0L);
    }
  }

  /** Messages the detector takes (from the guardian, its timer and its own rounds). */
  sealed interface Command permits Sweep, PressureIs, MakeRoom, SpillNow, MapsDemoted, RoundDone {}

  /** Sweep now (the timer sends it). */
  enum Sweep implements Command { INSTANCE }

  /** The pressure level changed. */
  record PressureIs(PressureLevel level) implements Command {}

  /**
   * An allocation (or a restore) of {@code bytes} found the budget full and has waited {@code
   * waitedNanos} for room so far; {@code replyTo} (may be null) hears when room was made.
   */
  record MakeRoom(long bytes, long waitedNanos, ActorRef<RoomMade> replyTo) implements Command {}

  /**
   * A wait for room longer than this means spilling the coldest blocks did not help: the class asking
   * needs a new slab, and the slots freed were in other classes. The next round empties whole slabs.
   */
  static final long ESCALATE_AFTER_NANOS = 20_000_000L;

  /** Spill every block idle for {@code idle-after} now, whatever the pressure; {@code replyTo} gets the count. */
  record SpillNow(ActorRef<Spilled> replyTo) implements Command {}

  /**
   * The maps' demotion of a round ended: {@code demoted} of the {@code wanted} bytes went (0 after a
   * {@code failure}); the coldest blocks make up the rest.
   */
  private record MapsDemoted(long wanted, long demoted, Throwable failure, boolean shrinkAfter, boolean sparse)
      implements Command {}

  /** A spill round ended. */
  private record RoundDone(int blocks, Throwable failure) implements Command {}

  /** The answer to {@link MakeRoom}: how many blocks the round handed to the pipeline. */
  record RoomMade(int blocks) {}

  /** The answer to {@link SpillNow}. */
  public record Spilled(int blocks) {}

  /** Timing, counted in sweeps. */
  public record Timing(Duration sweepInterval, int idleSweeps, Duration shrinkAfter, double lowWater) {
    public Timing {
      if (idleSweeps < 1 || idleSweeps > 120) {
        throw new IllegalArgumentException("idleSweeps = " + idleSweeps + ": allowed 1 to 120 (idle-after / sweep-interval)");
      }
    }

    /** {@code idleAfter} in sweeps of {@code sweepInterval}, at least 1 and at most 120. */
    public static int sweepsFor(Duration idleAfter, Duration sweepInterval) {
      long n = Math.max(1, (idleAfter.toNanos() + sweepInterval.toNanos() - 1) / sweepInterval.toNanos());
      return (int) Math.min(120, n);
    }
  }

  static Behavior<Command> create(Target target, Timing timing, Map<String, ActorRef<PoolActor.Command>> pools) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new IdleDetector(ctx, timers, target, timing, pools)));
  }

  private final Target target;
  private final Timing timing;
  private final Map<String, ActorRef<PoolActor.Command>> pools;
  private final BlockRefs buffer = new BlockRefs(MAX_PER_ROUND);
  /** A buffer of no room: a sweep that only ages the clock. */
  private final BlockRefs none = new BlockRefs(0);
  private PressureLevel level = PressureLevel.NORMAL;
  private boolean spilling;
  private final List<ActorRef<RoomMade>> waiting = new ArrayList<>();
  private final List<ActorRef<Spilled>> spillNowWaiting = new ArrayList<>();
  private boolean shrinkAfterRound;
  private final Map<String, Long> lastActivity = new HashMap<>();
  private final Map<String, Long> quietSince = new HashMap<>();
  private final Map<String, Boolean> shrunk = new HashMap<>();

  private IdleDetector(ActorContext<Command> ctx, TimerScheduler<Command> timers, Target target, Timing timing,
      Map<String, ActorRef<PoolActor.Command>> pools) {
    super(ctx);
    this.target = target;
    this.timing = timing;
    this.pools = pools;
    timers.startTimerWithFixedDelay(Sweep.INSTANCE, timing.sweepInterval());
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Sweep.class, s -> sweep())
        .onMessage(PressureIs.class, this::onPressure)
        .onMessage(MakeRoom.class, this::onMakeRoom)
        .onMessage(SpillNow.class, this::onSpillNow)
        .onMessage(MapsDemoted.class, this::onMapsDemoted)
        .onMessage(RoundDone.class, this::onRoundDone)
        .build();
  }

  private Behavior<Command> onPressure(PressureIs p) {
    level = p.level();
    return this;
  }

  private Behavior<Command> onMakeRoom(MakeRoom m) {
    if (m.replyTo() != null) {
      waiting.add(m.replyTo());
    }
    if (!spilling) {
      if (target.liveBytes() < lowWaterBytes() || m.waitedNanos() >= ESCALATE_AFTER_NANOS) {
        // The budget is held by free slots of partly used slabs, not by live data, or the coldest
        // blocks were spilled and the asker still waits (its class needs a new slab; the slots
        // freed were in other classes): empty whole slabs instead, so the shrink after the round
        // gives their memory back; down to low-water, so that the next allocations find room too.
        // The keyed maps first here too: a durable map gives RAM back without a write, and its large
        // entries are whole huge blocks, unmapped as they are freed.
        freeRoom(Math.max(m.bytes(), target.mappedBytes() - lowWaterBytes()), true, true);
      } else {
        freeColdest(Math.max(m.bytes(), target.liveBytes() - lowWaterBytes()), true);
      }
    }
    return this;
  }

  /**
   * A round that frees about {@code bytes} of live RAM: the keyed maps demote their coldest entries
   * first (on the I/O executor; at once when there are none), then the coldest blocks spill for the
   * rest.
   */
  private void freeColdest(long bytes, boolean shrinkAfter) {
    freeRoom(bytes, shrinkAfter, false);
  }

  /**
   * {@link #freeColdest}, or with {@code sparse} the rest taken from the sparsest slabs (whole slabs,
   * so that the shrink after the round unmaps them) instead of the coldest blocks.
   */
  private void freeRoom(long bytes, boolean shrinkAfter, boolean sparse) {
    spilling = true;
    CompletableFuture<Long> demoted;
    try {
      demoted = target.demoteMaps(bytes).toCompletableFuture();
    } catch (RuntimeException e) {
      demoted = CompletableFuture.failedFuture(e);
    }
    if (demoted.isDone()) {
      long freed = 0;
      Throwable failure = null;
      try {
        freed = demoted.join();
      } catch (RuntimeException e) {
        failure = e;
      }
      onMapsDemoted(new MapsDemoted(bytes, freed, failure, shrinkAfter, sparse));
    } else {
      // A value, never null: see startRound.
      getContext().pipeToSelf(demoted, (freed, failure) ->
          new MapsDemoted(bytes, freed == null ? 0 : freed, failure, shrinkAfter, sparse));
    }
  }

  private Behavior<Command> onMapsDemoted(MapsDemoted d) {
    if (d.failure() != null) {
      getContext().getLog().warn("the maps' demotion failed, spilling the coldest blocks instead: {}",
          rootCause(d.failure()).toString());
    }
    if (d.demoted() > 0) {
      shrinkAfterRound |= d.shrinkAfter(); // the demoted entries' slots may empty slabs
    }
    long rest = d.wanted() - d.demoted();
    if (d.sparse()) {
      startRound(rest > 0 ? target.sparsest(buffer, rest) : 0, true);
      return this;
    }
    int n = rest > 0 ? target.coldest(buffer) : 0;
    startRound(pick(n, rest), d.shrinkAfter());
    return this;
  }

  private static Throwable rootCause(Throwable t) {
    Throwable cause = t;
    while (cause instanceof java.util.concurrent.CompletionException && cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause;
  }

  private Behavior<Command> onSpillNow(SpillNow m) {
    spillNowWaiting.add(m.replyTo());
    if (!spilling) {
      startRound(target.sweepIdle(timing.idleSweeps(), buffer), false);
    }
    return this;
  }

  private Behavior<Command> onRoundDone(RoundDone d) {
    spilling = false;
    Throwable cause = d.failure() == null ? null : rootCause(d.failure());
    if (cause instanceof dev.spillway.memory.InvalidHandleException) {
      // Routine: a block the sweep named was freed by the application before its spill.
      getContext().getLog().debug("spill round of {} blocks: a block was freed before its spill: {}", d.blocks(),
          cause.toString());
    } else if (cause != null) {
      // A device error, or a pipeline closed or restarting, says enough in its message; anything else
      // is a bug: keep its stack.
      if (cause instanceof java.io.IOException || cause instanceof dev.spillway.memory.SpillFailedException
          || cause instanceof dev.spillway.streams.spill.PipelineClosedException) {
        getContext().getLog().warn("spill round of {} blocks failed in part: {}", d.blocks(), cause.toString());
      } else {
        getContext().getLog().warn("spill round of " + d.blocks() + " blocks failed in part", cause);
      }
    }
    if (shrinkAfterRound) {
      shrinkAfterRound = false;
      pools.values().forEach(p -> p.tell(new PoolActor.Maintain(null)));
    }
    waiting.forEach(r -> r.tell(new RoomMade(d.blocks())));
    waiting.clear();
    spillNowWaiting.forEach(r -> r.tell(new Spilled(d.blocks())));
    spillNowWaiting.clear();
    return this;
  }

  private long lowWaterBytes() {
    return (long) (timing.lowWater() * target.budgetBytes());
  }

  private Behavior<Command> sweep() {
    watchPools();
    if (spilling || level == PressureLevel.NORMAL) {
      target.sweepIdle(timing.idleSweeps(), none); // ages the clock, spills nothing
      return this;
    }
    if (level == PressureLevel.ELEVATED) {
      startRound(target.sweepIdle(timing.idleSweeps(), buffer), false);
      return this;
    }
    target.sweepIdle(timing.idleSweeps(), none); // age the clock, then take the coldest
    freeColdest(target.liveBytes() - lowWaterBytes(), true);
    return this;
  }

  /** Of the {@code n} candidates in the buffer, the first worth at least {@code bytes}; returns how many. */
  private int pick(int n, long bytes) {
    long sum = 0;
    int k = 0;
    while (k < n && sum < bytes) {
      sum += buffer.bytes(k);
      k++;
    }
    return k;
  }

  private void startRound(int count, boolean shrinkAfter) {
    if (count == 0) {
      getContext().getSelf().tell(new RoundDone(0, null));
      spilling = true;
      return;
    }
    spilling = true;
    shrinkAfterRound |= shrinkAfter;
    buffer.truncate(count);
    long[] refs = buffer.toArray();
    // Completed with a value, never null: Akka's dead-letter logging fails on a null message if the
    // round ends after this actor stopped.
    getContext().pipeToSelf(target.spill(refs, count).thenApply(ok -> Boolean.TRUE),
        (ok, failure) -> new RoundDone(count, failure));
  }

  private void watchPools() {
    long now = System.nanoTime();
    for (Map.Entry<String, Long> e : target.poolActivity().entrySet()) {
      String pool = e.getKey();
      Long before = lastActivity.put(pool, e.getValue());
      if (before == null || !before.equals(e.getValue())) {
        quietSince.put(pool, now);
        shrunk.put(pool, false);
        continue;
      }
      boolean quietLongEnough = now - quietSince.getOrDefault(pool, now) >= timing.shrinkAfter().toNanos();
      if (quietLongEnough && !shrunk.getOrDefault(pool, false)) {
        shrunk.put(pool, true);
        ActorRef<PoolActor.Command> actor = pools.get(pool);
        if (actor != null) {
          actor.tell(new PoolActor.Maintain(null));
        }
      }
    }
  }
}
