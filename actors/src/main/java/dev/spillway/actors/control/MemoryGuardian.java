package dev.spillway.actors.control;

import akka.Done;
import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.PostStop;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.javadsl.TimerScheduler;
import akka.pattern.StatusReply;
import dev.spillway.PressureState;
import dev.spillway.TierStatus;
import dev.spillway.actors.pressure.PressureClassifier;
import dev.spillway.actors.pressure.PressureSample;
import dev.spillway.memory.AllocatorClosedException;
import dev.spillway.memory.spi.MaintenanceReport;
import dev.spillway.streams.spill.IoDispatcher;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;

/**
 * The root of Spillway's control plane: spawns one {@link PoolActor} per size class, the
 * {@link TierActor} (which owns the spill pipeline and restarts it with backoff when its stream fails,
 * and has one health-check child per tier directory), the {@link PressureMonitor} and the
 * {@link IdleDetector}; forwards pressure changes to the detector; answers the facade's admin calls.
 * It owns the native resources handed to it ({@code resources}: the live pipeline, then the
 * allocator) and releases them on {@link Stop} or, if the actor system goes down first, on
 * {@link PostStop}.
 *
 * <p>Whatever blocks (the allocator's housekeeping and pool maintenance, releasing the resources on
 * {@code Stop}) runs on the I/O executor ({@link Setup#io}), never on this actor's thread; its result
 * comes back as a message.
 */
public final class MemoryGuardian extends AbstractBehavior<MemoryGuardian.Command> {
  /** Messages the guardian takes: the public ones are the facade's. */
  public sealed interface Command permits GetStats, SpillNow, ShrinkNow, MakeRoom, Stop, PressureChanged,
      TierReported, MetricsTick, Housekeeping, HousekeepingDone, Shrunk, Released {}

  /** A stats snapshot, built by {@code stats} with the guardian's pressure and tier knowledge. */
  public record GetStats(ActorRef<Snapshot> replyTo) implements Command {}

  /** What the guardian knows beyond the allocator's own figures. */
  public record Snapshot(PressureState pressure, List<TierStatus> tiers) {}

  /** Spill every idle block now. */
  public record SpillNow(ActorRef<IdleDetector.Spilled> replyTo) implements Command {}

  /** Apply every pool's grow and shrink rules now; the report, or why there is none, goes to {@code replyTo}. */
  public record ShrinkNow(ActorRef<StatusReply<MaintenanceReport>> replyTo) implements Command {}

  /** An allocation (or a restore) of {@code bytes} found the budget full and has waited {@code waitedNanos}. */
  public record MakeRoom(long bytes, long waitedNanos) implements Command {}

  /** Release the native resources and stop; {@code replyTo} hears when they are released. */
  public record Stop(ActorRef<Stopped> replyTo) implements Command {}

  /** The answer to {@link Stop}. */
  public enum Stopped { INSTANCE }

  /**
   * What the guardian needs: the parts of the data plane it drives, and how often.
   *
   * @param target the idle detector's view of the allocator and the pipeline
   * @param pools the size classes' names, one pool actor each
   * @param maintainPool the allocator's {@code maintainPool}
   * @param maintainAll the allocator's {@code maintain} (housekeeping, and {@link ShrinkNow})
   * @param pressure a pressure sample (reads files: runs on {@code io})
   * @param classifier pressure levels from samples
   * @param pressureInterval how often pressure is sampled
   * @param timing the idle detector's timing
   * @param tier the tier actor's setup: the pipeline it owns and the directories it checks
   * @param resources closed on {@link Stop} (or when the system goes down): must be idempotent
   * @param metricsTick refreshes the metrics
   * @param metricsInterval how often
   * @param onPressure hears every new pressure state
   * @param housekeepingInterval how often {@code maintainAll} runs
   * @param io where blocking work runs
   */
  public record Setup(IdleDetector.Target target, List<String> pools, ToLongFunction<String> maintainPool,
      Supplier<MaintenanceReport> maintainAll, Supplier<PressureSample> pressure, PressureClassifier classifier,
      Duration pressureInterval, IdleDetector.Timing timing, TierActor.Setup tier, AutoCloseable resources,
      Runnable metricsTick, Duration metricsInterval, Consumer<PressureState> onPressure,
      Duration housekeepingInterval, Executor io) {}

