package dev.spillway.actors.control;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.javadsl.TimerScheduler;
import dev.spillway.TierStatus;
import dev.spillway.streams.spill.IoDispatcher;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * The health of one tier directory, a child of the {@link TierActor}: every {@code interval} (and
 * once at start) it checks free space, the segment files and whether the directory is still a
 * writable directory, and reports a {@link TierStatus} to {@code listener} (the guardian, for
 * {@code SpillwayStats}). The check is file-system I/O, so it runs on the I/O executor and its result
 * comes back as a message; one check at a time (a tick during a check is skipped). A problem the
 * check can name, and a check that throws, go into the status as its {@code problem}.
 */
final class DirectoryActor extends AbstractBehavior<DirectoryActor.Command> {
  sealed interface Command permits Check, Checked {}

  /** Check now (the timer sends it). */
  private enum Check implements Command { INSTANCE }

  /** A check's result, back from the I/O executor. */
  private record Checked(TierStatus status) implements Command {}

  private final Path directory;
  private final ActorRef<TierStatus> listener;
  private final Executor io;
  private final Function<Path, TierStatus> checker;
  private boolean checking;

  static Behavior<Command> create(Path directory, Duration interval, ActorRef<TierStatus> listener, Executor io) {
    return create(directory, interval, listener, io, DirectoryActor::check);
  }

  /** With the check as a parameter: tests see on which thread it runs. */
  static Behavior<Command> create(Path directory, Duration interval, ActorRef<TierStatus> listener, Executor io,
      Function<Path, TierStatus> checker) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
        new DirectoryActor(ctx, timers, interval, directory, listener, io, checker)));
  }

  private DirectoryActor(ActorContext<Command> ctx, TimerScheduler<Command> timers, Duration interval, Path directory,
      ActorRef<TierStatus> listener, Executor io, Function<Path, TierStatus> checker) {
    super(ctx);
    this.directory = directory;
    this.listener = listener;
    this.io = io;
    this.checker = checker;
    timers.startTimerWithFixedDelay(Check.INSTANCE, Duration.ZERO, interval);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Check.class, c -> onCheck())
        .onMessage(Checked.class, this::onChecked)
        .build();
  }

  private Behavior<Command> onCheck() {
    if (!checking) {
      checking = true;
      getContext().pipeToSelf(IoDispatcher.supply(() -> checker.apply(directory), io), (status, failure) ->
          new Checked(status != null ? status : new TierStatus(directory, 0, 0, 0, 0, "check failed: " + failure)));
    }
    return this;
  }

  private Behavior<Command> onChecked(Checked c) {
    checking = false;
    listener.tell(c.status());
    return this;
  }

  /** Checks {@code directory} on the calling thread (blocking file-system calls). */
  static TierStatus check(Path directory) {
    Path spill = directory.resolve("spill");
    try {
      var store = Files.getFileStore(directory);
      int segments = 0;
      long bytes = 0;
      if (Files.isDirectory(spill)) {
        try (Stream<Path> files = Files.list(spill)) {
          for (Path f : (Iterable<Path>) files::iterator) {
            if (f.getFileName().toString().endsWith(".spw")) {
              segments++;
              bytes += Files.size(f);
            }
          }
        }
      }
      String problem = !Files.isDirectory(directory) ? "not a directory"
          : !Files.isWritable(directory) ? "not writable" : "";
      return new TierStatus(directory, store.getUsableSpace(), store.getTotalSpace(), segments, bytes, problem);
    } catch (IOException e) {
      return new TierStatus(directory, 0, 0, 0, 0, e.toString());
    }
  }
}
