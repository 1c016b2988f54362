package dev.spillway.streams.spill;

import akka.Done;
import akka.actor.typed.ActorSystem;
import akka.japi.Pair;
import akka.stream.BoundedSourceQueue;
import akka.stream.Materializer;
import akka.stream.QueueOfferResult;
import akka.stream.javadsl.Keep;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import dev.spillway.config.SpillSettings;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.spi.PreparedSpill;
import dev.spillway.memory.SpillOutcome;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The batched spill pipeline: one running Akka Streams graph per allocator.
 *
 * <pre>
 *  offer / spill / spillAll ─▶ collector (groups of ≤ 1/4 batch, ≤ 256 requests, ≤ 1 ms) ─▶ bounded queue of groups
 *     ─▶ prepare ×P (freeze, copy, LZ4), or pass on to be spilled in place when encoding is cheap
 *     ─▶ groupedWeightedWithin(batch-bytes of payload, batch-delay) ─▶ write ×1 (freeze in-place groups, one append)
 *     ─▶ answer each request, in order (the write released the RAM of the blocks it spilled)
 * </pre>
 *
 * <p><b>Groups, not requests, go through the stream.</b> Requests are gathered into groups before the
 * stream: a request costs a lock and an array slot, and the stream, the hand-overs between threads, the
 * bookkeeping of what is in flight and the release of permits cost once per group.
 *
 * <p><b>Two ways through.</b> When encoding is work (LZ4 that pays), groups are frozen and encoded
 * into copies on {@code encode-parallelism} threads ahead of the one writer. When encoding costs about
 * a copy ({@code spillway.spill.codec = raw}, or LZ4 backed off because recent records did not
 * compress: {@link dev.spillway.memory.spi.AllocatorControl#spillEncodingIsCheap}), a copy ahead would
 * cost what it saves, so the group passes the encoders untouched and the writer freezes and encodes it
 * in place right before appending it, as the synchronous {@code spill(handles, from, count)} does
 * ({@link dev.spillway.memory.spi.AllocatorControl#prepareSpillInPlace}). The choice is made per group
 * and follows the data: a sampled LZ4 attempt that pays sends the next groups to the encoders again.
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
 * <p>Blocking work (encoding, writes) runs on {@link IoDispatcher}. Requests are answered in
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
  private final BoundedSourceQueue<RequestGroup> queue;
  private final CompletionStage<Done> finished;
  private volatile boolean closed;
  /** The collector's largest group, in KiB of requested bytes. */
  private final long groupKiB;
  private final ActorSystem<?> system;

  /**
   * Guards the collector: {@link #open}, {@link #openSeq}, {@link #collecting}, and the offer of a
   * sealed group to the queue (so groups enter the stream in the order their requests came).
   */
  private final Object collect = new Object();
  /** The group requests join now; null when none was started. */
  private RequestGroup open;
  /** Counts the groups started, so that a timer flushes only the group it was started for. */
  private long openSeq;
  /** False once the pipeline closed or the stream stopped: a request that comes later is refused. */
  private boolean collecting = true;
  /** Completes when the stream has stopped and everything it held was answered (see {@link #whenStopped()}). */
  private final CompletableFuture<Done> stoppedStage = new CompletableFuture<>();

  /**
   * Guards the hand-over of groups between the stages and the sweep that runs when the stream stops:
   * {@link #live}, {@link #busy} and the writes of {@link #stopped}. Taken once per group and stage,
   * never per request. Never held while taking {@link #collect}.
   */
  private final Object transit = new Object();
  /** Groups sealed and not answered yet: queued, being prepared, waiting for a batch, or being written. */
  private final Set<RequestGroup> live = new HashSet<>();
  /** Groups a stage works on now (preparing, or writing and answering); that stage answers them. */
  private final Set<RequestGroup> busy = new HashSet<>();
  /** The stream has stopped (closed, failed or ended): nothing is taken or written any more. */
  private volatile boolean stopped;
  /** Why the stream stopped when it was not closed; null otherwise. */
  private volatile Throwable stopCause;

  private final PipelineCounters count = new PipelineCounters();
  /** Writer state: touched only by the one write in progress (the write stage runs one at a time). */
  private final WriteBackoff backoff;
  private final SerialWriter serialWriter;
  /** The write step failed in a way that stops the stream: the batch waiting behind it is not written. */
  private volatile boolean writerBroken;

  private SpillPipeline(BlockAllocator allocator, SpillSettings settings, ActorSystem<?> system, BatchWriter writer) {
    this.allocator = allocator;
    this.settings = settings;
    this.writer = writer;
    this.system = system;
    this.io = IoDispatcher.of(system);
    this.permits = new Permits(settings.queueSize(), settings.queueSize());
    this.backoff = new WriteBackoff(settings.minBackoff(), settings.maxBackoff());
    this.serialWriter = new SerialWriter(io, backoff::remainingNanos);
    // A group is at most a quarter of a batch (so batches still close near batch-bytes) and at most
    // MAX_GROUP requests, or what arrived within GROUP_DELAY. (Grouping only while the encoders are
    // busy measured slower: every full group was followed by a group of one, each costing a hand-off
    // to an encoder thread.)
    this.groupKiB = Math.max(1, Math.min(4L << 10, settings.batchBytes() / 4 / 1024));
    // The queue holds groups; the permits bound the requests, and a group holds at least one.
    Pair<BoundedSourceQueue<RequestGroup>, CompletionStage<Done>> m = Source.<RequestGroup>queue(settings.queueSize())
        .mapAsync(settings.encodeParallelism(), this::toEncoders)
        .groupedWeightedWithin(settings.batchBytes(), g -> Math.max(1L, g.payloadBytes()), settings.batchDelay())
        .mapAsync(2, this::write) // the next batch waits in the serial writer: no gap between writes
        .mapAsync(1, this::answer)
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
   * allocated per block beyond its request (no future), the requests enter the collector up to a
   * group at a time under one lock, and the round is answered once: this is the control plane's way
   * to spill a round of cold blocks (the idle detector's and pressure rounds go through it).
   */
  @Override
  public CompletionStage<Void> spillAll(long[] handles, int from, int count) {
    Objects.checkFromIndexSize(from, count, handles.length);
    BulkAnswer bulk = new BulkAnswer(count);
    List<SpillRequest> ready = new ArrayList<>(Math.min(count, MAX_GROUP));
    for (int i = from; i < from + count; i++) {
      SpillRequest r;
      try {
        r = request(handles[i], bulk);
      } catch (RuntimeException e) {
        bulk.arrive(e);
        continue;
      }
      if (permits.tryAcquire()) {
        ready.add(r); // the common case: gathered, then added to the collector under one lock
        if (ready.size() == MAX_GROUP) {
          enqueueAll(ready);
        }
        continue;
      }
      enqueueAll(ready);
      if (!admit(r)) {
        bulk.arrive(closed || stopped ? closedError() : new SpillQueueFullException(settings.queueSize(),
            " and as many callers wait for room"));
      }
    }
    enqueueAll(ready);
    return bulk.done;
  }

  /**
   * Enqueues {@code r} now if a permit is free, or once one is released; false (counted as rejected)
   * when none is free and {@code queue-size} callers wait already.
   */
  private boolean admit(SpillRequest r) {
    switch (permits.acquireOrWait(r)) {
      case ADMITTED -> enqueue(r);
      case WAITING -> {
        // Enqueued by the answers that release a permit to it, or failed when the pipeline closes.
      }
      case REFUSED -> {
        if (!closed && !stopped) {
          count.rejectedFull.increment();
        }
        return false;
      }
    }
    return true;
  }

  /** Fails the requests that waited for a permit the pipeline will never give (it closed or stopped). */
  private void refuseWaiters() {
    List<SpillRequest> waiting = permits.close();
    if (waiting.isEmpty()) {
      return;
    }
    PipelineClosedException error = closedError();
    count.failed.add(waiting.size());
    for (SpillRequest r : waiting) {
      if (r.claim()) {
        r.fail(error);
      }
    }
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
          refuseWaiters();
          synchronized (collect) {
            if (collecting && open != null) {
              RequestGroup g = open;
              open = null;
              seal(g); // the last group goes in now, ahead of the end of the stream
            }
            collecting = false;
          }
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
      failOrphans(e, unanswered(), Set.of());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      failOrphans(e, unanswered(), Set.of());
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

  /**
   * Adds {@code r} (which holds a permit) to the collector's group; a group that is full goes to the
   * stream, and the first request of a group starts the timer that sends it after {@link #GROUP_DELAY}.
   */
  private void enqueue(SpillRequest r) {
    count.accepted.increment();
    long timerFor = -1;
    synchronized (collect) {
      if (collecting) {
        timerFor = addLocked(r, timerFor);
        r = null;
      }
    }
    if (r != null) {
      answer(r, null, closedError()); // closed, or the stream stopped, since the request was made
      return;
    }
    startTimer(timerFor);
  }

  /**
   * Adds {@code r} to the open group (opening one if none is), sealing the group once it is full;
   * the caller holds {@link #collect}. Returns the sequence of the group this caller opened and that
   * is still open (its timer is the caller's to start), given the one before this add, or -1.
   */
  private long addLocked(SpillRequest r, long timerFor) {
    long opened = timerFor;
    if (open == null) {
      open = new RequestGroup(MAX_GROUP);
      opened = ++openSeq;
    }
    open.add(r);
    if (open.size == MAX_GROUP || open.kib >= groupKiB) {
      RequestGroup full = open;
      open = null;
      seal(full);
      opened = -1;
    }
    return opened;
  }

  /** Starts the timer that sends group {@code seq} after {@link #GROUP_DELAY}; none for -1. */
  private void startTimer(long seq) {
    if (seq >= 0) {
      var _ = system.scheduler().scheduleOnce(GROUP_DELAY, () -> flush(seq), system.executionContext());
    }
  }

  /** {@link #enqueue} of each of {@code rs} (which hold permits), under one lock; clears {@code rs}. */
  private void enqueueAll(List<SpillRequest> rs) {
    if (rs.isEmpty()) {
      return;
    }
    count.accepted.add(rs.size());
    long timerFor = -1;
    boolean refused = false;
    synchronized (collect) {
      if (collecting) {
        for (SpillRequest r : rs) {
          timerFor = addLocked(r, timerFor);
        }
      } else {
        refused = true;
      }
    }
    if (refused) {
      Tally tally = new Tally();
      for (SpillRequest r : rs) {
        tally.answer(r, null, closedError());
      }
      tally.done();
    } else {
      startTimer(timerFor);
    }
    rs.clear();
  }

  /** The timer of group {@code seq}: sends it to the stream if it is still being gathered. */
  private void flush(long seq) {
    synchronized (collect) {
      if (collecting && open != null && openSeq == seq) {
        RequestGroup g = open;
        open = null;
        seal(g);
      }
    }
  }

  /**
   * Sends a gathered group to the stream (the caller holds {@link #collect}, so groups enter in
   * order). A group the stream refuses (it stopped meanwhile) is answered at once.
   */
  private void seal(RequestGroup g) {
    boolean taken;
    synchronized (transit) {
      taken = !stopped && live.add(g);
    }
    if (!taken) {
      answerAll(g, closedError());
      return;
    }
    QueueOfferResult result = queue.offer(g);
    if (!result.equals(QueueOfferResult.enqueued())) {
      // Only when the stream died: the permits keep the queue from overflowing.
      synchronized (transit) {
        live.remove(g);
      }
      answerAll(g, result.equals(QueueOfferResult.dropped())
          ? new SpillQueueFullException(settings.queueSize(), "") : closedError());
    }
  }

  /**
   * The encoders' stage: a group is prepared (frozen and encoded into copies) on the I/O dispatcher,
   * unless encoding is cheap now, in which case it goes on untouched to be spilled in place by the
   * writer, with no hand-off to another thread.
   */
  private CompletionStage<RequestGroup> toEncoders(RequestGroup g) {
    if (allocator.control().spillEncodingIsCheap()) {
      g.inPlace = true;
      return CompletableFuture.completedFuture(g);
    }
    return IoDispatcher.supply(() -> prepare(g), io);
  }

  /**
   * Stage one, on the I/O dispatcher: freeze and encode the group's blocks. A group prepared after
   * the stream stopped is abandoned here (nobody would write it); an {@link Error} from the
   * allocator answers the group's requests and then stops the stream.
   */
  private RequestGroup prepare(RequestGroup g) {
    synchronized (transit) {
      if (stopped || !live.contains(g)) {
        return g; // the sweep answered its requests: it was no stage's yet
      }
      busy.add(g);
    }
    count.groups.increment();
    PreparedSpill p = null;
    Throwable failure = null;
    try {
      p = allocator.control().prepareSpill(g.handles(), 0, g.size);
      g.pendingBefore = pendingOf(p);
    } catch (Throwable t) {
      failure = t;
    }
    boolean handedOn;
    synchronized (transit) {
      busy.remove(g);
      handedOn = failure == null && !stopped;
      if (handedOn) {
        g.prepared = p;
      } else {
        live.remove(g);
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
    answerAll(g, error);
    if (failure != null && !(failure instanceof RuntimeException)) {
      throw StageFailures.rethrow(failure); // not a request's failure: the stream stops
    }
    return g;
  }

  /**
   * Stage two: one append for the batch, after the pause a failure asked for. Batches run one at a
   * time and in order on the serial writer; the stage lets a second one wait there, so the writer goes
   * from one batch to the next without waiting for the stream.
   */
  private CompletionStage<List<RequestGroup>> write(List<RequestGroup> batch) {
    return serialWriter.submit(() -> writeBatch(batch));
  }

  /**
   * Takes the batch's groups from the stage hand-over, freezes those spilled in place, and writes
   * them; returns the groups written (or failed), for the answer stage. When the write step fails in
   * a way that is not a failed batch (an {@link Error}, a bug), every group of the batch is abandoned
   * and every request of it answered before the failure stops the stream.
   */
  private List<RequestGroup> writeBatch(List<RequestGroup> batch) {
    List<RequestGroup> mine = new ArrayList<>(batch.size());
    synchronized (transit) {
      if (stopped || writerBroken) {
        // The sweep abandoned these groups and answered their requests, or will: a write step that
        // broke stops the stream, and nothing is written after it.
        return List.of();
      }
      for (RequestGroup g : batch) {
        if (live.contains(g)) { // groups whose preparation failed were answered then, and left
          mine.add(g);
        }
      }
      busy.addAll(mine);
    }
    boolean failed = true;
    try {
      prepareInPlace(mine);
      writeNow(mine);
      failed = false;
      return mine;
    } catch (Throwable t) {
      writerBroken = true;
      PipelineClosedException error = StageFailures.stageFailed(t);
      for (RequestGroup g : mine) {
        if (g.prepared != null) {
          StageFailures.abandon(g.prepared); // a no-op for a group that was written
        }
      }
      for (RequestGroup g : mine) {
        answerAll(g, error); // a no-op for the requests answered already
      }
      throw StageFailures.rethrow(t);
    } finally {
      synchronized (transit) {
        busy.removeAll(mine); // written: whoever answers now answers with the outcomes of the write
        if (failed) {
          mine.forEach(live::remove);
        }
      }
    }
  }

  /**
   * Stage three: answers the requests of a written batch, in order, on the I/O dispatcher while the
   * writer goes on with the next batch (answering costs about a fifth of a write of 4 KiB blocks).
   * Answering frees permits (once per group), whose waiters enqueue their requests here.
   */
  private CompletionStage<Done> answer(List<RequestGroup> written) {
    if (written.isEmpty()) {
      return CompletableFuture.completedFuture(Done.getInstance());
    }
    return IoDispatcher.supply(() -> answerBatch(written), io);
  }

  private Done answerBatch(List<RequestGroup> written) {
    List<RequestGroup> mine = new ArrayList<>(written.size());
    synchronized (transit) {
      for (RequestGroup g : written) {
        if (live.contains(g) && !busy.contains(g)) { // else the sweep answered it
          mine.add(g);
        }
      }
      busy.addAll(mine);
    }
    try {
      for (RequestGroup g : mine) {
        answerWritten(g);
      }
      return Done.getInstance();
    } catch (Throwable t) {
      PipelineClosedException error = StageFailures.stageFailed(t);
      for (RequestGroup g : mine) {
        answerAll(g, error); // a no-op for the requests answered already
      }
      throw StageFailures.rethrow(t);
    } finally {
      synchronized (transit) {
        busy.removeAll(mine);
        mine.forEach(live::remove);
      }
    }
  }

  /**
   * Freezes and encodes the batch's in-place groups, without copies, right before their write on this
   * thread (see {@link dev.spillway.memory.spi.AllocatorControl#prepareSpillInPlace}). A group whose
   * preparation fails (the allocator closed) is answered with the failure and not written.
   */
  private void prepareInPlace(List<RequestGroup> batch) {
    for (RequestGroup g : batch) {
      if (!g.inPlace) {
        continue;
      }
      count.groups.increment();
      try {
        PreparedSpill p = allocator.control().prepareSpillInPlace(g.handles(), 0, g.size);
        g.pendingBefore = pendingOf(p);
        g.prepared = p;
      } catch (RuntimeException e) {
        answerAll(g, e);
      }
    }
  }

  /** Per request of {@code p}: frozen and encoded, waiting for the write. */
  private static boolean[] pendingOf(PreparedSpill p) {
    boolean[] pending = new boolean[p.size()];
    for (int i = 0; i < pending.length; i++) {
      pending[i] = p.outcome(i) == null && p.failure(i) == null;
    }
    return pending;
  }

  /** Writes the batch's prepared groups in one append; each group records how its write went. */
  private void writeNow(List<RequestGroup> batch) {
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
    for (RequestGroup g : batch) {
      g.writeFailure = failure;
      g.written = true;
    }
  }

  /**
   * Answers every request of a written group with its outcome (or its failure, or the failure of the
   * write that failed it); those answered already stay as they are.
   */
  private void answerWritten(RequestGroup g) {
    if (g.prepared == null) {
      return; // answered when its preparation failed
    }
    RuntimeException failure = g.writeFailure;
    Tally tally = new Tally();
    for (int i = 0; i < g.size; i++) {
      SpillRequest r = g.requests[i];
      RuntimeException error = g.prepared.failure(i);
      if (error == null && failure != null && g.pendingBefore[i]) {
        error = failure;
      }
      tally.answer(r, error == null ? g.prepared.outcome(i) : null, error);
    }
    tally.done();
  }

  /** Answers every request of {@code g} with {@code error} (those answered already stay as they are). */
  private void answerAll(RequestGroup g, Throwable error) {
    Tally tally = new Tally();
    for (int i = 0; i < g.size; i++) {
      tally.answer(g.requests[i], null, error);
    }
    tally.done();
  }

  private void answer(SpillRequest r, SpillOutcome outcome, Throwable error) {
    Tally tally = new Tally();
    tally.answer(r, outcome, error);
    tally.done();
  }

  /**
   * The answers of a group: each request answered once (whoever claims it first); the counters and
   * the permits are updated once for all of them, before any answer is given (a caller who hears its
   * answer finds it counted).
   */
  private final class Tally {
    private final List<SpillRequest> claimed = new ArrayList<>();
    private final List<Object> answers = new ArrayList<>(); // an outcome or a Throwable per request
    private int spilled;
    private int notSpilled;
    private int failed;

    void answer(SpillRequest r, SpillOutcome outcome, Throwable error) {
      if (!r.claim()) {
        return; // answered already (an orphan sweep raced us)
      }
      claimed.add(r);
      if (error != null) {
        failed++;
        answers.add(error);
      } else {
        if (outcome == SpillOutcome.SPILLED) {
          spilled++;
        } else {
          notSpilled++;
        }
        answers.add(outcome);
      }
    }

    /**
     * Counts the answers, releases their permits (to waiters first, who may enqueue here), then
     * answers.
     */
    void done() {
      if (spilled > 0) {
        count.spilled.add(spilled);
      }
      if (notSpilled > 0) {
        count.notSpilled.add(notSpilled);
      }
      if (failed > 0) {
        count.failed.add(failed);
      }
      // Waiters that now hold a permit, enqueued under one lock; then those that began to wait
      // while these were being enqueued (Permits: a later request never overtakes an earlier one).
      for (List<SpillRequest> admitted = permits.release(claimed.size()); !admitted.isEmpty(); ) {
        int n = admitted.size();
        try {
          enqueueAll(new ArrayList<>(admitted));
        } finally {
          admitted = permits.handedOff(n);
        }
      }
      for (int i = 0; i < claimed.size(); i++) {
        if (answers.get(i) instanceof Throwable t) {
          claimed.get(i).fail(t);
        } else {
          claimed.get(i).succeed((SpillOutcome) answers.get(i));
        }
      }
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
    RequestGroup gathering;
    List<RequestGroup> abandon = new ArrayList<>();
    Set<RequestGroup> working;
    synchronized (collect) {
      collecting = false; // before stopped: a group sealed until now is in live for the sweep below
      gathering = open;
      open = null;
    }
    synchronized (transit) {
      stopCause = cause;
      stopped = true;
      for (RequestGroup g : live) {
        if (!busy.contains(g)) {
          abandon.add(g);
        }
      }
      live.removeAll(abandon);
      working = Set.copyOf(busy);
    }
    try {
      refuseWaiters();
      for (RequestGroup g : abandon) {
        if (g.prepared != null && !g.written) {
          StageFailures.abandon(g.prepared);
        }
      }
      if (gathering != null) {
        abandon.add(gathering);
      }
      failOrphans(cause, abandon, working);
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
   * Fails the requests of {@code groups}, except those of the groups in {@code skip} (their stage
   * answers them): after the stream stopped, or when {@link #close()} gave up waiting.
   */
  private void failOrphans(Throwable cause, Collection<RequestGroup> groups, Set<RequestGroup> skip) {
    for (RequestGroup g : groups) {
      if (skip.contains(g)) {
        continue;
      }
      if (g.written) {
        answerWritten(g); // its write is over: its outcomes are final
        continue;
      }
      Tally tally = new Tally();
      for (int i = 0; i < g.size; i++) {
        SpillRequest r = g.requests[i];
        tally.answer(r, null, new PipelineClosedException("spill pipeline stopped before request for block "
            + Long.toHexString(r.handle) + " was written; the block stays resident", cause));
      }
      tally.done();
    }
  }

  /** Every group holding requests not answered yet: the one being gathered, and those sealed. */
  private List<RequestGroup> unanswered() {
    List<RequestGroup> all = new ArrayList<>();
    synchronized (collect) {
      if (open != null) {
        all.add(open);
      }
    }
    synchronized (transit) {
      all.addAll(live);
    }
    return all;
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
