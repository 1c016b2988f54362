package dev.spillway.core.memory;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Decides whether a spill tries its compressing codec. Running LZ4 over data that does not compress
 * costs as much CPU as compressing it and buys nothing (the record is stored raw), and on a machine
 * with few cores that CPU is what limits the spill rate. After {@link #MISSES_TO_BACK_OFF} records in
 * a row that did not pay, only one record in {@link #SAMPLE_EVERY} tries; the first that pays turns
 * every attempt back on. So incompressible data costs about 1/32 of the attempts, and data that
 * becomes compressible is noticed within 32 records. Thread-safe; races between spilling threads
 * only shift a sample by a record or two.
 */
public final class CompressionProbe {
  static final int MISSES_TO_BACK_OFF = 16;
  static final int SAMPLE_EVERY = 32;

  private final AtomicInteger misses = new AtomicInteger();
  private final AtomicLong skips = new AtomicLong();

  /** Whether the next record should try the compressing codec. */
  public boolean shouldTry() {
    return misses.get() < MISSES_TO_BACK_OFF || skips.incrementAndGet() % SAMPLE_EVERY == 0;
  }

  /**
   * Whether attempts are backed off now: the last {@link #MISSES_TO_BACK_OFF} records did not pay, so
   * encoding a record costs about what copying it does.
   */
  public boolean backedOff() {
    return misses.get() >= MISSES_TO_BACK_OFF;
  }

  /** What an attempt gave: {@code paid} when the codec's output was kept. */
  public void attempted(boolean paid) {
    if (paid) {
      misses.set(0);
    } else if (misses.get() < MISSES_TO_BACK_OFF) {
      misses.incrementAndGet();
    }
  }
}
