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
 *
 * <p><b>Order.</b> Requests are enqueued in the order they were admitted or began to wait: a caller's
 * later request never overtakes its earlier one. While waiters handed a permit are being enqueued by
 * the releasing thread (outside this lock: enqueueing takes the collector's lock, which answering
 * holds while it releases), a new request may not take a free permit and enqueue itself ahead of
 * them: it waits behind them, and {@link #handedOff} admits it once they are in.
 */
final class Permits {
  /** What {@link #acquireOrWait} did with a request. */
  enum Admission { ADMITTED, WAITING, REFUSED }

  private final int capacity;
  private final int maxWaiters;
  private final ArrayDeque<SpillRequest> waiters = new ArrayDeque<>();
  private int available;
  /** Waiters handed a permit by a release and not yet enqueued by its caller ({@link #handedOff}). */
  private int handingOff;
  private boolean closed;

  Permits(int capacity, int maxWaiters) {
    this.capacity = capacity;
    this.maxWaiters = maxWaiters;
    this.available = capacity;
  }

  /** Takes a permit now; false when none is free (or closed). */
  synchronized boolean tryAcquire() {
    if (closed || available == 0 || handingOff > 0 || !waiters.isEmpty()) {
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
    if (available > 0 && handingOff == 0 && waiters.isEmpty()) {
      available--;
      return Admission.ADMITTED;
    }
    if (waiters.size() >= maxWaiters) {
      return Admission.REFUSED;
    }
    waiters.add(r);
    return Admission.WAITING;
  }

  /**
   * Returns {@code n} permits at once (a group's answers): to the first waiters, the rest to the pool.
   * One lock for all of them. Returns the waiting requests that now hold a permit, in the order they
   * came, for the caller to enqueue and then report with {@link #handedOff}.
   */
  List<SpillRequest> release(int n) {
    if (n <= 0) {
      return List.of();
    }
    synchronized (this) {
      available += n;
      return handOut();
    }
  }

  /**
   * The caller enqueued {@code n} requests a {@link #release} or an earlier call returned. Returns
   * the waiters admitted now that no hand-off is in progress (requests that began to wait during
   * it, while permits were free), to be enqueued and reported the same way; empty when none.
   */
  synchronized List<SpillRequest> handedOff(int n) {
    handingOff -= n;
    return handingOff == 0 ? handOut() : List.of();
  }

  /** Hands free permits to the first waiters; the caller holds the lock. */
  private List<SpillRequest> handOut() {
    if (closed || waiters.isEmpty() || available == 0) {
      return List.of();
    }
    int handed = Math.min(available, waiters.size());
    List<SpillRequest> admitted = new ArrayList<>(handed);
    for (int i = 0; i < handed; i++) {
      admitted.add(waiters.poll());
    }
    available -= handed;
    handingOff += handed;
    return admitted;
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
