package dev.spillway.memory.spi;

import dev.spillway.memory.AllocatorClosedException;
import dev.spillway.memory.InvalidHandleException;
import dev.spillway.memory.SpillFailedException;
import dev.spillway.memory.SpillOutcome;

/**
 * A group of spill requests between the two stages of a pipelined spill
 * ({@link AllocatorControl#prepareSpill} and {@link AllocatorControl#writeSpills}): its blocks are
 * frozen and their records encoded into memory of their own, waiting to be appended. Any access to
 * one of them meanwhile keeps that block resident (the record is discarded at the write). A prepared
 * spill must end in exactly one {@code writeSpills} or {@link #abandon()}; until then its blocks' RAM
 * is not released. Not thread-safe: hand it from stage to stage, not to two threads at once.
 */
public interface PreparedSpill {
  /** Requests in the group. */
  int size();

  /** The handle (or reference) of request {@code i}. */
  long handle(int i);

  /** Blocks waiting to be written. */
  int pendingBlocks();

  /** Bytes the pending records take on the tier, headers included: the weight of a write batch. */
  long storedBytes();

  /** Raw bytes of the pending blocks. */
  long rawBytes();

  /**
   * What happened to request {@code i}: final once written ({@code SPILLED} or {@code BUSY} for a frozen
   * block, which is null before the write); null when it failed (see {@link #failure}).
   */
  SpillOutcome outcome(int i);

  /**
   * Why request {@code i} failed: an {@link InvalidHandleException} (or {@link AllocatorClosedException})
   * for its handle, or the {@link SpillFailedException} of its batch; null when it did not.
   */
  RuntimeException failure(int i);

  /** The report of the group once written (counts of its outcomes). */
  SpillReport report();

  /**
   * Gives the group up without writing it: every frozen block goes back to normal, resident and
   * unchanged, and the encoded records' memory is released. Idempotent; a no-op once written.
   */
  void abandon();
}
