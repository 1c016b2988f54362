package dev.spillway.streams.spill;

import dev.spillway.memory.SpillOutcome;
import java.util.concurrent.CompletionStage;

/**
 * Where spill requests go: a {@link SpillPipeline}, or something that hands each request to the
 * pipeline running now (the {@code Spillway} facade restarts its pipeline when the stream fails, and
 * whatever holds this interface keeps working through the restart). Bulk ingestion
 * ({@link dev.spillway.streams.bulk.Ingest}) takes one. Every method is thread-safe and answers
 * without blocking; see {@link SpillPipeline} for what each answer means.
 */
public interface SpillRequests {
  /** {@link SpillPipeline#offer}: queued if there is room, "full" at once otherwise. */
  CompletionStage<SpillOutcome> offer(long handle);

  /** {@link SpillPipeline#spill}: waits (without a thread) for room, with a bounded number of callers waiting. */
  CompletionStage<SpillOutcome> spill(long handle);

  /** {@link SpillPipeline#spillAll}: a round of blocks, answered together. */
  CompletionStage<Void> spillAll(long[] handles, int from, int count);

  /** The counters of the requests taken so far. */
  PipelineStats stats();
}
