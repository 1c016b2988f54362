package dev.spillway.streams.spill;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.DispatcherSelector;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

/**
 * The dispatcher Spillway's blocking work (encoding, segment writes and fsyncs, restores) runs on:
 * {@value #CONFIG_PATH} from this module's {@code reference.conf}, a small fixed thread pool, so file
 * I/O never occupies the threads that run actors and stream stages. A system whose configuration
 * lacks it (a shaded jar that dropped our {@code reference.conf}) gets Akka's blocking-I/O dispatcher.
 */
public final class IoDispatcher {
  /** Config path of the dispatcher. */
  public static final String CONFIG_PATH = "spillway.streams.io-dispatcher";

  private IoDispatcher() {}

  /** The executor of the I/O dispatcher of {@code system}. */
  public static Executor of(ActorSystem<?> system) {
    DispatcherSelector selector = system.settings().config().hasPath(CONFIG_PATH)
        ? DispatcherSelector.fromConfig(CONFIG_PATH)
        : DispatcherSelector.blocking();
    return system.dispatchers().lookup(selector);
  }

  /**
   * Runs {@code task} on {@code executor}; the stage completes with its result or fails with exactly
   * the exception it threw (unlike {@code supplyAsync}, which wraps it in a CompletionException that
   * a stream would then fail with).
   */
  public static <T> CompletionStage<T> supply(Supplier<T> task, Executor executor) {
    CompletableFuture<T> result = new CompletableFuture<>();
    try {
      executor.execute(() -> {
        try {
          result.complete(task.get());
        } catch (Throwable t) {
          result.completeExceptionally(t);
        }
      });
    } catch (RuntimeException rejected) {
      result.completeExceptionally(rejected); // the dispatcher is shutting down
    }
    return result;
  }
}
