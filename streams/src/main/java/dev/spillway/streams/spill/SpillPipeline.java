package dev.spillway.streams.spill;

import akka.Done;
import akka.actor.typed.ActorSystem;
import akka.japi.Pair;
import akka.stream.BoundedSourceQueue;
import akka.stream.Materializer;
import akka.stream.QueueOfferResult;
import akka.stream.javadsl.Flow;
import akka.stream.javadsl.Keep;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import dev.spillway.config.SpillSettings;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.spi.PreparedSpill;
import dev.spillway.memory.SpillOutcome;
import dev.spillway.streams.spill.IoDispatcher;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The batched spill pipeline: one running Akka Streams graph per allocator.
 *
 * <pre>
 *  offer / spill ─▶ bounded queue ─▶ group (while encoders are busy) ─▶ prepare ×P (freeze, copy, LZ4)
 *     ─▶ groupedWeightedWithin(batch-bytes of payload, batch-delay) ─▶ write ×1 (one append, fsync per durability)
 *     ─▶ answer each request, in order (the write released the RAM of the blocks it spilled)
 * </pre>
 *
 * <p><b>Bounded, end to end.</b> At most {@code queue-size} requests are in flight (queued, encoding,
 * batching or being written); {@link #offer} beyond that is answered "full" at once
 * ({@link SpillQueueFullException}), and {@link #spill} waits for room without holding a thread, with
 * at most {@code queue-size} callers waiting. When the disk is slower than demand the stages
 * backpressure one another back to the queue, so memory held by encoded records is bounded by the
 * queue, the encoders and one batch.
 *
 * <p><b>Failure.</b> A batch whose append fails fails only its own requests: their blocks stay
 * resident and unchanged ({@link dev.spillway.memory.SpillFailedException}). The writer then
 * pauses before the next batch, from {@code restart.min-backoff} doubling up to
 * {@code restart.max-backoff}, and the pause resets after a batch succeeds. The stream itself never
 * fails on an I/O error: restarting the stage instead (Akka's {@code RestartFlow}) loses elements in
 * transit, and a lost element here is a frozen block nobody answers.
 *
 * <p><b>When the stream stops on its own.</b> A stage that fails in another way (an {@link Error}
 * from the write step, a bug) stops the stream, and so does the stream ending while not closed. Then
 * nothing is left hanging: every group of blocks frozen between the stages is abandoned (its blocks
 * go back to normal, resident and unchanged), every request taken is answered with a
 * {@link PipelineClosedException} whose cause is the failure (a group a stage is working on is
 * answered by that stage when it ends, after it unfroze its blocks), callers waiting for room are
 * refused, and every later request is refused at once. {@link #whenStopped()} says so; this
 * pipeline is then finished for good, and whoever owns it starts another (the {@code Spillway}
 * facade's tier actor does, with backoff).
 *
 * <p>Blocking work (encoding, writes, fsyncs) runs on {@link IoDispatcher}. Requests are answered in
 * the order they were taken. Thread-safe.
 */
public final class SpillPipeline implements SpillRequests, AutoCloseable {
  /** Most requests prepared as one group (one freeze and one wait for writers in flight). */
  static final int MAX_GROUP = 256;
  /** Bytes a record takes beyond its payload (the record header). */
  static final long RECORD_OVERHEAD = 48;
  /** Most time a request waits for others to share its group. */
  static final java.time.Duration GROUP_DELAY = java.time.Duration.ofMillis(1);
  /** How long {@link #close()} waits for the requests in flight to be written. */
  static final long CLOSE_WAIT_SECONDS = 120;

  private final BlockAllocator allocator;
  private final SpillSettings settings;
  private final BatchWriter writer;
  private final Executor io;
  private final Permits permits;
  private final BoundedSourceQueue<SpillRequest> queue;
  private final CompletionStage<Done> finished;
  private final Set<SpillRequest> inFlight = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;
  /** Completes when the stream has stopped and everything it held was answered (see {@link #whenStopped()}). */
  private final CompletableFuture<Done> stoppedStage = new CompletableFuture<>();

  /**
   * Guards the hand-over of prepared groups between the stages and the sweep that runs when the
   * stream stops: {@link #parked}, {@link #busy} and the writes of {@link #stopped}. Taken once per
   * group and stage, never per request.
   */
  private final Object transit = new Object();
  /** Prepared groups no stage works on (waiting in the batcher or behind a slower encoder). */
  private final Set<RequestGroup> parked = new HashSet<>();
  /** Groups a stage works on now (preparing, or writing and answering); that stage answers them. */
  private final Set<RequestGroup> busy = new HashSet<>();
  /** The stream has stopped (closed, failed or ended): nothing is taken or written any more. */
  private volatile boolean stopped;
  /** Why the stream stopped when it was not closed; null otherwise. */
  private volatile Throwable stopCause;

  private final PipelineCounters count = new PipelineCounters();
  /** Writer state: touched only by the one write in progress (the write stage runs one at a time). */
  private final WriteBackoff backoff;

  private SpillPipeline(BlockAllocator allocator, SpillSettings settings, ActorSystem<?> system, BatchWriter writer) {
    this.allocator = allocator;
    this.settings = settings;
    this.writer = writer;
    this.io = IoDispatcher.of(system);
    this.permits = new Permits(settings.queueSize(), settings.queueSize());
    this.backoff = new WriteBackoff(settings.minBackoff(), settings.maxBackoff());
    // A group is at most a quarter of a batch (so batches still close near batch-bytes) and at most
    // MAX_GROUP requests, or what arrived within GROUP_DELAY. (batchWeighted, which groups only while
    // the encoders are busy, measured slower: every full group was followed by a group of one, each
    // costing a hand-off to an encoder thread.)
    // Weights are in KiB, rounded up: a weight of 4 KiB blocks then boxes to a cached Long instead of
    // allocating one per request (the Akka stage takes a boxed cost).
    long groupKiB = Math.max(1, Math.min(4L << 10, settings.batchBytes() / 4 / 1024));
    long minCost = Math.max(1, groupKiB / MAX_GROUP);
    Pair<BoundedSourceQueue<SpillRequest>, CompletionStage<Done>> m = Source.<SpillRequest>queue(settings.queueSize())
        .via(Flow.<SpillRequest>create().groupedWeightedWithin(groupKiB, r -> Math.max(minCost, r.kib()), GROUP_DELAY)
            .map(RequestGroup::new))
        .mapAsync(settings.encodeParallelism(), g -> IoDispatcher.supply(() -> prepare(g), io))
        .groupedWeightedWithin(settings.batchBytes(), g -> Math.max(1L, g.payloadBytes()), settings.batchDelay())
        .mapAsync(1, this::write)
        .toMat(Sink.ignore(), Keep.both())
        .run(Materializer.matFromSystem(system));
    this.queue = m.first();
    this.finished = m.second().whenComplete((done, error) -> onStreamStopped(error));
  }

  /**
   * Starts the pipeline of {@code allocator} (which must have a tier) on {@code system}, bounded and
   * batched as {@code settings} say. Close it before the allocator.
   */
  public static SpillPipeline start(BlockAllocator allocator, SpillSettings settings, ActorSystem<?> system) {
    return start(allocator, settings, system, BatchWriter.ALLOCATOR);
  }

  static SpillPipeline start(BlockAllocator allocator, SpillSettings settings, ActorSystem<?> system,
      BatchWriter writer) {
    Objects.requireNonNull(allocator, "allocator");
    Objects.requireNonNull(settings, "settings");
    Objects.requireNonNull(system, "system");
    return new SpillPipeline(allocator, settings, system, writer);
  }

  /**
   * Queues a spill of {@code handle} if there is room. The stage completes with the block's
   * {@link SpillOutcome} once its batch is written (durable per {@code spillway.tier.durability}); it
   * fails at once with {@link SpillQueueFullException} when the pipeline is full, with
   * {@link dev.spillway.memory.InvalidHandleException} for a handle of no live block, with
   * {@link PipelineClosedException} after {@link #close()}, and later with
   * {@link dev.spillway.memory.SpillFailedException} when its batch cannot be written (the block
   * stays resident).
   */
  @Override
  public CompletionStage<SpillOutcome> offer(long handle) {
    SpillRequest r;
    try {
      r = request(handle);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    if (!permits.tryAcquire()) {
      if (closed || stopped) {
        return CompletableFuture.failedFuture(closedError());
      }
      count.rejectedFull.increment();
      return CompletableFuture.failedFuture(new SpillQueueFullException(settings.queueSize(), ""));
    }
    enqueue(r);
    return r.answer;
  }

  /**
   * Like {@link #offer}, but when the pipeline is full the stage waits (no thread is held) until a
   * request ahead of it is answered. At most {@code queue-size} callers wait; beyond that the answer is
   * {@link SpillQueueFullException}, so even a caller that never waits cannot make anything grow
   * without bound.
   */
  @Override
  public CompletionStage<SpillOutcome> spill(long handle) {
    SpillRequest r;
    try {
      r = request(handle);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    if (!admit(r)) {
      return CompletableFuture.failedFuture(closed || stopped ? closedError() : new SpillQueueFullException(
          settings.queueSize(), " and as many callers wait for room"));
    }
    return r.answer;
  }

  /**
   * {@link #spill} of each of {@code handles[from, from + count)}, answered together: the stage
   * completes once every block's request is answered, normally when each block was spilled or found
   * not spillable ({@link SpillOutcome}), and exceptionally with the first failure otherwise (an
   * invalid handle, a full or closed pipeline, a failed batch; any other failure outranks an invalid
   * handle, so a block freed meanwhile does not hide a failed write); the other blocks are still
   * spilled or left resident as their own requests say. The same bounds hold as for {@link #spill}, but nothing is
   * allocated per block beyond its request: this is the control plane's way to spill a round of cold
   * blocks.
   */
  @Override
  public CompletionStage<Void> spillAll(long[] handles, int from, int count) {
    Objects.checkFromIndexSize(from, count, handles.length);
    BulkAnswer bulk = new BulkAnswer(count);
    for (int i = from; i < from + count; i++) {
      SpillRequest r;
      try {
        r = request(handles[i], bulk);
      } catch (RuntimeException e) {
        bulk.arrive(e);
        continue;
      }
      if (!admit(r)) {
        bulk.arrive(closed || stopped ? closedError() : new SpillQueueFullException(settings.queueSize(),
            " and as many callers wait for room"));
      }
    }
    return bulk.done;
  }

  /**
   * Enqueues {@code r} now if a permit is free, or once one is released; false (counted as rejected)
   * when none is free and {@code queue-size} callers wait already.
   */
  private boolean admit(SpillRequest r) {
    if (permits.tryAcquire()) {
      enqueue(r); // the common case: no future to wait on
      return true;
    }
    CompletableFuture<Void> permit = permits.acquire();
    if (permit == null) {
      if (!closed && !stopped) {
        count.rejectedFull.increment();
      }
      return false;
    }
    // The answer reaches the caller through r; nothing waits on the stage whenComplete returns.
    var _ = permit.whenComplete((ok, error) -> {
      if (error != null) {
        count.failed.increment();
        r.fail(error);
      } else {
        enqueue(r);
      }
    });
    return true;
  }

  /** A snapshot of the counters. */
  @Override
  public PipelineStats stats() {
    return count.snapshot(permits.inUse());
  }

  /**
   * Stops taking requests and completes once every request taken has been answered (written, or
   * failed) and the stream has stopped. Callers waiting for room are answered with
   * {@link PipelineClosedException}. Idempotent.
   */
  public CompletionStage<Done> closeAsync() {
    if (!closed) {
      synchronized (this) {
        if (!closed) {
          closed = true;
          permits.close(closedError());
          if (!stopped) {
            try {
              queue.complete();
            } catch (IllegalStateException e) {
              // The stream ended on its own meanwhile: nothing left to complete.
            }
          }
        }
      }
    }
    return finished;
  }

  /**
   * {@link #closeAsync()}, waiting up to {@value #CLOSE_WAIT_SECONDS} s for the requests in flight;
   * any still unanswered then fail with {@link PipelineClosedException} (their blocks stay resident).
   */
  @Override
  public void close() {
    try {
      closeAsync().toCompletableFuture().get(CLOSE_WAIT_SECONDS, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      failOrphans(e, Set.of());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      failOrphans(e, Set.of());
    } catch (java.util.concurrent.ExecutionException e) {
      // The stream failed: its sweep answered every request already.
    }
  }

  /**
   * Completes once the stream has stopped and every request it took was answered (but those of a
   * stage still at work, which that stage answers when it ends): normally when it stopped because of
   * {@link #closeAsync()}; when it stopped on its own, exceptionally with a
   * {@link PipelineClosedException} whose cause is the failure of the stage that stopped it (none
   * when the stream ended while not closed). From then on every request is refused; the pipeline does
   * not come back.
   */
  public CompletionStage<Done> whenStopped() {
    return stoppedStage.minimalCompletionStage();
  }

  /**
   * Ends the stream as a bug would, without {@link #closeAsync()}: tests drive the sweep for a stream
   * that ends while not closed with it.
   */
  void endStreamWithoutClose() {
    queue.complete();
  }

  // ---- stages ------------------------------------------------------------------------------------

  private SpillRequest request(long handle) {
    return request(handle, null);
  }

  private SpillRequest request(long handle, BulkAnswer bulk) {
    if (closed || stopped) {
      throw closedError();
    }
    return new SpillRequest(handle, allocator.size(handle), bulk); // an invalid handle fails here, at once
  }

  private void enqueue(SpillRequest r) {
    inFlight.add(r);
    count.accepted.increment();
    QueueOfferResult result = queue.offer(r);
    if (!result.equals(QueueOfferResult.enqueued())) {
      // Only when closed (or the stream died): the permits keep the queue from overflowing.
      answer(r, null, result.equals(QueueOfferResult.dropped())
          ? new SpillQueueFullException(settings.queueSize(), "") : closedError());
    } else if (stopped) {
      // The stream stopped as this request went in: its sweep may have missed it, and no stage will
      // take it any more. (A no-op when the sweep answered it.)
      answer(r, null, closedError());
    }
  }

  /**
   * Stage one, on the I/O dispatcher: freeze and encode the group's blocks. A group prepared after
   * the stream stopped is abandoned here (nobody would write it); an {@link Error} from the
   * allocator answers the group's requests and then stops the stream.
   */
  private RequestGroup prepare(RequestGroup g) {
    synchronized (transit) {
      if (stopped) {
        return g; // the sweep answered its requests: it was no stage's yet
      }
      busy.add(g);
    }
    count.groups.increment();
    PreparedSpill p = null;
    Throwable failure = null;
    try {
      p = allocator.control().prepareSpill(g.handles(), 0, g.requests.size());
      g.pendingBefore = new boolean[g.requests.size()];
      for (int i = 0; i < g.pendingBefore.length; i++) {
        g.pendingBefore[i] = p.outcome(i) == null && p.failure(i) == null;
      }
    } catch (Throwable t) {
      failure = t;
    }
    boolean handedOn;
    synchronized (transit) {
      busy.remove(g);
      handedOn = failure == null && !stopped;
      if (handedOn) {
        g.prepared = p;
        parked.add(g);
      }
    }
    if (handedOn) {
      return g;
    }
    if (p != null) {
      StageFailures.abandon(p); // before the answers: whoever hears of it finds its block unfrozen
    }
    Throwable error = failure == null ? closedError() : failure instanceof RuntimeException ? failure
        : StageFailures.stageFailed(failure);
    for (SpillRequest r : g.requests) {
      answer(r, null, error);
    }
    if (failure != null && !(failure instanceof RuntimeException)) {
      throw StageFailures.rethrow(failure); // not a request's failure: the stream stops
    }
    return g;
  }

  /** Stage two: one append for the batch, after the pause a failure asked for. */
  private CompletionStage<Done> write(List<RequestGroup> batch) {
    long wait = backoff.remainingNanos();
    Executor on = wait > 0 ? CompletableFuture.delayedExecutor(wait, TimeUnit.NANOSECONDS, io) : io;
    return IoDispatcher.supply(() -> writeAndAnswer(batch), on);
  }

  /**
   * Takes the batch's prepared groups from the stage hand-over, writes them and answers their
   * requests. When the write step fails in a way that is not a failed batch (an {@link Error}, a bug
   * in answering), every group of the batch is abandoned and every request of it answered before the
   * failure stops the stream.
   */
  private Done writeAndAnswer(List<RequestGroup> batch) {
    List<RequestGroup> mine = new ArrayList<>(batch.size());
    synchronized (transit) {
      if (stopped) {
        return Done.getInstance(); // the sweep abandoned these groups and answered their requests
      }
      for (RequestGroup g : batch) {
        if (parked.remove(g)) { // groups whose preparation failed were answered then, and never parked
          mine.add(g);
        }
      }
      busy.addAll(mine);
    }
    try {
      return answerAll(writeNow(mine));
    } catch (Throwable t) {
      PipelineClosedException error = StageFailures.stageFailed(t);
      for (RequestGroup g : mine) {
        StageFailures.abandon(g.prepared); // a no-op for a group that was written
      }
      for (RequestGroup g : mine) {
        for (SpillRequest r : g.requests) {
          answer(r, null, error); // a no-op for a request answered already
        }
      }
      throw StageFailures.rethrow(t);
    } finally {
      synchronized (transit) {
        busy.removeAll(mine);
      }
    }
  }

  /** A batch after its write: the failure that failed its pending requests, or null. */
  private record Written(List<RequestGroup> batch, RuntimeException failure) {}

  private Written writeNow(List<RequestGroup> batch) {
    List<PreparedSpill> spills = new ArrayList<>(batch.size());
    long bytes = 0;
    for (RequestGroup g : batch) {
      if (g.prepared != null) {
        spills.add(g.prepared);
        bytes += g.prepared.storedBytes();
      }
    }
    RuntimeException failure = null;
    try {
      if (!spills.isEmpty()) {
        writer.write(allocator, spills);
      }
      backoff.succeeded();
      count.batchWritten(bytes);
    } catch (RuntimeException e) {
      failure = e;
      count.failedBatches.increment();
      count.backoffs.increment();
      backoff.failed();
      for (PreparedSpill p : spills) {
        p.abandon(); // a no-op when the allocator's write got as far as failing them itself
      }
    }
    return new Written(batch, failure);
  }

  /**
   * Answers every request of a written batch, in order, right after the write on the writer's thread:
   * a stage of its own would overlap the two but costs a thread hand-off per batch, which measured
   * slower on two cores. Answering frees permits, whose waiters enqueue their requests here.
   */
  private Done answerAll(Written written) {
    RuntimeException failure = written.failure();
    for (RequestGroup g : written.batch()) {
      if (g.prepared == null) {
        continue; // answered when its preparation failed
      }
      for (int i = 0; i < g.requests.size(); i++) {
        SpillRequest r = g.requests.get(i);
        RuntimeException error = g.prepared.failure(i);
        if (error == null && failure != null && g.pendingBefore[i]) {
          error = failure;
        }
        answer(r, error == null ? g.prepared.outcome(i) : null, error);
      }
    }
    return Done.getInstance();
  }

  private void answer(SpillRequest r, SpillOutcome outcome, Throwable error) {
    if (!inFlight.remove(r)) {
      return; // answered already (an orphan sweep raced us)
    }
    if (error != null) {
      count.failed.increment();
      permits.release();
      r.fail(error);
    } else {
      (outcome == SpillOutcome.SPILLED ? count.spilled : count.notSpilled).increment();
      permits.release();
      r.succeed(outcome);
    }
  }

  /**
   * The stream stopped (closed, failed, or ended while not closed): refuses what comes next,
   * abandons the prepared groups no stage holds (their blocks unfreeze), then answers every request
   * taken except those of groups a stage holds now, which that stage answers when it ends.
   */
  private void onStreamStopped(Throwable error) {
    Throwable failure = error;
    while (failure instanceof java.util.concurrent.ExecutionException && failure.getCause() != null) {
      failure = failure.getCause(); // Scala's futures box an Error a stage failed with
    }
    Throwable cause = failure != null ? failure : closed ? null
        : new PipelineClosedException("spill pipeline's stream ended although the pipeline was not closed");
    List<RequestGroup> abandon;
    Set<RequestGroup> working;
    synchronized (transit) {
      stopCause = cause;
      stopped = true;
      abandon = List.copyOf(parked);
      parked.clear();
      working = Set.copyOf(busy);
    }
    try {
      permits.close(closedError());
      for (RequestGroup g : abandon) {
        StageFailures.abandon(g.prepared);
      }
      failOrphans(cause, working);
    } finally {
      if (cause == null) {
        stoppedStage.complete(Done.getInstance());
      } else {
        stoppedStage.completeExceptionally(cause instanceof PipelineClosedException ? cause
            : new PipelineClosedException("spill pipeline's stream failed: " + cause, cause));
      }
    }
  }

  /**
   * Fails the requests still unanswered, except those of the groups in {@code skip} (their stage
   * answers them): after the stream stopped, or when {@link #close()} gave up waiting.
   */
  private void failOrphans(Throwable cause, Set<RequestGroup> skip) {
    for (SpillRequest r : List.copyOf(inFlight)) {
      if (r.group != null && skip.contains(r.group)) {
        continue;
      }
      answer(r, null, new PipelineClosedException("spill pipeline stopped before request for block "
          + Long.toHexString(r.handle) + " was written; the block stays resident", cause));
    }
  }

  /** Refusal of a request: closed, or stopped on its own (then with the reason as cause). */
  private PipelineClosedException closedError() {
    Throwable cause = stopCause;
    if (cause == null || closed) {
      return new PipelineClosedException("spill pipeline is closed: it takes no more requests");
    }
    return new PipelineClosedException("spill pipeline stopped after a failure (" + cause
        + "): it takes no more requests; the block was not queued and stays as it is", cause);
  }
}
