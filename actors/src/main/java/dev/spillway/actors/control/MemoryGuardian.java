package dev.spillway.actors.control;

import dev.spillway.TierStatus;
import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.PostStop;
import akka.actor.typed.SupervisorStrategy;
import akka.actor.typed.javadsl.Behaviors;
import dev.spillway.actors.pressure.PressureClassifier;
import dev.spillway.actors.pressure.PressureSample;
import dev.spillway.PressureState;
import dev.spillway.memory.spi.MaintenanceReport;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The root of Spillway's control plane: spawns one {@link PoolActor} per size class, one
 * {@link TierActor} per tier directory (restarted with backoff when a check fails), the
 * {@link PressureMonitor} and the {@link IdleDetector}; forwards pressure changes to the detector;
 * answers the facade's admin calls. It owns the native resources handed to it ({@code resources}: the
 * spill pipeline, then the allocator) and releases them on {@link Stop} or, if the actor system goes
 * down first, on {@link PostStop}.
 */
public final class MemoryGuardian {
  private MemoryGuardian() {}

  /** Messages the guardian takes. */
  public sealed interface Command permits GetStats, SpillNow, ShrinkNow, MakeRoom, Stop, PressureChanged,
      TierReported, MetricsTick, Housekeeping, HousekeepingDone {}

  /**
   * Run the allocator's housekeeping (the timer sends it every {@code housekeepingInterval}): dead
   * spill records leave the index, bounded compaction reclaims the tier's disk, idle thread caches
   * trim, pools apply their rules. One pass at a time, on the I/O executor.
   */
  enum Housekeeping implements Command { INSTANCE }

  record HousekeepingDone(Throwable failure) implements Command {}

  /** A stats snapshot, built by {@code stats} with the guardian's pressure and tier knowledge. */
  public record GetStats(ActorRef<Snapshot> replyTo) implements Command {}

  /** What the guardian knows beyond the allocator's own figures. */
  public record Snapshot(PressureState pressure, List<TierStatus> tiers) {}

  /** Spill every idle block now. */
  public record SpillNow(ActorRef<IdleDetector.Spilled> replyTo) implements Command {}

  /** Apply every pool's grow and shrink rules now. */
  public record ShrinkNow(ActorRef<MaintenanceReport> replyTo) implements Command {}

  /** An allocation (or a restore) of {@code bytes} found the budget full and has waited {@code waitedNanos}. */
  public record MakeRoom(long bytes, long waitedNanos) implements Command {}

  /** Release the native resources and stop; {@code replyTo} hears when they are released. */
  public record Stop(ActorRef<Stopped> replyTo) implements Command {}

  /** The answer to {@link Stop}. */
  public enum Stopped { INSTANCE }

  record PressureChanged(PressureMonitor.Changed changed) implements Command {}

  record TierReported(TierStatus status) implements Command {}

  /** What the guardian needs: the parts of the data plane it drives, and how often. */
  public record Setup(IdleDetector.Target target, List<String> pools, java.util.function.ToLongFunction<String> maintainPool,
      Supplier<MaintenanceReport> maintainAll, Supplier<PressureSample> pressure, PressureClassifier classifier,
      Duration pressureInterval, IdleDetector.Timing timing, List<Path> tierDirectories, Duration tierInterval,
      AutoCloseable resources, Runnable metricsTick, Duration metricsInterval,
      java.util.function.Consumer<PressureState> onPressure, Duration housekeepingInterval,
      java.util.concurrent.Executor io) {}

  /** Refresh the metrics (the timer sends it). */
  enum MetricsTick implements Command { INSTANCE }

