package dev.spillway.bench;

import static dev.spillway.bench.Figures.deleteTree;
import static dev.spillway.bench.Figures.mibPerSecond;
import static dev.spillway.bench.Figures.spread;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.stream.javadsl.Source;
import akka.util.ByteString;
import dev.spillway.bench.Figures.Target;
import dev.spillway.config.Sizes;
import dev.spillway.config.SpillSettings.SpillCodec;
import dev.spillway.config.SpillwaySettings;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.spi.SpillReport;
import dev.spillway.memory.SpillStats;
import dev.spillway.streams.bulk.Ingest;
import dev.spillway.streams.bulk.IngestSummary;
import dev.spillway.streams.spill.SpillPipeline;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;

/**
 * Spilling and restoring blocks of a {@link BlockAllocator} against the file system's own limits, in
 * the same run, each figure printed with its target's limit and MET or MISS.
 *
 * <h2>Targets</h2>
 *
 * <ol>
 *   <li><b>Spill throughput at least {@value SpillRates#SPILL_TARGET}× its limit</b>, per row (block
 *       size × data kind × path × codec). The limit is the smaller of the raw write rate × the
 *       compression the row reached (raw bytes / stored bytes, record headers included, from
 *       {@code stats().spill()}) and the codec's own rate on the threads the path encodes on (1 for the
 *       synchronous path, where the caller encodes; N = {@code spill.pipeline.encode-parallelism}
 *       capped by the available processors for the pipeline), measured in the same round on the same
 *       blocks ({@link CodecRates}: LZ4 compression plus a CRC32C of its output, or for RAW a copy
 *       plus a CRC32C).
 *   <li><b>The pipeline at least as fast as the synchronous path</b> ({@value
 *       SpillRates#PIPELINE_TARGET}×), per block size × data kind × codec.
 *   <li><b>Restore</b> of a 4 KiB block: p50 at most {@value RestoreLatency#RESTORE_P50_TARGET}× and
 *       p99 at most {@value RestoreLatency#RESTORE_P99_TARGET}× those of a raw 4 KiB pread.
 * </ol>
 *
 * <h2>Figures</h2>
 *
 * <ul>
 *   <li><b>spill throughput</b> of 4 KiB and 1 MiB blocks, incompressible (random bytes) and ~2:1
 *       compressible (the generator of {@link SegmentLogWorkload}: 32 random bytes, 32 zero bytes),
 *       spill codec LZ4 for both kinds and RAW for incompressible data, by two paths: <i>sync</i>,
 *       {@code control().spill(handles, i, n)} over all blocks in batches of 4 MiB, and
 *       <i>pipeline</i>, one request per block through a {@link SpillPipeline} with the default
 *       settings ({@link SpillRates}). Spills are not forced: the allocator never fsyncs its spill log
 *       (spilled blocks die with the process), whatever {@code spillway.tier.durability} says, so the
 *       default settings are used as they are. The peer, the <i>raw write</i>, is therefore a plain
 *       sequential {@link FileChannel} write of the same bytes (off-heap, page-aligned) in the same 4
 *       MiB gathering writes, not forced either, to a fresh file in the same directory: both sides
 *       write to the page cache. Rates are MiB/s of raw (uncompressed) bytes.
 *   <li><b>restore latency</b> of a spilled 4 KiB block (incompressible, codec LZ4, so stored raw):
 *       the first {@code getLong(handle, 0)} after the spill, which restores it transparently, timed
 *       one by one in random order; against a raw positional 4 KiB read into a direct buffer at a
 *       random 4 KiB-aligned offset of a file of the same size. Both files were just written, so both
 *       reads come from the page cache; the two sides alternate in chunks of {@value RestoreLatency#CHUNK}
 *       ({@link RestoreLatency}).
 *   <li><b>ingestion</b> through {@link Ingest#sink} against the raw write of the same bytes (shown,
 *       not judged).
 * </ul>
 *
 * Every round measures all sides of a row (their order reverses every other round, so drifting
 * machine noise hits both alike) and ratios are taken within a round; the tables give the median of
 * the rounds and [min–max], and a target is met when the median of its per-round ratios is. Warm-up
 * rounds run first and are not reported. Each spill side opens a fresh allocator (tier directory
 * {@code <dir>/round-…}, spill log in its {@code spill} subdirectory), frees its resident blocks and
 * closes it (which releases the blocks still spilled); files are deleted as soon as a side ends.
 * Restored bytes are checked against a CRC32C of what was written (with {@code --verify}, also every
 * block of the throughput rounds, restored after the timing). The run ends with the targets: one line
 * each with the measured value, its limit and MET or MISS.
 *
 * <p>Options (all optional): {@code [dir]} or {@code --dir=PATH} (default: a fresh directory under
 * {@code java.io.tmpdir}, deleted afterwards), {@code --total-mib=256} (bytes spilled per throughput
 * round, at most 1024), {@code --restore-mib=64} (bytes spilled and restored per latency round),
 * {@code --rounds=5}, {@code --warmup=1}, {@code --part=all|spill|restore|ingest}, {@code --verify},
 * {@code --with-force} (also time the raw write forced after each batch, shown but not judged).
 *
 * <pre>
 *   mvn -q -B -DskipTests package
 *   bin/bench SpillRestoreBenchmark [dir] [--total-mib=256] [--restore-mib=64] [--rounds=5] [--part=spill]
 * </pre>
 *
 * Smoke test (well under a minute): {@code bin/bench SpillRestoreBenchmark --total-mib=16
 * --restore-mib=16 --rounds=2 --verify}.
 */
