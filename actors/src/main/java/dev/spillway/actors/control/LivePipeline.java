package dev.spillway.actors.control;

import dev.spillway.memory.SpillOutcome;
import dev.spillway.streams.spill.PipelineClosedException;
import dev.spillway.streams.spill.PipelineStats;
import dev.spillway.streams.spill.SpillPipeline;
import dev.spillway.streams.spill.SpillRequests;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The spill pipeline running now, for everything that sends spill requests: the facade's
 * {@code spillAsync}, bulk ingestion (also a stream materialized before a restart), the idle
 * detector's rounds. The {@link TierActor} owns the pipelines: it {@link #attach attaches} each one
 * it starts and {@link #detach detaches} one whose stream stopped, so a request always goes to the
 * live pipeline. Between a failure and the restart (the supervisor's backoff) a request fails at once
 * with a {@link PipelineClosedException} saying the pipeline is restarting; nothing waits for it.
 *
 * <p>{@link #stats()} adds up every pipeline this one has had, so the counters never go back when a
 * new pipeline starts from zero; {@link #restarts()} counts the pipelines started after the first.
 * {@link #close()} is Spillway's: after it no pipeline attaches any more (a tier actor restarting at
 * that moment closes the one it started), and it returns once every pipeline has stopped, so the
 * allocator can close after it. Thread-safe.
 */
public final class LivePipeline implements SpillRequests, AutoCloseable {
  private static final PipelineStats NONE = new PipelineStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

  private final Object lock = new Object();
  /** The pipeline requests go to; null before the first start and while a restart is pending. */
  private volatile SpillPipeline current;
  /** Why the last pipeline stopped, while no other has replaced it yet. */
  private volatile Throwable restartingAfter;
  private volatile boolean closed;
  /** Pipelines detached whose streams have not stopped yet (guarded by {@link #lock}). */
  private final List<SpillPipeline> stopping = new ArrayList<>();
  /** The counters of every pipeline stopped and detached (guarded by {@link #lock}). */
  private PipelineStats retired = NONE;
  /** Pipelines attached (guarded by {@link #lock}). */
  private long starts;
  private final CompletableFuture<Void> firstStart = new CompletableFuture<>();

  /**
   * Makes {@code pipeline} the live one. False once {@link #close()} ran: the caller closes the
   * pipeline it started, and nothing is sent to it.
   */
  boolean attach(SpillPipeline pipeline) {
    SpillPipeline replaced;
    synchronized (lock) {
      if (closed) {
        return false;
      }
      replaced = current != pipeline ? current : null;
      if (replaced != null) {
        stopping.add(replaced); // not expected (the tier actor detaches first), but not lost either
      }
      starts++;
      current = pipeline;
      restartingAfter = null;
    }
    if (replaced != null) {
      replaced.whenStopped().whenComplete((done, error) -> retire(replaced));
    }
    firstStart.complete(null);
    return true;
  }

  /**
   * Stops sending requests to {@code pipeline}, which stopped (or is being given up) because of
   * {@code cause}; a no-op when it is not the live one. Its counters join {@link #stats()}' totals
   * once its stream has stopped.
   */
  void detach(SpillPipeline pipeline, Throwable cause) {
    synchronized (lock) {
      if (current != pipeline) {
        return;
      }
      current = null;
      restartingAfter = cause;
      stopping.add(pipeline);
    }
    pipeline.whenStopped().whenComplete((done, error) -> retire(pipeline));
  }

  private void retire(SpillPipeline pipeline) {
    synchronized (lock) {
      if (stopping.remove(pipeline)) {
        retired = plus(retired, pipeline.stats(), false);
      }
    }
  }

  /** Pipelines started after the first one: each a restart after a failure. */
  public long restarts() {
    synchronized (lock) {
      return Math.max(0, starts - 1);
    }
  }

  /**
   * Waits up to {@code timeout} until the first pipeline is attached.
   *
   * @throws IllegalStateException when none was in time (its cause says why, when a start failed)
   */
  public void awaitFirstStart(Duration timeout) {
    try {
      firstStart.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw new IllegalStateException("the spill pipeline did not start within " + timeout, restartingAfter);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for the spill pipeline to start", e);
    } catch (ExecutionException e) {
      throw new IllegalStateException("the spill pipeline did not start", e.getCause());
    }
  }

  @Override
  public CompletionStage<SpillOutcome> offer(long handle) {
    SpillPipeline p = current;
    return p == null ? CompletableFuture.failedFuture(notRunning()) : p.offer(handle);
  }

  @Override
  public CompletionStage<SpillOutcome> spill(long handle) {
    SpillPipeline p = current;
    return p == null ? CompletableFuture.failedFuture(notRunning()) : p.spill(handle);
  }

  @Override
  public CompletionStage<Void> spillAll(long[] handles, int from, int count) {
    SpillPipeline p = current;
    if (p == null) {
      java.util.Objects.checkFromIndexSize(from, count, handles.length);
      return count == 0 ? CompletableFuture.completedFuture(null) : CompletableFuture.failedFuture(notRunning());
    }
    return p.spillAll(handles, from, count);
  }

  /**
   * The counters of every pipeline so far, added up; requests in flight are those of the pipelines
   * still running.
   */
  @Override
  public PipelineStats stats() {
    synchronized (lock) {
      PipelineStats total = retired;
      for (SpillPipeline p : stopping) {
        total = plus(total, p.stats(), true);
      }
      SpillPipeline p = current;
      return p == null ? total : plus(total, p.stats(), true);
    }
  }

  /**
   * Attaches nothing any more, closes the live pipeline (its requests in flight are written first,
   * {@link SpillPipeline#close()}) and waits for the streams of the pipelines detached before to stop.
   * Idempotent.
   */
  @Override
  public void close() {
    SpillPipeline live;
    List<SpillPipeline> others;
    synchronized (lock) {
      closed = true;
      live = current;
      others = List.copyOf(stopping);
    }
    if (live != null) {
      live.close();
    }
    for (SpillPipeline p : others) {
      p.close(); // stopped already, or stopping: returns once its stream has
    }
  }

  private PipelineClosedException notRunning() {
    if (closed) {
      return new PipelineClosedException("spill pipeline is closed: it takes no more requests", null);
    }
    Throwable cause = restartingAfter;
    if (cause != null) {
      return new PipelineClosedException("spill pipeline is restarting after its stream failed (" + cause
          + "): the block was not queued and stays as it is; retry shortly", cause);
    }
    return new PipelineClosedException("spill pipeline has not started yet: the block was not queued", null);
  }

  private static PipelineStats plus(PipelineStats a, PipelineStats b, boolean inFlight) {
    return new PipelineStats(a.inFlight() + (inFlight ? b.inFlight() : 0), a.accepted() + b.accepted(),
        a.rejectedFull() + b.rejectedFull(), a.spilled() + b.spilled(), a.notSpilled() + b.notSpilled(),
        a.failed() + b.failed(), a.groups() + b.groups(), a.batches() + b.batches(),
        a.failedBatches() + b.failedBatches(), a.storedBytes() + b.storedBytes(),
        Math.max(a.largestBatchBytes(), b.largestBatchBytes()), a.backoffs() + b.backoffs());
  }
}
