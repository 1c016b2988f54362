package dev.spillway.actors.control;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.javadsl.TimerScheduler;
import dev.spillway.PressureState;
import dev.spillway.actors.pressure.PressureClassifier;
import dev.spillway.actors.pressure.PressureSample;
import dev.spillway.memory.AllocatorClosedException;
import dev.spillway.streams.spill.IoDispatcher;
import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

/**
 * Samples memory every {@code spillway.control.pressure.interval} (live bytes against the budget,
 * MemAvailable, the cgroup, direct memory: whatever {@code source} reads; absent sources are simply
 * absent) and classifies it with hysteresis ({@link PressureClassifier}). Tells {@code listener}
 * whenever the state changes. A sample reads files ({@code /proc}, the cgroup's), so it runs on the
 * I/O executor and comes back as a message; one sample at a time, and a tick during a sample asks for
 * one more after it. A sample that throws is skipped (and logged): the monitor never dies of a bad
 * reading.
 */
final class PressureMonitor extends AbstractBehavior<PressureMonitor.Command> {
  sealed interface Command permits Tick, Sampled {}

  /** Take a sample now (the timer sends it; tests may too). */
  enum Tick implements Command { INSTANCE }

  /** A sample, or why there is none, back from the I/O executor. */
  private record Sampled(PressureSample sample, Throwable failure) implements Command {}

  /** A new pressure state, and the sample that led to it. */
  record Changed(PressureState state, PressureSample sample) {}

  private final Supplier<PressureSample> source;
  private final PressureClassifier classifier;
  private final ActorRef<Changed> listener;
  private final Executor io;
  private PressureState state = PressureState.INITIAL;
  private boolean sampling;
  private boolean again;

  static Behavior<Command> create(Supplier<PressureSample> source, PressureClassifier classifier, Duration interval,
      ActorRef<Changed> listener, Executor io) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
        new PressureMonitor(ctx, timers, interval, source, classifier, listener, io)));
  }

  private PressureMonitor(ActorContext<Command> ctx, TimerScheduler<Command> timers, Duration interval,
      Supplier<PressureSample> source, PressureClassifier classifier, ActorRef<Changed> listener, Executor io) {
    super(ctx);
    this.source = source;
    this.classifier = classifier;
    this.listener = listener;
    this.io = io;
    timers.startTimerWithFixedDelay(Tick.INSTANCE, interval);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Tick.class, t -> onTick())
        .onMessage(Sampled.class, this::onSampled)
        .build();
  }

  private Behavior<Command> onTick() {
    if (sampling) {
      again = true;
    } else {
      sample();
    }
    return this;
  }

  private void sample() {
    sampling = true;
    getContext().pipeToSelf(IoDispatcher.supply(source, io), Sampled::new);
  }

  private Behavior<Command> onSampled(Sampled s) {
    sampling = false;
    if (s.failure() instanceof AllocatorClosedException) {
      again = false;
      return this; // Spillway is closing
    }
    if (s.failure() != null) {
      getContext().getLog().warn("pressure sample failed, skipped: {}", s.failure().toString());
    } else {
      PressureState next = classifier.classify(state, s.sample());
      if (!next.equals(state)) {
        state = next;
        listener.tell(new Changed(next, s.sample()));
      }
    }
    if (again) {
      again = false;
      sample();
    }
    return this;
  }
}
