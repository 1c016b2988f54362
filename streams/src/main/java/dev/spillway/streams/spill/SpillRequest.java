package dev.spillway.streams.spill;

import dev.spillway.memory.SpillOutcome;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.CompletableFuture;

/**
 * One spill request: a handle, its block's size (the group weight), and where its answer goes: a
 * future of its own, or its share of a {@link BulkAnswer}. Answered exactly once, whoever gets there
 * first (its stage, or the sweep after the stream stopped).
 */
final class SpillRequest {
  private static final VarHandle ANSWERED;

  static {
    try {
      ANSWERED = MethodHandles.lookup().findVarHandle(SpillRequest.class, "answered", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  final long handle;
  final long size;
  final CompletableFuture<SpillOutcome> answer;
  final BulkAnswer bulk;
  /** 1 once answered; set through {@link #ANSWERED} only. */
  @SuppressWarnings("UnusedVariable") // written and read through the VarHandle
  private volatile int answered;

  SpillRequest(long handle, long size, BulkAnswer bulk) {
    this.handle = handle;
    this.size = size;
    this.bulk = bulk;
    this.answer = bulk == null ? new CompletableFuture<>() : null;
  }

  /** The group weight: KiB, rounded up. */
  long kib() {
    return (size + 1023) >>> 10;
  }

  /** Claims the answer: true for the one caller that may answer, false once answered. */
  boolean claim() {
    return ANSWERED.compareAndSet(this, 0, 1);
  }

  void succeed(SpillOutcome outcome) {
    if (bulk != null) {
      bulk.arrive(null);
    } else {
      answer.complete(outcome);
    }
  }

  void fail(Throwable error) {
    if (bulk != null) {
      bulk.arrive(error);
    } else {
      answer.completeExceptionally(error);
    }
  }
}