public final class SpillRestoreBenchmark {
  static final long BATCH_BYTES = 4L << 20;

  static long sink;

  private SpillRestoreBenchmark() {}

  /** What the command line asked for. */
  record Options(Path dir, boolean tempDir, long totalBytes, long restoreBytes, int rounds,
      int warmup, boolean spillPart, boolean restorePart, boolean ingestPart, boolean verify, boolean withForce) {

    static Options parse(String[] args) throws IOException {
      Path dir = null;
      long total = 256;
      long restore = 64;
      int rounds = 5;
      int warmup = 1;
      String part = "all";
      boolean verify = false;
      boolean withForce = false;
      for (String a : args) {
        String value = a.contains("=") ? a.substring(a.indexOf('=') + 1) : "";
        if (a.startsWith("--dir=")) {
          dir = Path.of(value);
        } else if (a.startsWith("--total-mib=")) {
          total = Long.parseLong(value);
        } else if (a.startsWith("--restore-mib=")) {
          restore = Long.parseLong(value);
        } else if (a.startsWith("--rounds=")) {
          rounds = Integer.parseInt(value);
        } else if (a.startsWith("--warmup=")) {
          warmup = Integer.parseInt(value);
        } else if (a.startsWith("--part=")) {
          part = value;
        } else if (a.equals("--verify")) {
          verify = true;
        } else if (a.equals("--with-force")) {
          withForce = true;
        } else if (!a.startsWith("--") && dir == null) {
          dir = Path.of(a);
        } else {
          throw new IllegalArgumentException("unknown argument '" + a + "': allowed [dir] --dir=PATH"
              + " --total-mib=N --restore-mib=N --rounds=N --warmup=N --part=all|spill|restore|ingest --verify"
              + " --with-force");
        }
      }
      if (total < 1 || total > 1024 || restore < 1 || restore > 1024) {
        throw new IllegalArgumentException("--total-mib and --restore-mib: allowed 1 to 1024 (one pool"
            + " holds at most spillway.memory.pools.default.max-bytes = 1 GiB)");
      }
      if (rounds < 1 || warmup < 0) {
        throw new IllegalArgumentException("--rounds: allowed >= 1; --warmup: allowed >= 0");
      }
      if (!List.of("all", "spill", "restore", "ingest").contains(part)) {
        throw new IllegalArgumentException("--part=" + part + ": allowed all, spill, restore, ingest");
      }
      boolean temp = dir == null;
      if (temp) {
        dir = Files.createTempDirectory("spillway-bench");
      }
      dir = dir.toAbsolutePath().normalize();
      Files.createDirectories(dir);
      return new Options(dir, temp, total << 20, restore << 20, rounds, warmup,
          part.equals("all") || part.equals("spill"), part.equals("all") || part.equals("restore"),
          part.equals("all") || part.equals("ingest"), verify, withForce);
    }
  }