  private record PressureChanged(PressureMonitor.Changed changed) implements Command {}

  private record TierReported(TierStatus status) implements Command {}

  /** Refresh the metrics (the timer sends it). */
  private enum MetricsTick implements Command { INSTANCE }

  /**
   * Run the allocator's housekeeping (the timer sends it every {@code housekeepingInterval}): dead
   * spill records leave the index, bounded compaction reclaims the tier's disk, idle thread caches
   * trim, pools apply their rules. One pass at a time, on the I/O executor.
   */
  private enum Housekeeping implements Command { INSTANCE }

  private record HousekeepingDone(Throwable failure) implements Command {}

  /** A {@link ShrinkNow} pass ended, on the I/O executor. */
  private record Shrunk(ActorRef<StatusReply<MaintenanceReport>> replyTo, MaintenanceReport report,
      Throwable failure) implements Command {}

  /** The resources were released after {@link Stop}, on the I/O executor. */
  private record Released(Throwable failure) implements Command {}

  private final Setup setup;
  private final Map<String, ActorRef<PoolActor.Command>> pools = new LinkedHashMap<>();
  private final ActorRef<IdleDetector.Command> detector;
  private final Map<Path, TierStatus> tiers = new HashMap<>();
  private PressureState pressure = PressureState.INITIAL;
  private boolean housekeeping;
  /** Who waits for the release after {@link Stop}; non-empty once stopping. */
  private final List<ActorRef<Stopped>> stopping = new ArrayList<>();

