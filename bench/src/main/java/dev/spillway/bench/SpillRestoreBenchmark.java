package dev.spillway.bench;

import static dev.spillway.bench.Figures.deleteTree;
import static dev.spillway.bench.Figures.max;
import static dev.spillway.bench.Figures.median;
import static dev.spillway.bench.Figures.mibPerSecond;
import static dev.spillway.bench.Figures.min;
import static dev.spillway.bench.Figures.spread;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.stream.javadsl.Source;
import akka.util.ByteString;
import dev.spillway.config.Sizes;
import dev.spillway.config.SpillSettings.SpillCodec;
import dev.spillway.config.SpillwaySettings;
import dev.spillway.config.TierSettings;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.SpillOutcome;
import dev.spillway.memory.spi.SpillReport;
import dev.spillway.memory.SpillStats;
import dev.spillway.streams.bulk.Ingest;
import dev.spillway.streams.bulk.IngestSummary;
import dev.spillway.streams.spill.SpillPipeline;
import dev.spillway.streams.spill.SpillQueueFullException;
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
import java.util.concurrent.CompletableFuture;
import java.util.zip.CRC32C;

/**
 * Spilling and restoring blocks of a {@link BlockAllocator} against the file system's own limits, in
 * the same run:
 *
 * <ul>
 *   <li><b>spill throughput</b> of 4 KiB and 1 MiB blocks, incompressible (random bytes) and ~2:1
 *       compressible (the generator of {@link SegmentLogWorkload}: 32 random bytes, 32 zero bytes),
 *       with durability {@code batch}: {@code spill(handles, i, n)} over all blocks in batches of
 *       4 MiB (one gathering write and one fsync per batch), spill codec LZ4 for both kinds and RAW
 *       for incompressible data; against a plain sequential {@link FileChannel} write of the same
 *       bytes (off-heap, page-aligned) in the same 4 MiB batches, each one gathering write followed by
 *       {@code force(false)}, to a fresh file in the same directory. Rates are MiB/s of raw
 *       (uncompressed) bytes; raw/stored is the compression reached ({@code stats().spill()}).
 *   <li><b>restore latency</b> of a spilled 4 KiB block (incompressible, codec LZ4, so stored raw):
 *       the first {@code getLong(handle, 0)} after the spill, which restores it transparently, timed
 *       one by one in random order; against a raw positional 4 KiB read into a direct buffer at a
 *       random 4 KiB-aligned offset of a file of the same size. Both files were just written, so both
 *       reads come from the page cache; the two sides alternate in chunks of {@value RestoreLatency#CHUNK}.
 * </ul>
 *
 * Every round measures both sides of a row (their order alternates between rounds, so drifting
 * machine noise hits both alike) and ratios are taken within a round; the tables give the median of
 * the rounds and [min–max]. Warm-up rounds run first and are not reported. Each round opens a fresh
 * allocator (tier directory {@code <dir>/round-…}, spill log in its {@code spill} subdirectory),
 * frees its resident blocks and closes it (which releases the blocks still spilled: freeing those
 * one by one costs a tombstone write and an fsync each); files are deleted as soon as a round ends.
 * Restored bytes are checked against a CRC32C of what was written (with {@code --verify}, also every
 * block of the throughput rounds, restored after the timing).
 *
 * <p>Options (all optional): {@code [dir]} or {@code --dir=PATH} (default: a fresh directory under
 * {@code java.io.tmpdir}, deleted afterwards), {@code --total-mib=256} (bytes spilled per throughput
 * round, at most 1024), {@code --restore-mib=64} (bytes spilled and restored per latency round),
 * {@code --rounds=5}, {@code --warmup=1}, {@code --part=all|spill|restore}, {@code --verify}.
 *
 * <pre>
 *   mvn -q -B -DskipTests -pl bench -am package
 *   /usr/lib/jvm/temurin-25-jdk-amd64/bin/java --enable-native-access=ALL-UNNAMED \
 *       --sun-misc-unsafe-memory-access=allow -cp bench/target/benchmarks.jar \
 *       dev.spillway.bench.SpillRestoreBenchmark [dir] [--total-mib=256] [--restore-mib=64] [--rounds=5]
 * </pre>
 *
 * Smoke test (well under a minute): {@code ... SpillRestoreBenchmark --total-mib=16 --restore-mib=16
 * --rounds=2 --verify}.
 */
public final class SpillRestoreBenchmark {
  static final long BATCH_BYTES = 4L << 20;

  private static final double SPILL_TARGET = 0.80;
  private static final double COMPRESSIBLE_TARGET = 1.5;

  static long sink;

  private SpillRestoreBenchmark() {}

