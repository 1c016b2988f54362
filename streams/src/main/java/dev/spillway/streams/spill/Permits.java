package dev.spillway.streams.spill;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Admission to the pipeline: {@code capacity} permits, one per request in flight, and at most
 * {@code maxWaiters} callers waiting (without a thread) for one. Nothing here grows without bound: a
 * caller beyond both limits is refused at once. Thread-safe.
 */
final class Permits {
  private final int capacity;
  private final int maxWaiters;
  private final ArrayDeque<CompletableFuture<Void>> waiters = new ArrayDeque<>();
  private int available;
  private boolean closed;

  Permits(int capacity, int maxWaiters) {
    this.capacity = capacity;
    this.maxWaiters = maxWaiters;
    this.available = capacity;
  }

  /** Takes a permit now; false when none is free (or closed). */
  synchronized boolean tryAcquire() {
    if (closed || available == 0) {
      return false;
    }
    available--;
    return true;
  }

  /**
   * A permit now or once one is released; null when none is free and {@code maxWaiters} callers wait
   * already. The future fails with {@code closedCause} when the pipeline closes first.
   */
  synchronized CompletableFuture<Void> acquire() {
    if (!closed && available > 0) {
      available--;
      return CompletableFuture.completedFuture(null);
    }
    if (closed || waiters.size() >= maxWaiters) {
      return null;
    }
    CompletableFuture<Void> f = new CompletableFuture<>();
    waiters.add(f);
    return f;
  }

  /** Returns a permit: to the first waiter, or to the pool. */
  void release() {
    release(1);
  }

  /**
   * Returns {@code n} permits at once (a group's answers): to the first waiters, the rest to the pool.
   * One lock for all of them.
   */
  void release(int n) {
    if (n <= 0) {
      return;
    }
    CompletableFuture<Void> first;
    List<CompletableFuture<Void>> more = List.of();
    synchronized (this) {
      first = waiters.poll();
      if (first == null) {
        available += n;
        return;
      }
      int handed = Math.min(n, waiters.size() + 1);
      if (handed > 1) {
        more = new ArrayList<>(handed - 1);
        for (int i = 1; i < handed; i++) {
          more.add(waiters.poll());
        }
      }
      available += n - handed;
    }
    first.complete(null); // outside the lock: the waiters' continuations run here
    for (CompletableFuture<Void> f : more) {
      f.complete(null);
    }
  }

  /** Refuses new callers and fails every waiter with {@code cause}. */
  void close(RuntimeException cause) {
    List<CompletableFuture<Void>> pending;
    synchronized (this) {
      closed = true;
      pending = List.copyOf(waiters);
      waiters.clear();
    }
    for (CompletableFuture<Void> f : pending) {
      f.completeExceptionally(cause);
    }
  }

  synchronized int inUse() {
    return capacity - available;
  }
}
