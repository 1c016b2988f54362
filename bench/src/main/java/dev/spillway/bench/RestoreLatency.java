package dev.spillway.bench;

import static dev.spillway.bench.Figures.deleteTree;
import static dev.spillway.bench.Figures.max;
import static dev.spillway.bench.Figures.median;
import static dev.spillway.bench.Figures.min;
import static dev.spillway.bench.Figures.permutation;
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

import dev.spillway.bench.Figures.Target;
import dev.spillway.bench.SpillRestoreBenchmark.Options;
import dev.spillway.config.Sizes;
import dev.spillway.config.SpillSettings.SpillCodec;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.SpillStats;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.HdrHistogram.Histogram;

/**
 * The restore half of {@link SpillRestoreBenchmark}: the first {@code getLong} of a spilled 4 KiB
 * block (incompressible, so stored raw), which restores it transparently, timed one by one in random
 * order, against a raw positional 4 KiB read of a file of the same size at random aligned offsets;
 * both files just written, so both reads come from the page cache. The sides alternate in chunks of
 * {@value #CHUNK} samples and their order alternates between rounds. The raw file is written
 * without {@code force}, and the spill log is never forced either.
 *
 * <p>Targets, each a ratio taken within a round: restore p50 at most {@value #RESTORE_P50_TARGET}× the
 * raw read's p50, and restore p99 at most {@value #RESTORE_P99_TARGET}× the raw read's p99; printed
 * with the raw read's figures times those factors as the limits in µs.
 */
final class RestoreLatency {
  static final int RESTORE_BLOCK = 4096;
  /** Samples per side before the measurement switches to the other side. */
  static final int CHUNK = 64;
  static final double RESTORE_P50_TARGET = 2.0;
  static final double RESTORE_P99_TARGET = 1.5;
  private static final double[] PERCENTILES = {50, 90, 99, 99.9};

  private RestoreLatency() {}

  /** Prints the restore table; returns the targets, p50 then p99. */
  static List<Target> run(Options o) throws IOException {
    int blocks = (int) (o.restoreBytes() / RESTORE_BLOCK);
    int perBatch = (int) (BATCH_BYTES / RESTORE_BLOCK);
    double[][] rawP = new double[PERCENTILES.length][o.rounds()];
    double[][] spillP = new double[PERCENTILES.length][o.rounds()];
    double[] p50Ratio = new double[o.rounds()];
    double[] p99Ratio = new double[o.rounds()];
    long restores = 0;
    long inPlace = 0;
    long forwarded = 0;
    double compression = 0;
    try (Arena arena = Arena.ofShared()) {
      MemorySegment[] data = fill(arena, blocks, RESTORE_BLOCK, false, 11);
      long[] crcs = crcs(data);
      ByteBuffer buf = ByteBuffer.allocateDirect(RESTORE_BLOCK);
      for (int r = -o.warmup(); r < o.rounds(); r++) {
        Histogram raw = new Histogram(3_600_000_000L, 3);
        Histogram spill = new Histogram(3_600_000_000L, 3);
        Path dir = o.dir().resolve("round-restore-" + r);
        Files.createDirectories(dir);
        Path rawFile = dir.resolve("raw");
        try (BlockAllocator allocator = BlockAllocator.open(settings(dir, SpillCodec.LZ4))) {
          long[] handles = allocateAndFill(allocator, data);
          spillAll(allocator, handles, perBatch);
          rawWrite(rawFile, data, perBatch, false); // just before the reads: both files are in the page cache
          SplittableRandom random = new SplittableRandom(31L * r + 5);
          int[] order = permutation(blocks, random);
          try (FileChannel ch = FileChannel.open(rawFile, StandardOpenOption.READ)) {
            boolean spillFirst = (r & 1) == 0;
            for (int c = 0; c < blocks; c += CHUNK) {
              int n = Math.min(CHUNK, blocks - c);
              for (int pass = 0; pass < 2; pass++) {
                if ((pass == 0) == spillFirst) {
                  restoreChunk(allocator, handles, data, order, c, n, spill);
                } else {
                  rawReadChunk(ch, buf, blocks, n, random, raw);
                }
              }
            }
          }
          for (long h : handles) {
            if (!allocator.isResident(h)) {
              throw new IllegalStateException("block " + Long.toHexString(h) + " is not resident after getLong");
            }
          }
          verify(allocator, handles, data, crcs);
          SpillStats stats = allocator.stats().spill();
          if (stats.restores() != blocks || stats.failedRestores() != 0) {
            throw new IllegalStateException("after restoring " + blocks + " blocks: " + stats);
          }
          if (r >= 0) {
            restores += stats.restores();
            inPlace += stats.restoresInPlace();
            forwarded += stats.forwardedBlocks();
            compression = (double) stats.rawBytesWritten() / stats.storedBytesWritten();
          }
          for (long h : handles) {
            allocator.free(h);
          }
        }
        deleteTree(dir);
        if (r >= 0) {
          for (int p = 0; p < PERCENTILES.length; p++) {
            rawP[p][r] = raw.getValueAtPercentile(PERCENTILES[p]) / 1e3;
            spillP[p][r] = spill.getValueAtPercentile(PERCENTILES[p]) / 1e3;
          }
          p50Ratio[r] = (double) spill.getValueAtPercentile(50) / raw.getValueAtPercentile(50);
          p99Ratio[r] = (double) spill.getValueAtPercentile(99) / raw.getValueAtPercentile(99);
        }
      }
    }
    System.out.printf(Locale.ROOT, "%nrestore of a spilled 4 KiB block (first getLong) vs raw 4 KiB pread of a"
        + " %s file (page cache),%n%d samples each per round, alternating in chunks of %d; µs, median"
        + " [min–max] of %d rounds%n", Sizes.format(o.restoreBytes()), blocks, CHUNK, o.rounds());
    System.out.println("             p50                  p90                  p99                  p99.9");
    for (int side = 0; side < 2; side++) {
      double[][] p = side == 0 ? rawP : spillP;
      StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%-12s", side == 0 ? "raw pread" : "restore"));
      for (double[] col : p) {
        line.append(' ').append(spread(col, "%5.1f", 20));
      }
      System.out.println(line.toString().stripTrailing());
    }
    System.out.printf(Locale.ROOT, "LZ4 raw/stored %.2f:1; restores %d, in place %d (%.1f%%), forwarded %d%n",
        compression, restores, inPlace, 100.0 * inPlace / restores, forwarded);
    return List.of(target("p50", 0, RESTORE_P50_TARGET, p50Ratio, rawP, spillP),
        target("p99", 2, RESTORE_P99_TARGET, p99Ratio, rawP, spillP));
  }

