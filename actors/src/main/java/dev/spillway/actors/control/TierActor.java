package dev.spillway.actors.control;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.PostStop;
import akka.actor.typed.PreRestart;
import akka.actor.typed.SupervisorStrategy;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import dev.spillway.TierStatus;
import dev.spillway.streams.spill.PipelineClosedException;
import dev.spillway.streams.spill.SpillPipeline;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.function.Supplier;
import org.slf4j.event.Level;

/**
 * The NVMe tier: one actor for the whole tier, which owns its spill pipeline, with one
 * {@link DirectoryActor} child per tier directory for the directories' health.
 *
 * <p><b>Why one actor, not one per directory.</b> The tier is one striped segment log over all its
 * directories (core's allocator owns it, and restores read it on the accessing thread), and one
 * pipeline writes every spill into it: there is one stream to own, whatever the number of
 * directories. The directories' health checks are independent of it and of each other, so each
 * directory gets a child that checks it on the I/O executor; a restart of the pipeline restarts the
 * children with it (they hold no state beyond their timer, and check again at once).
 *
 * <p><b>The pipeline.</b> At start the actor materializes a {@link SpillPipeline}
 * ({@link Setup#startPipeline}), makes it the live one ({@link LivePipeline#attach}) and watches its
 * end ({@link SpillPipeline#whenStopped}). A stream that stops on its own (a stage failed, or it ended
 * while not closed) has already answered every request it took with a failure and unfrozen every
 * block it held; the actor then detaches it, so requests fail at once instead of reaching a dead
 * stream, and fails: {@link #supervised} restarts it with backoff ({@link Setup#minBackoff} doubling
 * up to {@link Setup#maxBackoff}, reset after a run of {@code maxBackoff} without failure), and the
 * restarted actor materializes a fresh pipeline. The supervisor logs each failure (WARN); the
 * restarted actor logs the restart, and {@link LivePipeline#restarts()} counts them for
 * {@code SpillwayStats}.
 *
 * <p><b>Closing.</b> Spillway closes the {@link LivePipeline} (which drains the live pipeline before
 * the allocator closes) and stops this actor; a restart that comes after that finds the live pipeline
 * closed, closes the pipeline it started, and stops. When the actor stops or restarts for any other
 * reason, its pipeline is closed without waiting (requests already taken are still written).
 */
public final class TierActor extends AbstractBehavior<TierActor.Command> {
  /**
   * What the tier actor works with.
   *
   * @param startPipeline materializes a new pipeline (on the actor's thread: materializing does not block)
   * @param live where the pipeline running now is published
   * @param directories the tier directories, one health-check child each
   * @param checkInterval how often each directory is checked
   * @param io where the checks run (file-system calls block)
   * @param minBackoff first pause before a restart after a failure
   * @param maxBackoff longest pause; the pause doubles per failure up to it
   */
  public record Setup(Supplier<SpillPipeline> startPipeline, LivePipeline live, List<Path> directories,
      Duration checkInterval, Executor io, Duration minBackoff, Duration maxBackoff) {
    public Setup {
      Objects.requireNonNull(startPipeline, "startPipeline");
      Objects.requireNonNull(live, "live");
      directories = List.copyOf(directories);
      Objects.requireNonNull(checkInterval, "checkInterval");
      Objects.requireNonNull(io, "io");
      Objects.requireNonNull(minBackoff, "minBackoff");
      Objects.requireNonNull(maxBackoff, "maxBackoff");
    }
  }

  /** Messages the tier actor takes: only its own. */
  sealed interface Command permits PipelineStopped {}

  /** The stream of {@code pipeline} stopped; {@code failure} is null when it was closed. */
  private record PipelineStopped(SpillPipeline pipeline, Throwable failure) implements Command {}

  /** How the actor fails when its pipeline's stream stopped on its own: its supervisor restarts it. */
  static final class PipelineFailedException extends RuntimeException {
    PipelineFailedException(Throwable cause) {
      super("spill pipeline's stream stopped (" + cause + "); its requests were answered with failures and"
          + " its blocks unfrozen; the tier actor restarts with a new pipeline after backoff", cause);
    }
  }

  private final Setup setup;
  private final SpillPipeline pipeline;

  /**
   * The tier actor under the supervision it is meant to run with: restarted with backoff whenever it
   * fails (its pipeline's stream stopped, or anything else threw).
   */
  static Behavior<Command> supervised(Setup setup, ActorRef<TierStatus> listener) {
    return Behaviors.supervise(create(setup, listener)).onFailure(Exception.class,
        SupervisorStrategy.restartWithBackoff(setup.minBackoff(), setup.maxBackoff(), 0.2)
            .withResetBackoffAfter(setup.maxBackoff())
            .withLogLevel(Level.WARN));
  }

  /** The tier actor without supervision: a failure stops it (tests, and {@link #supervised}). */
  static Behavior<Command> create(Setup setup, ActorRef<TierStatus> listener) {
    return Behaviors.setup(ctx -> {
      int i = 0;
      for (Path dir : setup.directories()) {
        ctx.spawn(Behaviors.supervise(DirectoryActor.create(dir, setup.checkInterval(), listener, setup.io()))
            .onFailure(Exception.class, SupervisorStrategy.restartWithBackoff(setup.minBackoff(), setup.maxBackoff(),
                0.2)), "directory-" + i++);
      }
      SpillPipeline pipeline = setup.startPipeline().get();
      if (!setup.live().attach(pipeline)) {
        pipeline.closeAsync(); // Spillway is closing: nothing was or will be sent to it
        return Behaviors.stopped();
      }
      long restarts = setup.live().restarts();
      if (restarts > 0) {
        ctx.getLog().info("spill pipeline restarted (restart {} since Spillway started)", restarts);
      }
      return new TierActor(ctx, setup, pipeline);
    });
  }

  private TierActor(ActorContext<Command> ctx, Setup setup, SpillPipeline pipeline) {
    super(ctx);
    this.setup = setup;
    this.pipeline = pipeline;
    ctx.pipeToSelf(pipeline.whenStopped(), (done, failure) -> new PipelineStopped(pipeline, unwrap(failure)));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(PipelineStopped.class, this::onPipelineStopped)
        .onSignal(PreRestart.class, s -> giveUpPipeline())
        .onSignal(PostStop.class, s -> closePipeline())
        .build();
  }

  private Behavior<Command> onPipelineStopped(PipelineStopped stopped) {
    if (stopped.failure() == null) {
      return this; // closed: Spillway is closing, and stops this actor next
    }
    setup.live().detach(pipeline, stopped.failure());
    throw new PipelineFailedException(stopped.failure());
  }

  /** Before a restart: no request goes to this pipeline any more, and it stops (a no-op once stopped). */
  private Behavior<Command> giveUpPipeline() {
    setup.live().detach(pipeline, new PipelineClosedException("the tier actor restarts", null));
    pipeline.closeAsync();
    return this;
  }

  /**
   * Stopped: the pipeline stops taking requests and drains on its own; Spillway's close waits for
   * it through {@link LivePipeline#close()} before it closes the allocator.
   */
  private Behavior<Command> closePipeline() {
    pipeline.closeAsync();
    return this;
  }

  private static Throwable unwrap(Throwable t) {
    return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
  }
}
