package dev.spillway.actors.control;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.Behaviors;
import dev.spillway.TierStatus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;

/**
 * One tier directory: checks it every {@code interval} (free space, segment files, whether it is
 * still a writable directory) and reports a {@link TierStatus} to {@code listener}. A check that fails in
 * an unexpected way throws, and the guardian's supervision restarts the actor with backoff; an I/O
 * problem it can name goes into the status instead.
 */
public final class TierActor {
  private TierActor() {}

  /** Messages a tier actor takes. */
  public sealed interface Command permits Check {}

  /** Check now (the timer sends it). */
  public enum Check implements Command { INSTANCE }

  public static Behavior<Command> create(Path directory, Duration interval, ActorRef<TierStatus> listener) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(Check.INSTANCE, Duration.ZERO, interval);
      return Behaviors.receive(Command.class)
          .onMessage(Check.class, c -> {
            listener.tell(check(directory));
            return Behaviors.same();
          })
          .build();
    }));
  }

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
