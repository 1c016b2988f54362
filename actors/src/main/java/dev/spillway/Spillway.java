package dev.spillway;

import akka.NotUsed;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Props;
import akka.actor.typed.javadsl.AskPattern;
import akka.actor.typed.javadsl.Behaviors;
import akka.stream.javadsl.Flow;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import akka.util.ByteString;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spillway.actors.control.IdleDetector;
import dev.spillway.actors.control.LivePipeline;
import dev.spillway.actors.control.MemoryGuardian;
import dev.spillway.actors.control.TierActor;
import dev.spillway.actors.metrics.SpillwayMetrics;
import dev.spillway.actors.pressure.BudgetResolver;
import dev.spillway.actors.pressure.MemorySources;
import dev.spillway.actors.pressure.PressureClassifier;
import dev.spillway.actors.pressure.PressureSample;
import dev.spillway.actors.pressure.PressureWatermarks;
import dev.spillway.config.ControlSettings;
import dev.spillway.config.Sizes;
import dev.spillway.config.SpillwaySettings;
import dev.spillway.memory.AllocatorStats;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.spi.AllocatorControl;
import dev.spillway.memory.spi.BlockRefs;
import dev.spillway.memory.spi.MaintenanceReport;
import dev.spillway.memory.PoolStats;
import dev.spillway.memory.SizeClasses;
import dev.spillway.memory.SpillOutcome;
import dev.spillway.streams.bulk.Export;
import dev.spillway.streams.bulk.Ingest;
import dev.spillway.streams.bulk.IngestSummary;
import dev.spillway.streams.bulk.Prefetch;
import dev.spillway.streams.spill.IoDispatcher;
import dev.spillway.streams.spill.PipelineClosedException;
import dev.spillway.streams.spill.SpillPipeline;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;

/**
 * Spillway, embedded: the off-heap allocator with its NVMe tier (the data plane), the spill pipeline
 * and the actors that keep memory within its budget (the control plane), behind one object.
 *
 * <pre>{@code
 * try (Spillway spillway = Spillway.create()) {          // an actor system of its own, on defaults
 *   BlockAllocator memory = spillway.memory();
 *   long h = memory.allocate(4096);                     // waits for room at the budget, then OutOfBudgetException
 *   memory.putLong(h, 0, 42);
 *   spillway.statsAsync().toCompletableFuture().join(); // a name says when a call is asynchronous
 * }
 * }</pre>
 *
 * {@link #attach} runs the control plane inside an application's own actor system instead, which
 * {@link #close()} then leaves running. After {@code close()} every call fails with an
 * {@link IllegalStateException} saying so; a second {@code close()} does nothing.
 */
public final class Spillway implements AutoCloseable {
  /** How often the allocator's housekeeping runs (dead spill records, compaction, thread caches, pools). */
  static final Duration HOUSEKEEPING_INTERVAL = Duration.ofSeconds(1);

  /** How long {@link #close()} waits for the actors to stop. */
  static final Duration STOP_TIMEOUT = Duration.ofMinutes(3);

  /** How long a close run by the JVM's shutdown (SIGTERM, Ctrl-C) waits for the actors to stop. */
  static final Duration HOOK_STOP_TIMEOUT = Duration.ofSeconds(10);

  /** How long the start waits for the tier actor to start the spill pipeline. */
  static final Duration PIPELINE_START_TIMEOUT = Duration.ofSeconds(30);

  /** How often the tier actor's children check the tier directories. */
  static final Duration TIER_CHECK_INTERVAL = Duration.ofSeconds(5);

  private static final AtomicLong INSTANCES = new AtomicLong();

