package dev.spillway.core.memory;

import dev.spillway.memory.AllocatorClosedException;
import dev.spillway.memory.InvalidHandleException;
import dev.spillway.memory.SpillFailedException;
import dev.spillway.memory.SpillOutcome;
import dev.spillway.memory.spi.PreparedSpill;
import dev.spillway.memory.spi.SpillReport;
import dev.spillway.core.tier.EncodedRecord;
import java.util.Objects;

/**
 * The allocator's {@link PreparedSpill}: the requests, their outcomes, and the frozen blocks with
 * their encoded records, which {@link BlockMover} writes, commits or abandons.
 */
final class SpillGroup implements PreparedSpill {
  /** The outcomes by ordinal ({@code values()} would copy its array on every call). */
  private static final SpillOutcome[] OUTCOMES = SpillOutcome.values();
  /** Per request: still to be written (its block is frozen and encoded). */
  static final byte PENDING = -1;
  /** Per request: the handle was invalid; see {@link #failure(int)}. */
  static final byte INVALID = -2;
  /** Per request: the write of the batch failed; see {@link #failure(int)}. */
  static final byte FAILED = -3;

  enum State { PREPARED, WRITTEN, FAILED, ABANDONED }

  final long[] handles;
  /** Per request: an {@link SpillOutcome} ordinal, or one of the negative codes above. */
  final byte[] outcomes;
  final RuntimeException[] failures;
  /** The frozen blocks, their requests' indexes, and their encoded records, in the same order. */
  final MovedBlock[] frozen;
  final int[] frozenRequest;
  final EncodedRecord[] records;
  int frozenCount;
  long rawBytes;
  long storedBytes;
  /** Raw and stored bytes of the blocks the write committed. */
  long writtenRaw;
  long writtenStored;
  State state = State.PREPARED;
  /** Set by the mover: how {@link #abandon()} unfreezes the blocks. */
  BlockMover mover;

  SpillGroup(long[] handles, int from, int count) {
    this.handles = java.util.Arrays.copyOfRange(handles, from, from + count);
    this.outcomes = new byte[count];
    this.failures = new RuntimeException[count];
    this.frozen = new MovedBlock[count];
    this.frozenRequest = new int[count];
    this.records = new EncodedRecord[count];
  }

  /** Requests in the group. */
  @Override
  public int size() {
    return handles.length;
  }

  /** The handle of request {@code i}. */
  @Override
  public long handle(int i) {
    return handles[i];
  }

  /** Blocks waiting to be written. */
  @Override
  public int pendingBlocks() {
    return state == State.PREPARED ? frozenCount : 0;
  }

  /** Bytes the pending records take on the tier, headers included: the weight of a write batch. */
  @Override
  public long storedBytes() {
    return storedBytes;
  }

  /** Raw bytes of the pending blocks. */
  @Override
  public long rawBytes() {
    return rawBytes;
  }

  /**
   * What happened to request {@code i}: final once written ({@code SPILLED} or {@code BUSY} for a frozen
   * block, which is null before the write); null when it failed (see {@link #failure}).
   */
  @Override
  public SpillOutcome outcome(int i) {
    byte o = outcomes[i];
    return o >= 0 ? OUTCOMES[o] : null;
  }

  /**
   * Why request {@code i} failed: an {@link InvalidHandleException} (or {@link AllocatorClosedException})
   * for its handle, or the {@link SpillFailedException} of its batch; null when it did not.
   */
  @Override
  public RuntimeException failure(int i) {
    return failures[i];
  }

  /** The report of the group once written (counts of its outcomes). */
  @Override
  public SpillReport report() {
    int spilled = 0;
    int already = 0;
    int pinned = 0;
    int busy = 0;
    for (byte o : outcomes) {
      if (o < 0) {
        continue; // pending or failed
      }
      switch (OUTCOMES[o]) {
        case SPILLED -> spilled++;
        case ALREADY_SPILLED -> already++;
        case PINNED -> pinned++;
        case BUSY -> busy++;
      }
    }
    return new SpillReport(spilled, already, pinned, busy, writtenRaw, writtenStored);
  }

  /**
   * Gives the group up without writing it: every frozen block goes back to normal, resident and
   * unchanged, and the encoded records' memory is released. Idempotent; a no-op once written.
   */
  @Override
  public void abandon() {
    if (state != State.PREPARED) {
      return;
    }
    state = State.ABANDONED;
    Objects.requireNonNull(mover, "mover").spiller.abandon(this);
  }

  // The one place that encodes: outcomes holds a byte per request, an ordinal that OUTCOMES decodes.
  @SuppressWarnings("EnumOrdinal")
  void outcome(int i, SpillOutcome o) {
    outcomes[i] = (byte) o.ordinal();
  }

  void fail(int i, byte code, RuntimeException e) {
    outcomes[i] = code;
    failures[i] = e;
  }

  void releaseRecords() {
    for (int k = 0; k < frozenCount; k++) {
      if (records[k] != null) {
        records[k].release();
      }
    }
  }
}
