package dev.spillway.bench;

import static dev.spillway.bench.Figures.deleteTree;
import static dev.spillway.bench.Figures.max;
import static dev.spillway.bench.Figures.median;
import static dev.spillway.bench.Figures.mibPerSecond;
import static dev.spillway.bench.Figures.min;
import static dev.spillway.bench.Figures.spread;
import static dev.spillway.bench.Figures.verdict;
import static dev.spillway.bench.SpillRestoreBenchmark.BATCH_BYTES;
import static dev.spillway.bench.SpillRestoreBenchmark.allocateAndFill;
import static dev.spillway.bench.SpillRestoreBenchmark.crcs;
import static dev.spillway.bench.SpillRestoreBenchmark.fill;
import static dev.spillway.bench.SpillRestoreBenchmark.rawWrite;
import static dev.spillway.bench.SpillRestoreBenchmark.settings;
import static dev.spillway.bench.SpillRestoreBenchmark.spillAll;
import static dev.spillway.bench.SpillRestoreBenchmark.verify;

import akka.actor.typed.ActorSystem;
import dev.spillway.bench.Figures.Target;
import dev.spillway.bench.SpillRestoreBenchmark.Options;
import dev.spillway.config.Sizes;
import dev.spillway.config.SpillSettings;
import dev.spillway.config.SpillSettings.SpillCodec;
import dev.spillway.config.SpillwaySettings;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.SpillOutcome;
import dev.spillway.memory.SpillStats;
import dev.spillway.streams.spill.SpillPipeline;
import dev.spillway.streams.spill.SpillQueueFullException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;

/**
 * The spill half of {@link SpillRestoreBenchmark}: spill throughput of one block size and data kind
 * per {@link #measure} call, one row per path (sync, pipeline) and codec, each judged against its
 * limit in the same round.
 *
 * <p>Per round, in an order that reverses every other round: the raw write (the peer: the same bytes
 * in the same 4 MiB gathering writes to a fresh file, not forced, as spills are not; the median of
 * {@value #RAW_WRITES} back to back), with
 * {@code --with-force} also the raw write forced after each batch (shown, not judged), the codec's own
 * rate ({@link CodecRates}, on 1 thread and on {@link CodecRates#pipelineThreads} threads), and each
 * spill side (a fresh allocator per side). Per row and round:
 *
 * <ul>
 *   <li><b>raw/stored</b>: raw bytes over stored bytes (record headers included) from
 *       {@code stats().spill()};
 *   <li><b>limit</b> = min(raw write rate × raw/stored, codec rate on the threads the path encodes on:
 *       1 for sync, where the caller encodes, and N for the pipeline);
 *   <li><b>spill/limit</b>: the spill rate over that limit. Target {@value #SPILL_TARGET}×.
 * </ul>
 *
 * And per codec: <b>pipeline/sync</b>, the pipeline's rate over the sync path's. Target
 * {@value #PIPELINE_TARGET}×. Rates are MiB/s of raw bytes; every figure is the median [min–max] over
 * the rounds of the per-round figures, and a target is met when the median ratio is.
 */
final class SpillRates implements AutoCloseable {
  static final double SPILL_TARGET = 0.80;
  static final double PIPELINE_TARGET = 1.00;
  /** Raw writes per round, of which the median is the round's raw write rate. */
  static final int RAW_WRITES = 3;

  /** How a side moves the bytes. */
  private enum How {
    WRITE, FORCED_WRITE, CODEC, SYNC, PIPELINE
  }

  /** One thing timed in every round; {@code codec} is null for the raw writes. */
  private record Side(How how, SpillCodec codec) {}

  /** What one side measured in one round. */
  private record Figure(double rate, double rateOnThreads, long rawBytes, long storedBytes) {}

  private static final String ROW = "%-6s %-14s %-8s %-5s %3s  %-18s %-10s %-18s %-18s %-5s %-18s %-20s %s";
  private static final String PIPELINE_ROW = "%-6s %-14s %-5s  %-18s %-18s %-20s %s";

  private final Options o;
  private final ActorSystem<?> system;
  private final SpillSettings spill = SpillwaySettings.defaults().spill();
  private final int threads = CodecRates.pipelineThreads(spill);
  private final CodecRates codecRates = new CodecRates(SpillwaySettings.defaults().codec(), threads);
  private final List<String> pipelineRows = new ArrayList<>();
  private final List<Target> spillTargets = new ArrayList<>();
  private final List<Target> pipelineTargets = new ArrayList<>();

