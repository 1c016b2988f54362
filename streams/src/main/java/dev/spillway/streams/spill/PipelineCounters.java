package dev.spillway.streams.spill;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/** The spill pipeline's counters, counted by whichever thread does the work; see {@link PipelineStats}. */
final class PipelineCounters {
  final LongAdder accepted = new LongAdder();
  final LongAdder rejectedFull = new LongAdder();
  final LongAdder spilled = new LongAdder();
  final LongAdder notSpilled = new LongAdder();
  final LongAdder failed = new LongAdder();
  final LongAdder groups = new LongAdder();
  final LongAdder failedBatches = new LongAdder();
  final LongAdder backoffs = new LongAdder();
  private final LongAdder batches = new LongAdder();
  private final LongAdder storedBytes = new LongAdder();
  private final AtomicLong largestBatch = new AtomicLong();

  /** A batch of {@code bytes} stored bytes was appended. */
  void batchWritten(long bytes) {
    batches.increment();
    storedBytes.add(bytes);
    largestBatch.accumulateAndGet(bytes, Math::max);
  }

  PipelineStats snapshot(int inFlight) {
    return new PipelineStats(inFlight, accepted.sum(), rejectedFull.sum(), spilled.sum(), notSpilled.sum(),
        failed.sum(), groups.sum(), batches.sum(), failedBatches.sum(), storedBytes.sum(), largestBatch.get(),
        backoffs.sum());
  }
}