  public static void main(String[] args) throws IOException {
    Options o = Options.parse(args);
    System.out.printf(Locale.ROOT, "spill / restore vs raw FileChannel, Java %s, %d processor(s), %d round(s) +"
        + " %d warm-up, spills and raw writes not forced, dir %s%n", Runtime.version(),
        Runtime.getRuntime().availableProcessors(), o.rounds, o.warmup, o.dir);
    List<Target> targets = new ArrayList<>();
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "spillway-bench");
    try {
      if (o.spillPart) {
        try (SpillRates spill = new SpillRates(o, system)) {
          spill.printHeader();
          for (int blockSize : new int[] {4096, 1 << 20}) {
            spill.measure(blockSize, false);
            spill.measure(blockSize, true);
          }
          spill.printPipelineVsSync();
          targets.addAll(spill.targets());
        }
      }
      if (o.restorePart) {
        targets.addAll(RestoreLatency.run(o));
      }
      if (o.ingestPart) {
        ingestRates(o, system);
      }
    } finally {
      system.terminate();
    }
    long met = targets.stream().filter(Target::met).count();
    System.out.printf(Locale.ROOT, "%ntargets (median [min–max] of the per-round ratios): %d of %d met%n", met,
        targets.size());
    System.out.println(Target.header());
    targets.forEach(t -> System.out.println(t.line()));
    if (o.tempDir) {
      deleteTree(o.dir);
    }
    if (sink == 42) {
      System.out.println();
    }
  }

  /** Allocates one block per {@code data} segment and copies the segment into it. */
  static long[] allocateAndFill(BlockAllocator allocator, MemorySegment[] data) {
    long[] handles = new long[data.length];
    for (int i = 0; i < data.length; i++) {
      long size = data[i].byteSize();
      handles[i] = allocator.allocate(size);
      allocator.write(handles[i], 0, data[i], 0, size);
    }
    return handles;
  }

  /** Spills every block in batches of {@code perBatch}; fails unless every block spilled. */
  static void spillAll(BlockAllocator allocator, long[] handles, int perBatch) {
    for (int i = 0; i < handles.length; i += perBatch) {
      int n = Math.min(perBatch, handles.length - i);
      SpillReport report = allocator.control().spill(handles, i, n);
      if (report.spilled() != n) {
        throw new IllegalStateException("batch of " + n + " blocks from " + i + " spilled partly: " + report);
      }
    }
  }

  /**
   * The default settings with the tier in {@code dir} and the spill codec {@code codec}; their
   * durability is left alone, as spills are never forced whatever it says.
   */
  static SpillwaySettings settings(Path dir, SpillCodec codec) {
    SpillwaySettings d = SpillwaySettings.defaults();
    return d.withTier(d.tier().withDirectories(List.of(dir.toAbsolutePath()))).withSpill(d.spill().withCodec(codec));
  }

  /**
   * Writes every block sequentially to a new {@code file}, one gathering write per batch of
   * {@code perBatch} blocks, each followed by {@code force(false)} only with {@code force}; MiB/s.
   */
  static double rawWrite(Path file, MemorySegment[] data, int perBatch, boolean force) throws IOException {
    long total = 0;
    long start = System.nanoTime();
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      ByteBuffer[] batch = new ByteBuffer[perBatch];
      for (int i = 0; i < data.length; i += perBatch) {
        int n = Math.min(perBatch, data.length - i);
        long left = 0;
        for (int k = 0; k < n; k++) {
          batch[k] = data[i + k].asByteBuffer();
          left += batch[k].remaining();
        }
        total += left;
        while (left > 0) {
          left -= ch.write(batch, 0, n);
        }
        if (force) {
          ch.force(false);
        }
      }
    }
    return mibPerSecond(total, System.nanoTime() - start);
  }

  /**
   * Blocks of random bytes; "compressible" blocks alternate 32 random and 32 zero bytes (as in
   * {@link SegmentLogWorkload}), which LZ4 stores in a little over half their size.
   */
  static MemorySegment[] fill(Arena arena, int blocks, int blockSize, boolean compressible, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    MemorySegment[] out = new MemorySegment[blocks];
    byte[] chunk = new byte[blockSize];
    for (int i = 0; i < blocks; i++) {
      random.nextBytes(chunk);
      if (compressible) {
        for (int off = 32; off < blockSize; off += 64) {
          Arrays.fill(chunk, off, Math.min(off + 32, blockSize), (byte) 0);
        }
      }
      out[i] = arena.allocate(blockSize, 4096);
      MemorySegment.copy(MemorySegment.ofArray(chunk), 0, out[i], 0, blockSize);
    }
    return out;
  }

  // ---- ingestion -----------------------------------------------------------------------------------

  /**
   * Ingestion of 4× the default RAM budget ({@code spillway.streams.ingest-resident-bytes}) in 64 KiB
   * chunks through {@link Ingest#sink}, against the raw write of the same bytes, in the same round.
   */
  private static void ingestRates(Options o, ActorSystem<?> system) throws IOException {
    long budget = SpillwaySettings.defaults().streams().ingestResidentBytes();
    int chunk = 64 << 10;
    int chunks = (int) (4 * budget / chunk);
    System.out.printf(Locale.ROOT, "%ningestion of %s (4× the %s budget) in %s chunks through Ingest.sink vs a raw"
        + " write of the same bytes; MiB/s, median [min–max] of %d rounds%n", Sizes.format(4 * budget),
        Sizes.format(budget), Sizes.format(chunk), o.rounds);
    System.out.println("data            raw/stored   raw write MiB/s      ingest MiB/s         ingest/raw   in RAM at end");
    for (boolean compressible : new boolean[] {false, true}) {
      double[][] rates = new double[2][o.rounds];
      double[] ratio = new double[o.rounds];
      double compression = 0;
      long inRam = 0;
      try (Arena arena = Arena.ofShared()) {
        MemorySegment[] data = fill(arena, chunks, chunk, compressible, 13);
        List<ByteString> input = new ArrayList<>(chunks);
        for (MemorySegment d : data) {
          input.add(ByteString.fromArrayUnsafe(d.toArray(ValueLayout.JAVA_BYTE)));
        }
        for (int r = -o.warmup; r < o.rounds; r++) {
          Path dir = o.dir.resolve("round-ingest-" + compressible + "-" + r);
          Files.createDirectories(dir);
          double rawRate = 0;
          double ingestRate = 0;
          for (int k = 0; k < 2; k++) {
            if ((k == 0) == ((r & 1) == 0)) {
              rawRate = rawWrite(dir.resolve("raw"), data, (int) (BATCH_BYTES / chunk), false);
            } else {
              SpillwaySettings settings = settings(dir, SpillCodec.LZ4);
              try (BlockAllocator allocator = BlockAllocator.open(settings);
                  SpillPipeline pipeline = SpillPipeline.start(allocator, settings.spill(), system)) {
                long start = System.nanoTime();
                IngestSummary summary = Source.from(input)
                    .runWith(Ingest.sink(allocator, pipeline, settings.streams()), system)
                    .toCompletableFuture().join();
                ingestRate = mibPerSecond(summary.bytes(), System.nanoTime() - start);
                SpillStats stats = allocator.stats().spill();
                compression = (double) stats.rawBytesWritten() / stats.storedBytesWritten();
                inRam = allocator.stats().requestedBytes();
                if (summary.blocks() != chunks) {
                  throw new IllegalStateException("ingested " + summary.blocks() + " of " + chunks + " chunks");
                }
                if (o.verify) {
                  byte[] got = new byte[chunk];
                  for (int i = 0; i < chunks; i++) {
                    allocator.control().copyOut(summary.handles()[i], MemorySegment.ofArray(got));
                    if (!Arrays.equals(got, input.get(i).toArrayUnsafe())) {
                      throw new IllegalStateException("chunk " + i + " reads back wrong");
                    }
                  }
                }
              }
            }
          }
          deleteTree(dir);
          if (r >= 0) {
            rates[0][r] = rawRate;
            rates[1][r] = ingestRate;
            ratio[r] = ingestRate / rawRate;
          }
        }
      }
      System.out.printf(Locale.ROOT, "%-15s %6.2f:1    %s  %s  %s   %s%n", compressible ? "~2:1" : "incompressible",
          compression, spread(rates[0], "%5.0f", 19), spread(rates[1], "%5.0f", 19), spread(ratio, "%4.2f×", 0),
          Sizes.format(inRam));
    }
  }

  // ---- verification ------------------------------------------------------------------------------

  static long[] crcs(MemorySegment[] data) {
    long[] out = new long[data.length];
    for (int i = 0; i < data.length; i++) {
      CRC32C crc = new CRC32C();
      crc.update(data[i].asByteBuffer());
      out[i] = crc.getValue();
    }
    return out;
  }

  /** Reads every block back (restoring it if spilled) and compares its CRC32C with the original's. */
  static void verify(BlockAllocator allocator, long[] handles, MemorySegment[] data, long[] crcs) {
    long size = data[0].byteSize();
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment scratch = arena.allocate(size, 4096);
      for (int i = 0; i < handles.length; i++) {
        if (allocator.size(handles[i]) != size) {
          throw new IllegalStateException(
              "block " + i + " has size " + allocator.size(handles[i]) + ", expected " + size);
        }
        allocator.read(handles[i], 0, scratch, 0, size);
        CRC32C crc = new CRC32C();
        crc.update(scratch.asByteBuffer());
        if (crc.getValue() != crcs[i]) {
          long at = scratch.mismatch(data[i]);
          throw new IllegalStateException(String.format(Locale.ROOT,
              "block %d (handle %x) read back wrong: crc32c %08x, expected %08x; first difference at byte %d",
              i, handles[i], crc.getValue(), crcs[i], at));
        }
      }
    }
  }

}