  SpillRates(Options o, ActorSystem<?> system) {
    this.o = o;
    this.system = system;
  }

  /** Stops the threads of the codec rates. */
  @Override
  public void close() {
    codecRates.close();
  }

  void printHeader() {
    System.out.printf(Locale.ROOT, "%nspill throughput: %s per round; sync = spill(handles) in %s batches (the"
        + " caller encodes), pipeline = SpillPipeline defaults (queue %d, %d encoders, %s / %s batches); spills"
        + " not forced; raw write = the same %s gathering writes, not forced (median of %d per round); MiB/s of"
        + " raw bytes, median [min–max] of %d rounds%n", Sizes.format(o.totalBytes()), Sizes.format(BATCH_BYTES),
        spill.queueSize(), spill.encodeParallelism(), Sizes.format(spill.batchBytes()),
        duration(spill.batchDelay()), Sizes.format(BATCH_BYTES), RAW_WRITES, o.rounds());
    System.out.printf(Locale.ROOT, "limit = min(raw write × raw/stored, codec on thr threads), by: w = the"
        + " write term, c = the codec term, w/c = each in some rounds; target: spill >= %.2f× limit%n",
        SPILL_TARGET);
    System.out.println(String.format(Locale.ROOT, ROW, "block", "data", "path", "codec", "thr", "raw write MiB/s",
        "raw/stored", "codec MiB/s", "limit MiB/s", "by", "spill MiB/s", "spill/limit",
        String.format(Locale.ROOT, "≥%.2f× limit", SPILL_TARGET)).stripTrailing());
  }

  /**
   * Measures every side for {@code blockSize} and the data kind over the warm-up and measured rounds,
   * prints the rows of the spill table, and keeps the pipeline/sync rows and the targets for later.
   */
  void measure(int blockSize, boolean compressible) throws IOException {
    int blocks = (int) (o.totalBytes() / blockSize);
    int perBatch = (int) Math.max(1, BATCH_BYTES / blockSize);
    List<SpillCodec> codecs = compressible ? List.of(SpillCodec.LZ4) : List.of(SpillCodec.LZ4, SpillCodec.RAW);
    List<Side> sides = new ArrayList<>();
    sides.add(new Side(How.WRITE, null));
    if (o.withForce()) {
      sides.add(new Side(How.FORCED_WRITE, null));
    }
    for (How how : List.of(How.CODEC, How.SYNC, How.PIPELINE)) {
      for (SpillCodec c : codecs) {
        sides.add(new Side(how, c));
      }
    }
    Figure[][] figures = new Figure[sides.size()][o.rounds()];
    try (Arena arena = Arena.ofShared()) {
      MemorySegment[] data = fill(arena, blocks, blockSize, compressible, 7);
      long[] crcs = o.verify() ? crcs(data) : null;
      for (int r = -o.warmup(); r < o.rounds(); r++) {
        for (int k = 0; k < sides.size(); k++) {
          int s = (r & 1) == 0 ? k : sides.size() - 1 - k;
          Figure f = measureSide(sides.get(s), data, perBatch, crcs,
              "round-" + blockSize + "-" + compressible + "-" + s + "-" + r);
          if (r >= 0) {
            figures[s][r] = f;
          }
        }
      }
    }
    String block = Sizes.classKey(blockSize);
    String kind = compressible ? "~2:1" : "incompressible";
    double[] write = rates(figures[sides.indexOf(new Side(How.WRITE, null))], false);
    for (How how : List.of(How.SYNC, How.PIPELINE)) {
      for (SpillCodec c : codecs) {
        Figure[] codec = figures[sides.indexOf(new Side(How.CODEC, c))];
        row(block, kind, how, c, write, rates(codec, how == How.PIPELINE), figures[sides.indexOf(new Side(how, c))]);
      }
    }
    if (o.withForce()) {
      System.out.printf(Locale.ROOT, "%-6s %-14s raw write + force(false) per batch (not judged): %s MiB/s%n", block,
          kind, spread(rates(figures[sides.indexOf(new Side(How.FORCED_WRITE, null))], false), "%.0f"));
    }
    for (SpillCodec c : codecs) {
      double[] sync = rates(figures[sides.indexOf(new Side(How.SYNC, c))], false);
      double[] pipeline = rates(figures[sides.indexOf(new Side(How.PIPELINE, c))], false);
      double[] ratio = new double[o.rounds()];
      for (int r = 0; r < o.rounds(); r++) {
        ratio[r] = pipeline[r] / sync[r];
      }
      boolean met = median(ratio) >= PIPELINE_TARGET;
      pipelineRows.add(String.format(Locale.ROOT, PIPELINE_ROW, block, kind, c, spread(sync, "%5.0f"),
          spread(pipeline, "%5.0f"), spread(ratio, "%4.2f×"), verdict(met)));
      pipelineTargets.add(new Target(String.format(Locale.ROOT, "pipeline/sync %-5s %-14s %s", block, kind, c),
          String.format(Locale.ROOT, "%.2f× [%.2f–%.2f]", median(ratio), min(ratio), max(ratio)),
          String.format(Locale.ROOT, ">= %.2f×", PIPELINE_TARGET), met));
    }
  }

