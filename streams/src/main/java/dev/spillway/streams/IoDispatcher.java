package dev.spillway.streams;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.DispatcherSelector;
import java.util.concurrent.Executor;

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
}
