package dev.spillway.streams.bulk;

import akka.util.ByteString;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.PoolExhaustedException;
import dev.spillway.memory.SpillOutcome;
import dev.spillway.streams.spill.SpillRequests;
import dev.spillway.streams.spill.SpillQueueFullException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The state of one running ingestion: its blocks still in RAM, oldest first, and the spills it has
 * asked the pipeline for. It keeps the ingestion's RAM use at most {@code budget} bytes (or one chunk,
 * when a chunk is larger): once the blocks in RAM pass half the budget the oldest are handed to the
 * pipeline without waiting (their writes overlap the next chunks), and a chunk that does not fit waits
 * for those spills first. Called by one stream stage at a time (mapAsync with parallelism 1), so it
 * needs no lock; spill answers only touch the atomic counter.
 */
final class IngestWindow {
  private final BlockAllocator allocator;
  private final SpillRequests pipeline;
  private final long budget;
  private final ArrayDeque<long[]> resident = new ArrayDeque<>(); // {handle, size}, oldest first
  private long residentBytes;
  private final java.util.concurrent.atomic.AtomicLong spillingBytes = new java.util.concurrent.atomic.AtomicLong();
  private final List<CompletableFuture<?>> spilling = new ArrayList<>();
  private volatile Throwable lastSpillFailure;
  private long elements;

  IngestWindow(BlockAllocator allocator, SpillRequests pipeline, long budget) {
    this.allocator = allocator;
    this.pipeline = pipeline;
    this.budget = budget;
  }

  /** Stores {@code chunk} as a block once there is room; completes with its handle. */
  CompletionStage<Long> store(ByteString chunk) {
    long index = elements++;
    int n = chunk.size();
    if (n < 1 || n > allocator.maxBlockSize()) {
      return CompletableFuture.failedFuture(new IllegalArgumentException("element " + index + " is a chunk of " + n
          + " bytes: allowed 1 B to " + allocator.maxBlockSize() + " bytes (spillway.memory.max-block-size)"));
    }
    return makeRoom(n).thenCompose(v -> allocateOrSpill(chunk, index));
  }

  private CompletionStage<Long> allocateOrSpill(ByteString chunk, long index) {
    int n = chunk.size();
    long h;
    try {
      h = allocator.allocate(n);
    } catch (PoolExhaustedException e) {
      // The pool's own limit is tighter than our budget (or other users hold it): spill more of ours.
      if (resident.isEmpty() && spilling.isEmpty()) {
        Throwable cause = lastSpillFailure;
        IllegalStateException full = new IllegalStateException("element " + index + " (" + n + " bytes) cannot be"
            + " stored: the pool is full and this ingestion has no block left in RAM to spill"
            + (cause == null ? "" : "; the last spill failed: " + cause), e);
        return CompletableFuture.failedFuture(full);
      }
      spillOldest(Math.max(n, residentBytes / 2));
      return awaitSpills().thenCompose(v -> allocateOrSpill(chunk, index));
    }
    try {
      long offset = 0;
      for (ByteBuffer b : chunk.getByteBuffers()) {
        MemorySegment src = MemorySegment.ofBuffer(b);
        allocator.write(h, offset, src, 0, src.byteSize());
        offset += src.byteSize();
      }
    } catch (RuntimeException e) {
      allocator.free(h);
      return CompletableFuture.failedFuture(e);
    }
    resident.add(new long[] {h, n});
    residentBytes += n;
    if (residentBytes > budget / 2) {
      spillOldest(residentBytes - budget / 4); // ahead of need: the writes overlap the next chunks
    }
    return CompletableFuture.completedFuture(h);
  }

  /** Completes once a chunk of {@code n} bytes fits the budget beside the blocks still in RAM. */
  private CompletionStage<Void> makeRoom(long n) {
    if (residentBytes + spillingBytes.get() + n <= budget) {
      return CompletableFuture.completedFuture(null);
    }
    spillOldest(residentBytes + n - budget / 2);
    return awaitSpills();
  }

  /**
   * Hands the oldest blocks worth at least {@code bytes} to the pipeline; stops early (the block goes
   * back to the front) when the pipeline is full, so this never piles up requests of its own.
   */
  private void spillOldest(long bytes) {
    spilling.removeIf(CompletableFuture::isDone);
    long handed = 0;
    while (handed < bytes && !resident.isEmpty()) {
      long[] b = resident.poll();
      long size = b[1];
      CompletableFuture<SpillOutcome> f = pipeline.spill(b[0]).toCompletableFuture();
      if (f.isCompletedExceptionally() && f.exceptionNow() instanceof SpillQueueFullException) {
        resident.addFirst(b);
        return;
      }
      residentBytes -= size;
      handed += size;
      spillingBytes.addAndGet(size);
      spilling.add(f.whenComplete((outcome, error) -> {
        spillingBytes.addAndGet(-size);
        if (error != null) {
          lastSpillFailure = error; // the block stays resident and valid; the pool's limit has the last word
        }
      }));
    }
  }

  /** Completes when every spill asked for so far is answered (failures included: they stay resident). */
  private CompletionStage<Void> awaitSpills() {
    CompletableFuture<?>[] all = spilling.toArray(new CompletableFuture<?>[0]);
    spilling.clear();
    return CompletableFuture.allOf(all).handle((v, e) -> null);
  }
}
