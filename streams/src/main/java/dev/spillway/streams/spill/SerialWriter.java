package dev.spillway.streams.spill;

import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Runs the writer's batches one at a time, in the order they were submitted, on the I/O dispatcher,
 * with no gap between them: the thread that finishes a batch takes the next one already waiting,
 * instead of the stream handing each batch over once the previous one completed (two thread wake-ups
 * per batch). Before each batch it waits, without holding a thread, for the pause {@code pause}
 * asks for (the writer's backoff after a failed batch). Thread-safe.
 */
final class SerialWriter {
  private final Executor io;
  private final LongSupplier pause;
  private final ArrayDeque<Task<?>> tasks = new ArrayDeque<>();
  /** A thread runs (or a pause holds) the queue: only it takes tasks. */
  private boolean running;

  SerialWriter(Executor io, LongSupplier pauseNanos) {
    this.io = io;
    this.pause = pauseNanos;
  }

  /** Runs {@code task} after every task submitted before it; the stage completes as {@code task} does. */
  <T> CompletableFuture<T> submit(Supplier<T> task) {
    Task<T> t = new Task<>(task);
    synchronized (this) {
      tasks.add(t);
      if (running) {
        return t.result;
      }
      running = true;
    }
    start(io);
    return t.result;
  }

  /** A batch to write and the stage it completes. */
  private static final class Task<T> {
    final Supplier<T> work;
    final CompletableFuture<T> result = new CompletableFuture<>();

    Task(Supplier<T> work) {
      this.work = work;
    }

    void run() {
      try {
        result.complete(work.get());
      } catch (Throwable t) {
        result.completeExceptionally(t);
      }
    }
  }

  private void start(Executor on) {
    try {
      on.execute(this::drain);
    } catch (RuntimeException rejected) {
      // The dispatcher is shutting down: fail what waits, so no stage waits forever.
      failAll(rejected);
    }
  }

  private void drain() {
    for (;;) {
      long wait = pause.getAsLong();
      if (wait > 0) {
        start(CompletableFuture.delayedExecutor(wait, TimeUnit.NANOSECONDS, io)); // still running
        return;
      }
      Task<?> next;
      synchronized (this) {
        next = tasks.poll();
        if (next == null) {
          running = false;
          return;
        }
      }
      next.run();
    }
  }

  private void failAll(RuntimeException cause) {
    for (;;) {
      Task<?> next;
      synchronized (this) {
        next = tasks.poll();
        if (next == null) {
          running = false;
          return;
        }
      }
      next.result.completeExceptionally(cause);
    }
  }
}