  public static Behavior<Command> create(Setup setup) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(MetricsTick.INSTANCE, setup.metricsInterval());
      timers.startTimerWithFixedDelay(Housekeeping.INSTANCE, setup.housekeepingInterval());
      boolean[] housekeeping = {false};
      Map<String, ActorRef<PoolActor.Command>> pools = new LinkedHashMap<>();
      for (String name : setup.pools()) {
        pools.put(name, ctx.spawn(PoolActor.create(name, setup.maintainPool()), "pool-" + name));
      }
      ActorRef<IdleDetector.Command> detector = ctx.spawn(IdleDetector.create(setup.target(), setup.timing(), pools),
          "idle-detector");
      ActorRef<PressureMonitor.Changed> pressureAdapter = ctx.messageAdapter(PressureMonitor.Changed.class,
          PressureChanged::new);
      ctx.spawn(PressureMonitor.create(setup.pressure(), setup.classifier(), setup.pressureInterval(), pressureAdapter),
          "pressure-monitor");
      ActorRef<TierStatus> tierAdapter = ctx.messageAdapter(TierStatus.class, TierReported::new);
      int i = 0;
      for (Path dir : setup.tierDirectories()) {
        ctx.spawn(Behaviors.supervise(TierActor.create(dir, setup.tierInterval(), tierAdapter))
            .onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofMillis(100), Duration.ofSeconds(10), 0.2)),
            "tier-" + i++);
      }
      Map<Path, TierStatus> tiers = new HashMap<>();
      PressureState[] pressure = {PressureState.INITIAL};
      return Behaviors.receive(Command.class)
          .onMessage(Housekeeping.class, h -> {
            if (!housekeeping[0]) {
              housekeeping[0] = true;
              // A value, never null: Akka's dead-letter logging fails on a null message if the pass
              // ends after this actor stopped.
              ctx.pipeToSelf(java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                setup.maintainAll().get();
                return Boolean.TRUE;
              }, setup.io()), (ok, failure) -> new HousekeepingDone(failure));
            }
            return Behaviors.same();
          })
          .onMessage(HousekeepingDone.class, d -> {
            housekeeping[0] = false;
            if (d.failure() != null && !(rootCause(d.failure()) instanceof dev.spillway.memory.AllocatorClosedException)) {
              ctx.getLog().warn("housekeeping failed: {}", d.failure().toString());
            }
            return Behaviors.same();
          })
          .onMessage(MetricsTick.class, t -> {
            try {
              setup.metricsTick().run();
            } catch (RuntimeException e) {
              ctx.getLog().warn("metrics update failed: {}", e.toString());
            }
            return Behaviors.same();
          })
          .onMessage(PressureChanged.class, p -> {
            pressure[0] = p.changed().state();
            setup.onPressure().accept(pressure[0]);
            detector.tell(new IdleDetector.PressureIs(p.changed().state().level()));
            return Behaviors.same();
          })
          .onMessage(TierReported.class, t -> {
            tiers.put(t.status().directory(), t.status());
            return Behaviors.same();
          })
          .onMessage(GetStats.class, g -> {
            g.replyTo().tell(new Snapshot(pressure[0], List.copyOf(tiers.values())));
            return Behaviors.same();
          })
          .onMessage(SpillNow.class, s -> {
            detector.tell(new IdleDetector.SpillNow(s.replyTo()));
            return Behaviors.same();
          })
          .onMessage(ShrinkNow.class, s -> {
            s.replyTo().tell(setup.maintainAll().get());
            return Behaviors.same();
          })
          .onMessage(MakeRoom.class, m -> {
            detector.tell(new IdleDetector.MakeRoom(m.bytes(), m.waitedNanos(), null));
            return Behaviors.same();
          })
          .onMessage(Stop.class, s -> {
            // Children first, so none of them works on the allocator once it is closed.
            ctx.getChildren().forEach(ctx::stop);
            release(setup.resources(), ctx.getLog());
            s.replyTo().tell(Stopped.INSTANCE);
            return Behaviors.stopped();
          })
          .onSignal(PostStop.class, signal -> {
            release(setup.resources(), ctx.getLog()); // idempotent: a no-op after Stop
            return Behaviors.same();
          })
          .build();
    }));
  }

  private static Throwable rootCause(Throwable t) {
    return t instanceof java.util.concurrent.CompletionException && t.getCause() != null ? t.getCause() : t;
  }

  private static void release(AutoCloseable resources, org.slf4j.Logger log) {
    try {
      resources.close();
    } catch (Exception e) {
      log.warn("closing Spillway's resources failed: {}", e.toString());
    }
  }
}
