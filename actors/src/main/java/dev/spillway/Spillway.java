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
import dev.spillway.codec.Codecs;
import dev.spillway.codec.KryoCodec;
import dev.spillway.config.ControlSettings;
import dev.spillway.config.MapSettings;
import dev.spillway.config.Sizes;
import dev.spillway.config.SpillwaySettings;
import dev.spillway.map.MapClosedException;
import dev.spillway.map.MapCodecs;
import dev.spillway.map.MapStats;
import dev.spillway.map.SpillMap;
import dev.spillway.map.SpillMaps;
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
import dev.spillway.streams.map.MapStreams;
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
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
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
 *   SpillMap<String, byte[]> users = spillway.map("users", String.class, byte[].class); // keyed, off-heap
 *   users.put("ada", new byte[] {1, 2, 3});
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
  private static final System.Logger LOG = System.getLogger(Spillway.class.getName());

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
  /** Where blocking work of the facade runs: the maps' statistics and demotion. */
  private final Executor io;

  /**
   * The maps {@link #map} opened, by name. Read without a lock (the metrics tick, the control
   * plane's demotion); changed under {@link #mapsLock}, but for closed maps dropped by the metrics.
   */
  private final Map<String, OpenMap<?, ?>> maps = new ConcurrentHashMap<>();
  /** Held while a map opens and while {@link #close()} closes them all. */
  private final Object mapsLock = new Object();
  /** The Kryo codec of map types without a built-in codec, made at the first such map; under {@link #mapsLock}. */
  private KryoCodec mapKryo;
  /** Whether the maps' statistics of a metrics tick are being collected (on the I/O executor). */
  private final AtomicBoolean mapMetricsRunning = new AtomicBoolean();
  /** Which open map a demotion asks first, in turn, so that no map always pays first. */
  private final AtomicInteger demotionTurn = new AtomicInteger();

  /** An open map and the types it was opened with. */
  private record OpenMap<K, V>(SpillMap<K, V> map, Class<K> keyType, Class<V> valueType) {}

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
    this.io = IoDispatcher.of(system);
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

  /**
   * A sink loading entries into {@code map} (a later entry of a key replaces an earlier one) over
   * {@code spillway.streams.restore-parallelism} lanes on the I/O dispatcher; completes with the
   * number written. See {@link MapStreams#sink}.
   */
  public <K, V> Sink<Map.Entry<K, V>, CompletionStage<Long>> mapSink(SpillMap<K, V> map) {
    ensureOpen();
    return MapStreams.sink(Objects.requireNonNull(map, "map"), settings.streams(), system);
  }

  /**
   * Every entry of {@code map}, entries on NVMe read without being restored into RAM. See {@link
   * MapStreams#source}.
   */
  public <K, V> Source<Map.Entry<K, V>, NotUsed> mapSource(SpillMap<K, V> map) {
    ensureOpen();
    return MapStreams.source(Objects.requireNonNull(map, "map"), system);
  }

  // ---- keyed maps ------------------------------------------------------------------------------

  /**
   * The keyed map {@code name} of {@code keyType} to {@code valueType}: a {@link
   * java.util.concurrent.ConcurrentMap} whose entries live off the Java heap in {@link #memory()} (so a
   * write at the budget waits for room as an allocation does) and go to NVMe when RAM runs short. Opened at the first call, with the settings
   * of {@code spillway.maps.<name>} over {@code spillway.maps.default}; a type without a built-in
   * codec ({@link MapCodecs#of}) goes through Kryo with the classes of {@code
   * spillway.codec.kryo.classes} registered. Later calls with the same name return the same map. A
   * map closed by its user is opened again, empty: maps do not outlive their instance. {@link
   * #close()} closes every map.
   *
   * @throws IllegalArgumentException when {@code name} is not a valid map name, when the map is open
   *     with other types (naming both), or when a type has no codec
   * @throws NullPointerException when a type is null
   * @throws IllegalStateException when this Spillway is closed
   */
  public <K, V> SpillMap<K, V> map(String name, Class<K> keyType, Class<V> valueType) {
    return openMap(name, keyType, valueType, null);
  }

  /**
   * Opens the keyed map {@code name} as {@link #map(String, Class, Class)} does, after {@code options}
   * had its say on the builder: a removal listener, codecs of its own, settings given in code ({@code
   * builder.settings(MapSettings.builder(name)...build())}; they must keep the name).
   *
   * @throws IllegalStateException when a map of that name is open already (options apply only to a
   *     map being opened: close it first), or this Spillway is closed
   * @throws IllegalArgumentException as {@link #map(String, Class, Class)}, or when {@code options}
   *     gave settings of another name
   */
  public <K, V> SpillMap<K, V> map(String name, Class<K> keyType, Class<V> valueType,
      Consumer<SpillMaps.Builder<K, V>> options) {
    Objects.requireNonNull(options, () -> "map '" + name + "': options must not be null");
    return openMap(name, keyType, valueType, options);
  }

  private <K, V> SpillMap<K, V> openMap(String name, Class<K> keyType, Class<V> valueType,
      Consumer<SpillMaps.Builder<K, V>> options) {
    ensureOpen();
    MapSettings.checkName(name);
    Objects.requireNonNull(keyType, () -> "map '" + name + "': keyType must not be null");
    Objects.requireNonNull(valueType, () -> "map '" + name + "': valueType must not be null");
    synchronized (mapsLock) {
      ensureOpen(); // close() may have closed every map meanwhile
      if (resourcesClosed.get()) {
        throw new IllegalStateException("this Spillway's resources are released (its actor system stopped):"
            + " create a new one (Spillway.create or attach)");
      }
      OpenMap<?, ?> open = maps.get(name);
      if (open != null && !open.map().isClosed()) {
        if (options != null) {
          throw new IllegalStateException("map '" + name + "' is open already (" + types(open.keyType(),
              open.valueType()) + "): options apply only when a map is opened; close it first, or call"
              + " map(name, keyType, valueType) for the open one");
        }
        if (open.keyType() != keyType || open.valueType() != valueType) {
          throw new IllegalArgumentException("map '" + name + "' is open with " + types(open.keyType(),
              open.valueType()) + ", not " + types(keyType, valueType) + ": a map keeps the types it was opened"
              + " with (close it to open it again with others, or use another name)");
        }
        @SuppressWarnings("unchecked") // the types were checked above
        SpillMap<K, V> same = (SpillMap<K, V>) open.map();
        return same;
      }
      SpillMaps.Builder<K, V> builder = SpillMaps.builder(memory, name, keyType, valueType)
          .settings(settings.mapSettings(name));
      if (!MapCodecs.isBuiltIn(keyType) || !MapCodecs.isBuiltIn(valueType)) {
        if (mapKryo == null) {
          mapKryo = Codecs.from(settings.codec()).kryo();
        }
        builder.kryo(mapKryo);
      }
      if (options != null) {
        options.accept(builder);
      }
      SpillMap<K, V> map = builder.build();
      if (!map.name().equals(name)) {
        map.close();
        throw new IllegalArgumentException("map '" + name + "': the options gave it the settings of map '"
            + map.name() + "' (their name becomes the map's): use MapSettings.builder(\"" + name + "\")");
      }
      maps.put(name, new OpenMap<>(map, keyType, valueType));
      return map;
    }
  }

  private static String types(Class<?> keyType, Class<?> valueType) {
    return "keys " + keyType.getTypeName() + " and values " + valueType.getTypeName();
  }

  /** The maps open now. */
  private List<SpillMap<?, ?>> openMaps() {
    List<SpillMap<?, ?>> open = new ArrayList<>();
    for (OpenMap<?, ?> m : maps.values()) {
      if (!m.map().isClosed()) {
        open.add(m.map());
      }
    }
    return open;
  }

  /** Closes every map (their memory goes back to the allocator); once the facade is closing. */
  private void closeMaps() {
    synchronized (mapsLock) {
      try {
        for (OpenMap<?, ?> m : maps.values()) {
          m.map().close();
        }
      } finally {
        maps.clear();
      }
    }
  }

  /**
   * Asks the open maps, in turn, to send {@code bytes} of their coldest resident entries to NVMe, each
   * in its own demotion order; returns the bytes spilled. Runs on the I/O executor.
   */
  private long demoteMaps(List<SpillMap<?, ?>> open, long bytes) {
    int first = Math.floorMod(demotionTurn.getAndIncrement(), open.size());
    long done = 0;
    for (int k = 0; k < open.size() && done < bytes; k++) {
      SpillMap<?, ?> map = open.get((first + k) % open.size());
      try {
        done += map.demote(bytes - done);
      } catch (MapClosedException e) {
        // Closed meanwhile: nothing of it is left in RAM.
      }
    }
    return done;
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
   * The maps first (their entries go back to the allocator), then the pipeline (it drains into the
   * allocator; no new one starts after it), then metrics and the allocator (which deletes its private
   * tier directory); once.
   */
  private void closeResources() {
    if (resourcesClosed.compareAndSet(false, true)) {
      try {
        try {
          closeMaps();
        } finally {
          pipeline.close();
        }
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
    updateMapMetrics();
  }

  /**
   * The maps' series, from their statistics, collected on the I/O executor: a map's statistics wait
   * for each of its segments' locks, which a write waiting at the budget holds, and the tick runs on
   * the actor that makes room. One collection at a time; a map closed since the previous one is left
   * out, which removes its series.
   */
  private void updateMapMetrics() {
    if (maps.isEmpty() || !mapMetricsRunning.compareAndSet(false, true)) {
      return;
    }
    IoDispatcher.supply(() -> {
      List<MapStats> all = new ArrayList<>();
      for (Map.Entry<String, OpenMap<?, ?>> e : List.copyOf(maps.entrySet())) {
        SpillMap<?, ?> map = e.getValue().map();
        try {
          all.add(map.stats());
        } catch (MapClosedException closedMeanwhile) {
          // Left out: its series go.
        }
        if (map.isClosed()) {
          maps.remove(e.getKey(), e.getValue()); // unless opened again meanwhile
        }
      }
      if (!resourcesClosed.get()) {
        metrics.updateMaps(all);
      }
      return Boolean.TRUE;
    }, io).whenComplete((ok, failure) -> {
      mapMetricsRunning.set(false);
      if (failure != null && !resourcesClosed.get()) {
        LOG.log(System.Logger.Level.WARNING, "the keyed maps' metrics update failed", failure);
      }
    });
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

    @Override
    public CompletionStage<Long> demoteMaps(long bytes) {
      List<SpillMap<?, ?>> open = bytes > 0 ? openMaps() : List.of();
      if (open.isEmpty()) {
        return CompletableFuture.completedFuture(0L);
      }
      return IoDispatcher.supply(() -> Spillway.this.demoteMaps(open, bytes), io);
    }
  }
}