  /** Prints one row of the spill table and keeps its target line. */
  private void row(String block, String kind, How how, SpillCodec c, double[] write, double[] codec, Figure[] spills) {
    int n = o.rounds();
    double[] compression = new double[n];
    double[] limit = new double[n];
    double[] rate = rates(spills, false);
    double[] ratio = new double[n];
    int byCodec = 0;
    for (int r = 0; r < n; r++) {
      compression[r] = (double) spills[r].rawBytes / spills[r].storedBytes;
      double byWrite = write[r] * compression[r];
      limit[r] = Math.min(byWrite, codec[r]);
      byCodec += codec[r] < byWrite ? 1 : 0;
      ratio[r] = rate[r] / limit[r];
    }
    String by = byCodec == 0 ? "w" : byCodec == n ? "c" : "w/c";
    boolean met = median(ratio) >= SPILL_TARGET;
    String path = how.name().toLowerCase(Locale.ROOT);
    System.out.println(String.format(Locale.ROOT, ROW, block, kind, path, c, how == How.SYNC ? 1 : threads,
        spread(write, "%5.0f"), String.format(Locale.ROOT, "%5.2f:1", median(compression)), spread(codec, "%5.0f"),
        spread(limit, "%5.0f"), by, spread(rate, "%5.0f"), spread(ratio, "%4.2f×"), verdict(met)));
    spillTargets.add(new Target(String.format(Locale.ROOT, "spill %-8s %-5s %-14s %s", path, block, kind, c),
        String.format(Locale.ROOT, "%.2f× [%.2f–%.2f] (%.0f MiB/s)", median(ratio), min(ratio), max(ratio),
            median(rate)),
        String.format(Locale.ROOT, ">= %.2f× limit (%.0f MiB/s, %s)", SPILL_TARGET, median(limit), by), met));
  }

  /** Prints the pipeline/sync table of every {@link #measure} so far. */
  void printPipelineVsSync() {
    System.out.printf(Locale.ROOT, "%npipeline vs sync (same round): MiB/s of raw bytes, median [min–max] of %d"
        + " rounds%n", o.rounds());
    System.out.println(String.format(Locale.ROOT, PIPELINE_ROW, "block", "data", "codec", "sync MiB/s",
        "pipeline MiB/s", "pipeline/sync", String.format(Locale.ROOT, "≥%.2f×", PIPELINE_TARGET)));
    pipelineRows.forEach(System.out::println);
  }

  /** The target lines: every spill row, then every pipeline/sync pair. */
  List<Target> targets() {
    List<Target> all = new ArrayList<>(spillTargets);
    all.addAll(pipelineTargets);
    return all;
  }

  /** {@code d} in ms, or in µs under a millisecond. */
  private static String duration(Duration d) {
    long micros = d.toNanos() / 1000;
    if (micros < 1000) {
      return micros + " µs";
    }
    return micros % 1000 == 0 ? micros / 1000 + " ms" : String.format(Locale.ROOT, "%.1f ms", micros / 1000.0);
  }

  /** The rate of every round ({@link Figure#rateOnThreads} with {@code onThreads}). */
  private static double[] rates(Figure[] figures, boolean onThreads) {
    double[] out = new double[figures.length];
    for (int r = 0; r < figures.length; r++) {
      out[r] = onThreads ? figures[r].rateOnThreads : figures[r].rate;
    }
    return out;
  }