  /**
   * Prints and returns the target of percentile {@code name} ({@link #PERCENTILES}{@code [p]}): restore
   * at most {@code factor}× the raw read, judged on the median of the per-round {@code ratio}s.
   */
  private static Target target(String name, int p, double factor, double[] ratio, double[][] rawP,
      double[][] spillP) {
    double[] limit = rawP[p].clone();
    for (int r = 0; r < limit.length; r++) {
      limit[r] *= factor;
    }
    boolean met = median(ratio) <= factor;
    System.out.printf(Locale.ROOT, "restore %s %s µs, limit %.2f× raw pread %s = %s µs; restore/raw %s <= %.2f×:"
        + " %s%n", name, spread(spillP[p], "%.1f"), factor, name, spread(limit, "%.1f"), spread(ratio, "%.2f×"),
        factor, verdict(met));
    return new Target("restore " + name + " 4KiB",
        String.format(Locale.ROOT, "%.2f× [%.2f–%.2f] raw (%.1f µs)", median(ratio), min(ratio), max(ratio),
            median(spillP[p])),
        String.format(Locale.ROOT, "<= %.2f× raw (%.1f µs; raw %s %.1f µs)", factor, median(limit), name,
            median(rawP[p])), met);
  }

  /** Restores {@code n} blocks of {@code order} from {@code from}, each timed on its own. */
  private static void restoreChunk(BlockAllocator allocator, long[] handles, MemorySegment[] data, int[] order,
      int from, int n, Histogram h) {
    for (int i = from; i < from + n; i++) {
      int b = order[i];
      long t0 = System.nanoTime();
      long v = allocator.getLong(handles[b], 0);
      long t1 = System.nanoTime();
      h.recordValue(t1 - t0);
      if (v != data[b].get(ValueLayout.JAVA_LONG_UNALIGNED, 0)) {
        throw new IllegalStateException("block " + b + " restored with a wrong first long");
      }
      SpillRestoreBenchmark.sink += v;
    }
  }

  /** {@code n} positional 4 KiB reads at random aligned offsets, each timed on its own. */
  private static void rawReadChunk(FileChannel ch, ByteBuffer buf, int blocks, int n, SplittableRandom random,
      Histogram h) throws IOException {
    for (int i = 0; i < n; i++) {
      long position = (long) random.nextInt(blocks) * RESTORE_BLOCK;
      buf.clear();
      long t0 = System.nanoTime();
      while (buf.hasRemaining()) {
        if (ch.read(buf, position + buf.position()) < 0) {
          throw new IOException("raw file ends before " + (position + buf.position()));
        }
      }
      long t1 = System.nanoTime();
      h.recordValue(t1 - t0);
      SpillRestoreBenchmark.sink += buf.getLong(0);
    }
  }

}