  private final ActorSystem<?> system;
  private final boolean ownsSystem;
  private final SpillwaySettings settings;
  private final BlockAllocator allocator;
  /** The allocator's control SPI, which the control plane drives. */
  private final AllocatorControl spi;
  private final BudgetedAllocator memory;
  /** The metrics tick's split of accesses into RAM hits and misses (touched by the tick only). */
  private final MissAttribution misses = new MissAttribution();
  /** The spill pipeline running now: the tier actor starts it, and a new one after a failure. */
  private final LivePipeline pipeline = new LivePipeline();
  private final ActorRef<MemoryGuardian.Command> guardian;
  private final SpillwayMetrics metrics;
  private final AtomicBoolean closed = new AtomicBoolean();
  /** Runs {@link #close()} when the JVM exits without it: SIGTERM, SIGINT (Ctrl-C), {@code System.exit}. */
  private final Thread shutdownHook;

  /**
   * @param pipelineView the allocator as the spill pipeline sees it: itself, or (in tests) one whose
   *     writes fail on demand
   */
  private Spillway(ActorSystem<?> system, boolean ownsSystem, SpillwaySettings configured,
      UnaryOperator<BlockAllocator> pipelineView) {
    this.system = system;
    this.ownsSystem = ownsSystem;
    ControlSettings control = configured.control();
    MemorySources sources = MemorySources.host();
    // Before anything is opened: a budget above the memory this process can have is refused here.
    long budget = BudgetResolver.resolve(control, sources.read());
    SpillwaySettings settings = configured.withMemory(configured.memory().forBudget(budget));
    this.settings = settings;
    try {
      this.allocator = BlockAllocator.open(settings);
      this.spi = allocator.control();
    } catch (IOException e) {
      throw new UncheckedIOException("Spillway cannot open its tier ("
          + (settings.tier().isPrivate() ? "a private directory under " + settings.tier().defaultParent()
              : String.join(", ", settings.tier().directories().stream().map(Object::toString).toList()))
          + "): " + e.getMessage(), e);
    }
    // Before the actors start: their first metrics tick reads it.
    this.memory = new BudgetedAllocator(allocator, control.allocateTimeout(), this::askForRoom,
        settings.metrics().accessCounting());
    SpillwayMetrics metered = null;
    ActorRef<MemoryGuardian.Command> spawned = null;
    try {
      spi.budget(budget, (long) (budget * control.slackFraction()));
      metered = SpillwayMetrics.start(settings.metrics());
      this.metrics = metered;
      spi.onRestore(metered::recordRestoreNanos);
      spawned = system.systemActorOf(MemoryGuardian.create(setup(sources, pipelineView.apply(allocator))),
          "spillway-" + INSTANCES.incrementAndGet(), Props.empty());
      this.guardian = spawned;
      // The tier actor starts the pipeline: spillAsync and the streams work from the first call on.
      pipeline.awaitFirstStart(PIPELINE_START_TIMEOUT);
    } catch (RuntimeException | Error e) {
      if (spawned != null) {
        stopGuardian(spawned, STOP_TIMEOUT); // releases the pipeline, the metrics and the allocator
      }
      pipeline.close();
      if (metered != null) {
        metered.close();
      }
      allocator.close();
      throw e;
    }
    long timeoutNanos = control.allocateTimeout().toNanos();
    this.shutdownHook = Thread.ofPlatform().name("spillway-shutdown").unstarted(() -> close(HOOK_STOP_TIMEOUT));
    Runtime.getRuntime().addShutdownHook(shutdownHook);
    spi.onBudgetFull((bytes, attempt) -> {
      // A restore found even the slack used up: ask for room and wait as an allocation would.
      if (BudgetedAllocator.waitedNanos(attempt) >= timeoutNanos || closed.get()) {
        return false;
      }
      if (attempt == 0) {
        spi.trimCurrentThreadCache(); // slots parked in this thread's cache keep slabs from going back
      }
      guardian.tell(new MemoryGuardian.MakeRoom(bytes, BudgetedAllocator.waitedNanos(attempt)));
      java.util.concurrent.locks.LockSupport.parkNanos(BudgetedAllocator.pauseNanos(attempt));
      return true;
    });
  }

  /** An allocation of {@code bytes} found the budget full and has waited {@code waitedNanos}: make room. */
  private void askForRoom(long bytes, long waitedNanos) {
    guardian.tell(new MemoryGuardian.MakeRoom(bytes, waitedNanos));
  }

