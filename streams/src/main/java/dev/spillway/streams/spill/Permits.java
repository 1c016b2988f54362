package dev.spillway.streams.spill;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Admission to the pipeline: {@code capacity} permits, one per request in flight, and at most
 * {@code maxWaiters} requests waiting (without a thread) for one. Nothing here grows without bound: a
 * request beyond both limits is refused at once. A waiting request is kept itself, not a future of
 * its own: a release hands permits to the first waiters and returns them, for the caller to enqueue
 * all at once. Thread-safe.
 */
final class Permits {
  /** What {@link #acquireOrWait} did with a request. */
  enum Admission { ADMITTED, WAITING, REFUSED }

  private final int capacity;
  private final int maxWaiters;
  private final ArrayDeque<SpillRequest> waiters = new ArrayDeque<>();
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
   * A permit for {@code r} now ({@code ADMITTED}), or {@code r} waits for one ({@code WAITING}: a later
   * {@link #release} hands it one); {@code REFUSED} when closed, or when none is free and
   * {@code maxWaiters} requests wait already.
   */
  synchronized Admission acquireOrWait(SpillRequest r) {
    if (closed) {
      return Admission.REFUSED;
    }
    if (available > 0) {
      available--;
      return Admission.ADMITTED;
    }
    if (waiters.size() >= maxWaiters) {
      return Admission.REFUSED;
    }
    waiters.add(r);
    return Admission.WAITING;
  }

  /** Returns a permit: to the first waiter, or to the pool; returns the request it admitted, or null. */
  SpillRequest release() {
    List<SpillRequest> admitted = release(1);
    return admitted.isEmpty() ? null : admitted.getFirst();
  }

  /**
   * Returns {@code n} permits at once (a group's answers): to the first waiters, the rest to the pool.
   * One lock for all of them. Returns the waiting requests that now hold a permit, in the order they
   * came, for the caller to enqueue.
   */
  List<SpillRequest> release(int n) {
    if (n <= 0) {
      return List.of();
    }
    synchronized (this) {
      if (waiters.isEmpty()) {
        available += n;
        return List.of();
      }
      int handed = Math.min(n, waiters.size());
      List<SpillRequest> admitted = new ArrayList<>(handed);
      for (int i = 0; i < handed; i++) {
        admitted.add(waiters.poll());
      }
      available += n - handed;
      return admitted;
    }
  }

  /** Refuses new requests; returns the waiting ones, which will never get a permit. */
  synchronized List<SpillRequest> close() {
    closed = true;
    List<SpillRequest> pending = List.copyOf(waiters);
    waiters.clear();
    return pending;
  }

  synchronized int inUse() {
    return capacity - available;
  }
}