  /** What the command line asked for. */
  record Options(Path dir, boolean tempDir, long totalBytes, long restoreBytes, int rounds,
      int warmup, boolean spillPart, boolean restorePart, boolean ingestPart, boolean verify) {

    static Options parse(String[] args) throws IOException {
      Path dir = null;
      long total = 256;
      long restore = 64;
      int rounds = 5;
      int warmup = 1;
      String part = "all";
      boolean verify = false;
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
        } else if (!a.startsWith("--") && dir == null) {
          dir = Path.of(a);
        } else {
          throw new IllegalArgumentException("unknown argument '" + a + "': allowed [dir] --dir=PATH"
              + " --total-mib=N --restore-mib=N --rounds=N --warmup=N --part=all|spill|restore|ingest --verify");
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
          part.equals("all") || part.equals("ingest"), verify);
    }
  }

  public static void main(String[] args) throws IOException {
    Options o = Options.parse(args);
    System.out.printf(Locale.ROOT, "spill / restore vs raw FileChannel, Java %s, %d round(s) + %d warm-up,"
        + " durability batch, dir %s%n", Runtime.version(), o.rounds, o.warmup, o.dir);
    List<String> verdicts = new ArrayList<>();
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "spillway-bench");
    try {
      if (o.spillPart) {
        System.out.printf(Locale.ROOT, "%nspill throughput: %s per round; sync = spill(handles) in %s batches,"
            + " pipeline = SpillPipeline defaults (queue 4096, 2 encoders, 4 MiB / 5 ms batches); MiB/s of raw"
            + " bytes, median [min–max] of %d rounds%n", Sizes.format(o.totalBytes), Sizes.format(BATCH_BYTES),
            o.rounds);
        System.out.println("block   data            path      codec  raw/stored   raw write MiB/s      spill MiB/s"
            + "          spill/raw");
        for (int blockSize : new int[] {4096, 1 << 20}) {
          verdicts.addAll(spillRates(o, blockSize, false, system));
          verdicts.addAll(spillRates(o, blockSize, true, system));
        }
      }
      if (o.restorePart) {
        verdicts.add(RestoreLatency.run(o));
      }
      if (o.ingestPart) {
        ingestRates(o, system);
      }
    } finally {
      system.terminate();
    }
    System.out.printf(Locale.ROOT, "%ntargets (median of the per-round ratios):%n");
    verdicts.forEach(System.out::println);
    if (o.tempDir) {
      deleteTree(o.dir);
    }
    if (sink == 42) {
      System.out.println();
    }
  }

  // ---- spill throughput --------------------------------------------------------------------------

  /** The figures of one spill round. */
  private record SpillRun(double mibPerSecond, long rawBytes, long storedBytes) {}

  /** One way of writing the bytes: the raw FileChannel write, or a spill path with a codec. */
  private record Side(String path, SpillCodec codec) {}

  /**
   * One row per spill path and codec for {@code blockSize} and the data kind: the raw write and every
   * spill side alternate within each round, in reverse order every other round. Returns the verdicts.
   */
  private static List<String> spillRates(Options o, int blockSize, boolean compressible, ActorSystem<?> system)
      throws IOException {
    int blocks = (int) (o.totalBytes / blockSize);
    int perBatch = (int) Math.max(1, BATCH_BYTES / blockSize);
    List<SpillCodec> codecs = compressible ? List.of(SpillCodec.LZ4) : List.of(SpillCodec.LZ4, SpillCodec.RAW);
    List<Side> sideList = new ArrayList<>();
    sideList.add(new Side("raw", null));
    for (String path : List.of("sync", "pipeline")) {
      for (SpillCodec c : codecs) {
        sideList.add(new Side(path, c));
      }
    }
    int sides = sideList.size(); // side 0: the raw write
    double[][] rates = new double[sides][o.rounds];
    long[][] raw = new long[sides][o.rounds];
    long[][] stored = new long[sides][o.rounds];
    try (Arena arena = Arena.ofShared()) {
      MemorySegment[] data = fill(arena, blocks, blockSize, compressible, 7);
      long[] crcs = o.verify ? crcs(data) : null;
      for (int r = -o.warmup; r < o.rounds; r++) {
        for (int k = 0; k < sides; k++) {
          int side = (r & 1) == 0 ? k : sides - 1 - k;
          Side sd = sideList.get(side);
          Path dir = o.dir.resolve("round-" + blockSize + "-" + compressible + "-" + side + "-" + r);
          Files.createDirectories(dir);
          SpillRun run = switch (sd.path) {
            case "raw" -> new SpillRun(rawWrite(dir.resolve("raw"), data, perBatch), 0, 0);
            case "sync" -> spillRound(dir, data, perBatch, sd.codec, crcs, null);
            default -> spillRound(dir, data, perBatch, sd.codec, crcs, system);
          };
          deleteTree(dir);
          if (r >= 0) {
            rates[side][r] = run.mibPerSecond;
            raw[side][r] = run.rawBytes;
            stored[side][r] = run.storedBytes;
          }
        }
      }
    }
    List<String> verdicts = new ArrayList<>();
    String kind = compressible ? "~2:1" : "incompressible";
    for (int s = 1; s < sides; s++) {
      Side sd = sideList.get(s);
      double[] ratio = new double[o.rounds];
      for (int r = 0; r < o.rounds; r++) {
        ratio[r] = rates[s][r] / rates[0][r];
      }
      double compression = (double) Arrays.stream(raw[s]).sum() / Arrays.stream(stored[s]).sum();
      System.out.printf(Locale.ROOT, "%-7s %-15s %-9s %-5s  %6.2f:1    %s  %s  %s%n", Sizes.classKey(blockSize), kind,
          sd.path, sd.codec, compression, spread(rates[0], "%5.0f", 19), spread(rates[s], "%5.0f", 19),
          spread(ratio, "%4.2f×", 0));
      double target = compressible ? COMPRESSIBLE_TARGET : SPILL_TARGET;
      double m = median(ratio);
      verdicts.add(String.format(Locale.ROOT, "  %-8s %-6s %-15s codec %-3s  >= %.2f× raw write:  %5.3f×"
              + "  [%.2f–%.2f]  %s", sd.path, Sizes.classKey(blockSize), kind, sd.codec, target, m,
          min(ratio), max(ratio), m >= target ? "PASS" : "MISS"));
    }
    return verdicts;
  }

  /**
   * Opens an allocator on {@code dir}, copies {@code data} into fresh blocks and times spilling all of
   * them: in batches of {@code perBatch} with {@code spill(handles, i, n)}, or through a
   * {@link SpillPipeline} on {@code system} when one is given (one request per block, waiting for room
   * when the pipeline is full). Then (with {@code crcs}) restores and checks every block, frees the
   * resident blocks and closes the allocator.
   */
  private static SpillRun spillRound(Path dir, MemorySegment[] data, int perBatch, SpillCodec codec, long[] crcs,
      ActorSystem<?> system) throws IOException {
    int blockSize = (int) data[0].byteSize();
    long total = (long) data.length * blockSize;
    SpillwaySettings settings = settings(dir, codec);
    try (BlockAllocator allocator = BlockAllocator.open(settings)) {
      long[] handles = allocateAndFill(allocator, data);
      long start = System.nanoTime();
      if (system == null) {
        spillAll(allocator, handles, perBatch);
      } else {
        try (SpillPipeline pipeline = SpillPipeline.start(allocator, settings.spill(), system)) {
          spillThrough(pipeline, handles, settings.spill().queueSize());
        }
      }
      double rate = mibPerSecond(total, System.nanoTime() - start);
      SpillStats stats = allocator.stats().spill();
      if (stats.spilledBlocks() != handles.length || stats.rawBytesWritten() != total) {
        throw new IllegalStateException("after spilling " + handles.length + " blocks: " + stats);
      }
      if (crcs != null) {
        verify(allocator, handles, data, crcs);
      }
      // Blocks still spilled are left to close(), which releases them at once: freeing a spilled
      // block writes its tombstone on its own (one append and, with durability batch, one fsync each:
      // 0.2-1.4 ms per 4 KiB block on the reference machine, minutes per round at the default size).
      for (long h : handles) {
        if (allocator.isResident(h)) {
          allocator.free(h);
        }
      }
      return new SpillRun(rate, stats.rawBytesWritten(), stats.storedBytesWritten());
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
      SpillOutcome o = answers.get(i).join();
      if (o != SpillOutcome.SPILLED) {
        throw new IllegalStateException("block " + i + " answered " + o + " through the pipeline");
      }
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

  static SpillwaySettings settings(Path dir, SpillCodec codec) {
    SpillwaySettings d = SpillwaySettings.defaults();
    return d.withTier(d.tier().withDirectories(List.of(dir.toAbsolutePath()))
        .withDurability(TierSettings.Durability.BATCH)).withSpill(d.spill().withCodec(codec));
  }

  /** Writes every block sequentially, one gathering write and one force per batch; MiB/s. */
  static double rawWrite(Path file, MemorySegment[] data, int perBatch) throws IOException {
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
        ch.force(false);
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
              rawRate = rawWrite(dir.resolve("raw"), data, (int) (BATCH_BYTES / chunk));
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

  // ---- helpers -----------------------------------------------------------------------------------

}
