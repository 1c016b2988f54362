package dev.spillway.actors.control;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.Behaviors;
import dev.spillway.actors.pressure.PressureClassifier;
import dev.spillway.actors.pressure.PressureSample;
import dev.spillway.PressureState;
import java.time.Duration;
import java.util.function.Supplier;

/**
 * Samples memory every {@code spillway.control.pressure.interval} (live bytes against the budget,
 * MemAvailable, the cgroup, direct memory: whatever {@code source} reads; absent sources are simply
 * absent) and classifies it with hysteresis ({@link PressureClassifier}). Tells {@code listener}
 * whenever the state changes. A sample that throws is skipped (and logged): the monitor never dies of
 * a bad reading.
 */
public final class PressureMonitor {
  private PressureMonitor() {}

  /** Messages the monitor takes. */
  public sealed interface Command permits Tick {}

  /** Take a sample now (the timer sends it; tests may too). */
  public enum Tick implements Command { INSTANCE }

  /** A new pressure state, and the sample that led to it. */
  public record Changed(PressureState state, PressureSample sample) {}

  public static Behavior<Command> create(Supplier<PressureSample> source, PressureClassifier classifier,
      Duration interval, ActorRef<Changed> listener) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(Tick.INSTANCE, interval);
      PressureState[] state = {PressureState.INITIAL};
      return Behaviors.receive(Command.class)
          .onMessage(Tick.class, tick -> {
            PressureSample sample;
            try {
              sample = source.get();
            } catch (dev.spillway.memory.AllocatorClosedException closed) {
              return Behaviors.same(); // Spillway is closing
            } catch (RuntimeException e) {
              ctx.getLog().warn("pressure sample failed, skipped: {}", e.toString());
              return Behaviors.same();
            }
            PressureState next = classifier.classify(state[0], sample);
            if (!next.equals(state[0])) {
              state[0] = next;
              listener.tell(new Changed(next, sample));
            }
            return Behaviors.same();
          })
          .build();
    }));
  }
}