  /** Starts Spillway on the embedded defaults, with an actor system of its own. */
  public static Spillway create() {
    return create(ConfigFactory.empty());
  }

  /**
   * Starts Spillway on {@code config} (its {@code spillway} section over the defaults; a bad value
   * fails here, naming the key) with an actor system of its own, which {@link #close()} terminates.
   */
  public static Spillway create(Config config) {
    Objects.requireNonNull(config, "config");
    Config full = config.withFallback(ConfigFactory.load()).resolve();
    SpillwaySettings settings = SpillwaySettings.from(full);
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "spillway", full);
    try {
      return new Spillway(system, true, settings, UnaryOperator.identity());
    } catch (RuntimeException | Error e) {
      system.terminate();
      throw e;
    }
  }

  /**
   * Starts Spillway's actors inside {@code system}, configured by {@code config}'s {@code spillway}
   * section. {@link #close()} stops them and leaves the system running.
   */
  public static Spillway attach(ActorSystem<?> system, Config config) {
    return attach(system, config, UnaryOperator.identity());
  }

  /**
   * {@link #attach}, with the spill pipeline working on {@code pipelineView.apply(allocator)}: tests
   * put an allocator there whose writes fail as they say.
   */
  static Spillway attach(ActorSystem<?> system, Config config, UnaryOperator<BlockAllocator> pipelineView) {
    Objects.requireNonNull(system, "system");
    Objects.requireNonNull(config, "config");
    return new Spillway(system, false, SpillwaySettings.from(config), pipelineView);
  }

  // ---- data plane ------------------------------------------------------------------------------

  /**
   * The allocator: every block operation of {@link BlockAllocator}. At the budget, {@code allocate}
   * waits for the control plane to make room (up to {@code spillway.control.allocate-timeout}) and
   * then fails with {@link OutOfBudgetException}.
   */
  public BlockAllocator memory() {
    ensureOpen();
    return memory;
  }

  /**
   * Queues a spill of one block through the pipeline and completes when it is written (see {@link
   * SpillPipeline#spill}); {@code memory().spill(handle)} spills on the calling thread instead. When
   * the pipeline's stream fails, the control plane starts a new one after a backoff; requests in the
   * failed stream, and requests made until the new one runs, fail with a {@link
   * PipelineClosedException} (their blocks stay resident): retry later.
   */
  public CompletionStage<SpillOutcome> spillAsync(long handle) {
    ensureOpen();
    return pipeline.spill(handle);
  }

  /** The actor system the control plane runs in (to run the streams of {@link #ingestSink} and friends). */
  public ActorSystem<?> system() {
    ensureOpen();
    return system;
  }

  /**
   * The tier's directories: those of {@code spillway.tier.directories}, or the private one made for
   * this instance under {@code spillway.tier.default-parent} (deleted by {@link #close()}).
   */
  public List<java.nio.file.Path> tierDirectories() {
    ensureOpen();
    return spi.tierDirectories();
  }

  /**
   * The settings this instance runs on: those it was given, with the slab sizes fitted to the budget
   * ({@link dev.spillway.config.MemorySettings#forBudget}).
   */
  public SpillwaySettings settings() {
    return settings;
  }

  // ---- streams ---------------------------------------------------------------------------------

  /** Bulk ingestion: each chunk becomes a block; see {@link Ingest#sink}. */
  public Sink<ByteString, CompletionStage<IngestSummary>> ingestSink() {
    ensureOpen();
    return Ingest.sink(memory, pipeline, settings.streams());
  }

  /** Bulk ingestion emitting each block's handle; see {@link Ingest#flow}. */
  public Flow<ByteString, Long, NotUsed> ingestFlow() {
    ensureOpen();
    return Ingest.flow(memory, pipeline, settings.streams());
  }

  /** Export of blocks in order, without restoring spilled ones; see {@link Export#source}. */
  public Source<ByteString, NotUsed> export(long[] handles) {
    ensureOpen();
    return Export.source(memory, handles, settings.streams(), system);
  }

  /** Restore ahead of use; see {@link Prefetch#flow}. */
  public Flow<Long, Long, NotUsed> prefetch() {
    ensureOpen();
    return Prefetch.flow(memory, settings.streams(), system);
  }

  // ---- admin -----------------------------------------------------------------------------------

  /** Where the Prometheus endpoint listens, when {@code spillway.metrics.prometheus.enabled} turned it on (127.0.0.1 only). */
  public java.util.Optional<java.net.InetSocketAddress> metricsEndpoint() {
    ensureOpen();
    return metrics.endpointAddress();
  }

  /** A snapshot of pools, spills, pipeline, pressure and tier directories, when the control plane answers. */
  public CompletionStage<SpillwayStats> statsAsync() {
    ensureOpen();
    return AskPattern.<MemoryGuardian.Command, MemoryGuardian.Snapshot>ask(guardian, MemoryGuardian.GetStats::new,
            Duration.ofSeconds(10), system.scheduler())
        .thenApply(s -> new SpillwayStats(allocator.stats(), pipeline.stats(), pipeline.restarts(), s.pressure(),
            spi.budgetBytes(), spi.mappedBytes(), s.tiers()));
  }

  /** Spills every block idle for {@code spillway.control.idle.idle-after} now; completes with how many were sent. */
  public CompletionStage<Integer> spillIdleAsync() {
    ensureOpen();
    return AskPattern.<MemoryGuardian.Command, IdleDetector.Spilled>ask(guardian, MemoryGuardian.SpillNow::new,
        Duration.ofMinutes(1), system.scheduler()).thenApply(IdleDetector.Spilled::blocks);
  }

  /**
   * Applies every pool's grow and shrink rules now ({@code spillway.memory.pools}): pools nearly full
   * grow, pools mostly free give empty slabs back; completes with what changed.
   */
  public CompletionStage<MaintenanceReport> maintainPoolsAsync() {
    ensureOpen();
    return AskPattern.askWithStatus(guardian, MemoryGuardian.ShrinkNow::new, Duration.ofSeconds(30),
        system.scheduler());
  }

  /**
   * Drains the spill pipeline, stops the actors, closes every arena and file (and deletes the private
   * tier directory, when {@code spillway.tier.directories} is empty); then terminates the actor system
   * if Spillway started it. A second call does nothing. The JVM's exit (SIGTERM, SIGINT, {@code
   * System.exit}) runs it too, when it was not called before.
   */
  @Override
  public void close() {
    close(STOP_TIMEOUT);
  }

  private void close(Duration timeout) {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    if (Thread.currentThread() != shutdownHook) {
      try {
        Runtime.getRuntime().removeShutdownHook(shutdownHook);
      } catch (IllegalStateException e) {
        // The JVM is already shutting down; the hook finds this instance closed.
      }
    }
    try {
      stopGuardian(guardian, timeout);
    } finally {
      closeResources(); // does nothing when the guardian's stop did it
      if (ownsSystem) {
        system.terminate();
        try {
          system.getWhenTerminated().toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
          // Nothing of ours is left running; the system's threads die with it.
        }
      }
    }
  }

  /**
   * Asks {@code guardian} to stop and release the resources, and waits up to {@code timeout} for the
   * answer. One that does not come (the system is already down, or going down with the JVM) is left:
   * the caller releases the resources itself.
   */
  private void stopGuardian(ActorRef<MemoryGuardian.Command> guardian, Duration timeout) {
    try {
      AskPattern.<MemoryGuardian.Command, MemoryGuardian.Stopped>ask(guardian, MemoryGuardian.Stop::new, timeout,
          system.scheduler()).toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      // No answer: the caller releases.
    }
  }

  private void ensureOpen() {
    if (closed.get()) {
      throw new IllegalStateException("this Spillway is closed: create a new one (Spillway.create or attach)");
    }
  }

  // ---- wiring ----------------------------------------------------------------------------------

  private final AtomicBoolean resourcesClosed = new AtomicBoolean();

  /**
   * Pipeline first (it drains into the allocator; no new one starts after it), then metrics and the
   * allocator (which deletes its private tier directory); once.
   */
  private void closeResources() {
    if (resourcesClosed.compareAndSet(false, true)) {
      try {
        pipeline.close();
      } finally {
        try {
          metrics.close();
        } finally {
          allocator.close();
        }
      }
    }
  }

  /** The pressure gauge's value: 0 normal, 1 elevated, 2 high, 3 critical (fixed, unlike an ordinal). */
  private static int gaugeValue(PressureLevel level) {
    return switch (level) {
      case NORMAL -> 0;
      case ELEVATED -> 1;
      case HIGH -> 2;
      case CRITICAL -> 3;
    };
  }

  private MemoryGuardian.Setup setup(MemorySources sources, BlockAllocator pipelineAllocator) {
    ControlSettings c = settings.control();
    List<String> pools = new ArrayList<>();
    for (int i = 0; i < SizeClasses.COUNT; i++) {
      pools.add(Sizes.classKey(SizeClasses.sizeOf(i)));
    }
    PressureClassifier classifier = new PressureClassifier(
        new PressureWatermarks(c.lowWater(), c.highWater(), c.hysteresis(), c.minAvailable()));
    IdleDetector.Timing timing = new IdleDetector.Timing(c.sweepInterval(),
        IdleDetector.Timing.sweepsFor(c.idleAfter(), c.sweepInterval()), c.shrinkAfter(), c.lowWater());
    java.util.concurrent.Executor io = IoDispatcher.of(system);
    TierActor.Setup tier = new TierActor.Setup(
        () -> SpillPipeline.start(pipelineAllocator, settings.spill(), system), pipeline, spi.tierDirectories(),
        TIER_CHECK_INTERVAL, io, settings.spill().minBackoff(), settings.spill().maxBackoff());
    return new MemoryGuardian.Setup(new Target(), pools, spi::maintainPool, spi::maintain,
        () -> new PressureSample(allocator.stats().requestedBytes(), spi.budgetBytes(), sources.read()),
        classifier, c.pressureInterval(), timing, tier, this::closeResources, this::updateMetrics,
        settings.metrics().tick(), state -> metrics.setPressureLevel(gaugeValue(state.level())), HOUSEKEEPING_INTERVAL,
        io);
  }

  /**
   * The metrics tick: the allocator's and the pipeline's figures, and the accesses of
   * {@link #memory()} since the last tick split into served from RAM and restored first (every
   * restore not asked for by a prefetch was an access's miss). Runs on one actor at a time.
   */
  private void updateMetrics() {
    long accesses = memory.accesses(); // first: see MissAttribution
    AllocatorStats stats = allocator.stats();
    long[] split = misses.next(accesses, stats.spill().restores(), memory.prefetched());
    if (settings.metrics().accessCounting()) {
      metrics.recordAccesses(split[0], split[1]);
    }
    metrics.update(stats, pipeline.stats());
  }

  /** The idle detector's view of the allocator and the pipeline. */
  private final class Target implements IdleDetector.Target {
    @Override
    public int sweepIdle(int idleSweeps, BlockRefs out) {
      return spi.sweepIdle(idleSweeps, out);
    }

    @Override
    public int coldest(BlockRefs out) {
      return spi.coldest(out);
    }

    @Override
    public int sparsest(BlockRefs out, long bytes) {
      return spi.sparsest(out, bytes);
    }

    @Override
    public long mappedBytes() {
      return spi.mappedBytes();
    }

    @Override
    public CompletionStage<?> spill(long[] refs, int count) {
      return pipeline.spillAll(refs, 0, count);
    }

    @Override
    public long liveBytes() {
      return allocator.stats().requestedBytes();
    }

    @Override
    public long budgetBytes() {
      return spi.budgetBytes();
    }

    @Override
    public Map<String, Long> poolActivity() {
      Map<String, Long> activity = new HashMap<>();
      for (PoolStats p : allocator.stats().pools()) {
        activity.put(p.name(), p.allocations() + p.frees());
      }
      return activity;
    }
  }
}
