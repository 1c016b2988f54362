package dev.spillway.streams.spill;

/**
 * The spill pipeline already holds {@code spillway.spill.pipeline.queue-size} requests: the request was
 * not taken, and its block is untouched. Back off, or use a call that waits for room.
 */
public final class SpillQueueFullException extends RuntimeException {
  private final int capacity;

  SpillQueueFullException(int capacity, String what) {
    super("spill pipeline is full: " + capacity + " requests in flight (spillway.spill.pipeline.queue-size)"
        + what + "; the block was not queued and stays as it is. Retry later, or raise queue-size");
    this.capacity = capacity;
  }

  /** Requests the pipeline holds at most. */
  public int capacity() {
    return capacity;
  }
}