  public static Behavior<Command> create(Setup setup) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new MemoryGuardian(ctx, timers, setup)));
  }

  private MemoryGuardian(ActorContext<Command> ctx, TimerScheduler<Command> timers, Setup setup) {
    super(ctx);
    this.setup = setup;
    timers.startTimerWithFixedDelay(MetricsTick.INSTANCE, setup.metricsInterval());
    timers.startTimerWithFixedDelay(Housekeeping.INSTANCE, setup.housekeepingInterval());
    for (String name : setup.pools()) {
      pools.put(name, ctx.spawn(PoolActor.create(name, setup.maintainPool(), setup.io()), "pool-" + name));
    }
    detector = ctx.spawn(IdleDetector.create(setup.target(), setup.timing(), pools), "idle-detector");
    ctx.spawn(PressureMonitor.create(setup.pressure(), setup.classifier(), setup.pressureInterval(),
        ctx.messageAdapter(PressureMonitor.Changed.class, PressureChanged::new), setup.io()), "pressure-monitor");
    ctx.spawn(TierActor.supervised(setup.tier(), ctx.messageAdapter(TierStatus.class, TierReported::new)), "tier");
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Housekeeping.class, h -> onHousekeeping())
        .onMessage(HousekeepingDone.class, this::onHousekeepingDone)
        .onMessage(MetricsTick.class, t -> onMetricsTick())
        .onMessage(PressureChanged.class, this::onPressureChanged)
        .onMessage(TierReported.class, this::onTierReported)
        .onMessage(GetStats.class, this::onGetStats)
        .onMessage(SpillNow.class, this::onSpillNow)
        .onMessage(ShrinkNow.class, this::onShrinkNow)
        .onMessage(Shrunk.class, this::onShrunk)
        .onMessage(MakeRoom.class, this::onMakeRoom)
        .onMessage(Stop.class, this::onStop)
        .onMessage(Released.class, this::onReleased)
        .onSignal(PostStop.class, s -> onPostStop())
        .build();
  }

  private Behavior<Command> onHousekeeping() {
    if (!housekeeping && stopping.isEmpty()) {
      housekeeping = true;
      // A value, never null: Akka's dead-letter logging fails on a null message if the pass ends
      // after this actor stopped.
      getContext().pipeToSelf(IoDispatcher.supply(setup.maintainAll(), setup.io()),
          (report, failure) -> new HousekeepingDone(failure));
    }
    return this;
  }

  private Behavior<Command> onHousekeepingDone(HousekeepingDone d) {
    housekeeping = false;
    if (d.failure() != null && !(rootCause(d.failure()) instanceof AllocatorClosedException)) {
      getContext().getLog().warn("housekeeping failed: {}", d.failure().toString());
    }
    return this;
  }

  private Behavior<Command> onMetricsTick() {
    if (stopping.isEmpty()) {
      try {
        setup.metricsTick().run();
      } catch (RuntimeException e) {
        getContext().getLog().warn("metrics update failed: {}", e.toString());
      }
    }
    return this;
  }

  private Behavior<Command> onPressureChanged(PressureChanged p) {
    pressure = p.changed().state();
    setup.onPressure().accept(pressure);
    detector.tell(new IdleDetector.PressureIs(pressure.level()));
    return this;
  }

  private Behavior<Command> onTierReported(TierReported t) {
    tiers.put(t.status().directory(), t.status());
    return this;
  }

  private Behavior<Command> onGetStats(GetStats g) {
    g.replyTo().tell(new Snapshot(pressure, List.copyOf(tiers.values())));
    return this;
  }

  private Behavior<Command> onSpillNow(SpillNow s) {
    detector.tell(new IdleDetector.SpillNow(s.replyTo()));
    return this;
  }

  private Behavior<Command> onShrinkNow(ShrinkNow s) {
    getContext().pipeToSelf(IoDispatcher.supply(setup.maintainAll(), setup.io()),
        (report, failure) -> new Shrunk(s.replyTo(), report, failure));
    return this;
  }

  private Behavior<Command> onShrunk(Shrunk s) {
    s.replyTo().tell(s.failure() == null ? StatusReply.success(s.report()) : StatusReply.error(s.failure()));
    return this;
  }

  private Behavior<Command> onMakeRoom(MakeRoom m) {
    detector.tell(new IdleDetector.MakeRoom(m.bytes(), m.waitedNanos(), null));
    return this;
  }

  /**
   * Children first, so that none of them works on the allocator once it is closed (the tier actor's
   * pipeline stops taking requests); then the resources, on the I/O executor: the live pipeline
   * drains into the allocator before the allocator closes, which may take a while.
   */
  private Behavior<Command> onStop(Stop s) {
    boolean first = stopping.isEmpty();
    stopping.add(s.replyTo());
    if (first) {
      getContext().getChildren().forEach(getContext()::stop);
      getContext().pipeToSelf(IoDispatcher.supply(() -> {
        try {
          setup.resources().close();
        } catch (Exception e) {
          throw new CompletionException(e);
        }
        return Done.getInstance();
      }, setup.io()), (done, failure) -> new Released(failure));
    }
    return this;
  }

  private Behavior<Command> onReleased(Released r) {
    if (r.failure() != null) {
      getContext().getLog().warn("closing Spillway's resources failed: {}", rootCause(r.failure()).toString());
    }
    stopping.forEach(replyTo -> replyTo.tell(Stopped.INSTANCE));
    return Behaviors.stopped();
  }

  /** The actor system went down first (or the release finished): releases here, idempotently. */
  private Behavior<Command> onPostStop() {
    try {
      setup.resources().close();
    } catch (Exception e) {
      getContext().getLog().warn("closing Spillway's resources failed: {}", e.toString());
    }
    return this;
  }

  private static Throwable rootCause(Throwable t) {
    return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
  }
}