  /** Times one side once; raw writes and spills in a fresh directory {@code name}, deleted afterwards. */
  private Figure measureSide(Side side, MemorySegment[] data, int perBatch, long[] crcs, String name)
      throws IOException {
    if (side.how == How.CODEC) {
      double one = codecRates.rate(data, side.codec, 1);
      return new Figure(one, threads == 1 ? one : codecRates.rate(data, side.codec, threads), 0, 0);
    }
    Path dir = o.dir().resolve(name);
    Files.createDirectories(dir);
    try {
      return switch (side.how) {
        case WRITE -> new Figure(rawWriteRate(dir, data, perBatch), 0, 0, 0);
        case FORCED_WRITE -> new Figure(rawWrite(dir.resolve("raw"), data, perBatch, true), 0, 0, 0);
        case SYNC -> spillRound(dir, data, perBatch, side.codec, crcs, false);
        default -> spillRound(dir, data, perBatch, side.codec, crcs, true);
      };
    } finally {
      deleteTree(dir);
    }
  }

  /**
   * The median rate of {@value #RAW_WRITES} raw writes back to back, each to a new file in {@code dir}
   * deleted right after it: one write to the page cache takes well under a second, so a single one is
   * at the mercy of the scheduler on a busy machine.
   */
  private static double rawWriteRate(Path dir, MemorySegment[] data, int perBatch) throws IOException {
    double[] rates = new double[RAW_WRITES];
    for (int i = 0; i < RAW_WRITES; i++) {
      Path file = dir.resolve("raw-" + i);
      rates[i] = rawWrite(file, data, perBatch, false);
      Files.delete(file);
    }
    return median(rates);
  }

  /**
   * Opens an allocator on {@code dir}, copies {@code data} into fresh blocks and times spilling all of
   * them: in batches of {@code perBatch} with {@code spill(handles, i, n)}, or through a
   * {@link SpillPipeline} (one request per block, waiting for room when the pipeline is full), timed
   * from the first request to the last answer: the pipeline's start and close are left out. Then
   * (with {@code crcs}) restores and checks every block, frees the resident blocks and closes the
   * allocator.
   */
  private Figure spillRound(Path dir, MemorySegment[] data, int perBatch, SpillCodec codec, long[] crcs,
      boolean pipelined) throws IOException {
    long total = (long) data.length * data[0].byteSize();
    SpillwaySettings settings = settings(dir, codec);
    try (BlockAllocator allocator = BlockAllocator.open(settings)) {
      long[] handles = allocateAndFill(allocator, data);
      double rate;
      if (pipelined) {
        try (SpillPipeline pipeline = SpillPipeline.start(allocator, settings.spill(), system)) {
          long start = System.nanoTime();
          spillThrough(pipeline, handles, settings.spill().queueSize());
          rate = mibPerSecond(total, System.nanoTime() - start);
        }
      } else {
        long start = System.nanoTime();
        spillAll(allocator, handles, perBatch);
        rate = mibPerSecond(total, System.nanoTime() - start);
      }
      SpillStats stats = allocator.stats().spill();
      if (stats.spilledBlocks() != handles.length || stats.rawBytesWritten() != total) {
        throw new IllegalStateException("after spilling " + handles.length + " blocks: " + stats);
      }
      if (crcs != null) {
        verify(allocator, handles, data, crcs);
      }
      // Blocks still spilled are left to close(), which releases them at once: freeing a spilled block
      // writes its tombstone on its own (one append each, 65536 of them per round of 4 KiB blocks).
      for (long h : handles) {
        if (allocator.isResident(h)) {
          allocator.free(h);
        }
      }
      return new Figure(rate, 0, stats.rawBytesWritten(), stats.storedBytesWritten());
    }
  }

  /**
   * One pipeline request per handle; when the pipeline refuses (queue-size requests in flight and as
   * many callers waiting) waits for the oldest of those, then asks again. Fails unless every block
   * spilled.
   */
  private static void spillThrough(SpillPipeline pipeline, long[] handles, int queueSize) {
    List<CompletableFuture<SpillOutcome>> answers = new ArrayList<>(handles.length);
    for (int i = 0; i < handles.length; i++) {
      CompletableFuture<SpillOutcome> f = pipeline.spill(handles[i]).toCompletableFuture();
      while (f.isCompletedExceptionally() && f.exceptionNow() instanceof SpillQueueFullException) {
        answers.get(Math.max(0, answers.size() - 2 * queueSize)).join();
        f = pipeline.spill(handles[i]).toCompletableFuture();
      }
      answers.add(f);
    }
    for (int i = 0; i < answers.size(); i++) {
      SpillOutcome outcome = answers.get(i).join();
      if (outcome != SpillOutcome.SPILLED) {
        throw new IllegalStateException("block " + i + " answered " + outcome + " through the pipeline");
      }
    }
  }
}
