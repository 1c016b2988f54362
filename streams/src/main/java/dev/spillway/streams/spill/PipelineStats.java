package dev.spillway.streams.spill;

/**
 * A snapshot of the spill pipeline's counters since it started.
 *
 * @param inFlight requests taken and not yet answered (at most the queue size)
 * @param accepted requests taken
 * @param rejectedFull requests answered "full" (not taken)
 * @param spilled requests answered {@code SPILLED}
 * @param notSpilled requests answered with another outcome (already spilled, pinned, busy)
 * @param failed requests answered with an exception (invalid handle, failed batch, closed)
 * @param groups groups of requests prepared together (one freeze, one wait for writers in flight)
 * @param batches write batches appended
 * @param failedBatches write batches that failed (their requests failed, their blocks stayed resident)
 * @param storedBytes bytes appended to the tier by the batches, headers included
 * @param largestBatchBytes stored bytes of the largest batch
 * @param backoffs pauses the writer took after a failure
 */
public record PipelineStats(int inFlight, long accepted, long rejectedFull, long spilled, long notSpilled,
    long failed, long groups, long batches, long failedBatches, long storedBytes, long largestBatchBytes, long backoffs) {}
