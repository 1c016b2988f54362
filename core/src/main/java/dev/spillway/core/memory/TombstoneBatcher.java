package dev.spillway.core.memory;

import dev.spillway.core.tier.SegmentLog;

/**
 * Records of blocks that came back to RAM or were freed on the tier, dropped from the log's index in
 * batches. A dead record only holds disk space until compaction reclaims it, so it is not worth a log
 * operation of its own on the restore path: restores queue keys here (one array store under a lock, no
 * allocation) and spills and maintenance flush them.
 *
 * <p>The spill log is never recovered (it starts empty at every open), so a dead record needs no
 * tombstone on disk: forgetting it in the index is enough.
 */
final class TombstoneBatcher {
  /**
   * Dead records are flushed by spills once at least this many are queued (and all of them by
   * maintenance).
   */
  static final int BATCH = 1024;

  private final SegmentLog store;
  /** Keys waiting to be forgotten: {@code keys[0, count)}, guarded by {@code this}. */
  private long[] keys = new long[BATCH * 2];
  private int count;

  TombstoneBatcher(SegmentLog store) {
    this.store = store;
  }

  /** Queues the record {@code key} to be forgotten with the next flush. */
  synchronized void drop(long key) {
    if (count == keys.length) {
      keys = java.util.Arrays.copyOf(keys, count * 2);
    }
    keys[count++] = key;
  }

  /** Whether a batch is due. */
  synchronized boolean due() {
    return count >= BATCH;
  }

  /** Forgets every queued record; a failure leaves them queued for the next try. */
  void flush() {
    long[] batch;
    int n;
    synchronized (this) {
      if (count == 0) {
        return;
      }
      batch = keys;
      n = count;
      keys = new long[Math.max(BATCH * 2, n)];
      count = 0;
    }
    try {
      store.forget(batch, n);
    } catch (RuntimeException e) {
      // Not data: a record still in the index only holds disk space until the next flush.
      synchronized (this) {
        for (int i = 0; i < n; i++) {
          drop(batch[i]);
        }
      }
    }
  }
}
