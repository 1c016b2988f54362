package dev.spillway.bench;

import static dev.spillway.bench.Figures.deleteTree;
import static dev.spillway.bench.Figures.median;
import static dev.spillway.bench.Figures.mibPerSecond;

import dev.spillway.config.Sizes;
import dev.spillway.config.SpillwaySettings;
import dev.spillway.config.TierSettings;
import dev.spillway.codec.Codecs;
import dev.spillway.core.tier.SegmentLog;
import dev.spillway.memory.TierStats;
import dev.spillway.core.tier.Write;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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
import org.HdrHistogram.Histogram;

/**
 * The NVMe tier's segment log against the file system's own limits, in the same run:
 *
 * <ul>
 *   <li><b>append rate</b> of 4 KiB and 1 MiB off-heap blocks, incompressible and ~2:1 compressible,
 *       with durability {@code batch} (one gathering write and one fsync per 4 MiB batch), against a
 *       plain sequential {@link FileChannel} write of the same bytes in the same batches, each batch
 *       one gathering write followed by {@code force}. Rates are of raw (uncompressed) bytes.
 *   <li><b>read latency</b> of a random 4 KiB record (index lookup, positional read, CRC check,
 *       decode into off-heap memory) against a raw positional 4 KiB read at a random offset of a
 *       file of the same size; both files were just written, so both read from the page cache.
 * </ul>
 *
 * Each measurement alternates the two sides over several trials and reports medians. Files go to
 * {@code args[0]} (default: a fresh directory under {@code java.io.tmpdir}), deleted afterwards.
 *
 * <pre>
 *   mvn -q -DskipTests package
 *   /usr/lib/jvm/temurin-25-jdk-amd64/bin/java --enable-native-access=ALL-UNNAMED \
 *       --sun-misc-unsafe-memory-access=allow -cp bench/target/benchmarks.jar \
 *       dev.spillway.bench.SegmentLogWorkload [directory]
 * </pre>
 */
public final class SegmentLogWorkload {
  private static final long TOTAL_BYTES = 256L << 20;
  private static final long BATCH_BYTES = 4L << 20;
  private static final int TRIALS = 3;
  private static final int READS = 200_000;

  private SegmentLogWorkload() {}

  public static void main(String[] args) throws IOException {
    Path root = args.length > 0 ? Path.of(args[0]) : Files.createTempDirectory("spillway-bench");
    Files.createDirectories(root);
    Codecs codecs = Codecs.from(SpillwaySettings.defaults().codec());
    System.out.printf("segment log vs raw FileChannel, %s per trial, %s batches, %d trials, dir %s%n",
        Sizes.format(TOTAL_BYTES), Sizes.format(BATCH_BYTES), TRIALS, root);
    System.out.println("block    data            raw MiB/s   log MiB/s   log/raw   stored/raw");
    for (int blockSize : new int[] {4096, 1 << 20}) {
      for (boolean compressible : new boolean[] {false, true}) {
        appendRates(root, codecs, blockSize, compressible);
      }
    }
    readLatency(root, codecs);
    deleteTree(root);
  }

  // ---- append ----------------------------------------------------------------------------------

  private static void appendRates(Path root, Codecs codecs, int blockSize, boolean compressible)
      throws IOException {
    int blocks = (int) (TOTAL_BYTES / blockSize);
    int perBatch = (int) Math.max(1, BATCH_BYTES / blockSize);
    try (Arena arena = Arena.ofShared()) {
      MemorySegment[] data = fill(arena, blocks, blockSize, compressible);
      double[] raw = new double[TRIALS];
      double[] log = new double[TRIALS];
      double stored = 0;
      for (int t = 0; t < TRIALS; t++) {
        raw[t] = rawWrite(root.resolve("raw-" + t), data, perBatch);
        Path dir = root.resolve("log-" + t);
        long start = System.nanoTime();
        try (SegmentLog segmentLog = SegmentLog.open(settings(dir), codecs)) {
          List<Write> batch = new ArrayList<>(perBatch);
          for (int i = 0; i < blocks; i++) {
            batch.add(new Write(i, 1, codecs.lz4(), data[i]));
            if (batch.size() == perBatch || i == blocks - 1) {
              segmentLog.append(batch);
              batch.clear();
            }
          }
          log[t] = mibPerSecond(TOTAL_BYTES, System.nanoTime() - start);
          TierStats stats = segmentLog.stats();
          stored = (double) stats.liveBytes() / TOTAL_BYTES;
        }
        deleteTree(dir);
        Files.delete(root.resolve("raw-" + t));
      }
      double r = median(raw);
      double l = median(log);
      System.out.printf(Locale.ROOT, "%-8s %-14s %10.0f  %10.0f   %6.2f×   %8.2f%n", Sizes.classKey(blockSize),
          compressible ? "~2:1" : "incompressible", r, l, l / r, stored);
    }
  }

  private static TierSettings settings(Path dir) {
    return TierSettings.in(dir).withDurability(TierSettings.Durability.BATCH);
  }

  /** Writes every block sequentially, one gathering write and one force per batch; MiB/s. */
  private static double rawWrite(Path file, MemorySegment[] data, int perBatch) throws IOException {
    long start = System.nanoTime();
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      ByteBuffer[] batch = new ByteBuffer[perBatch];
      for (int i = 0; i < data.length; i += perBatch) {
        int n = Math.min(perBatch, data.length - i);
        for (int k = 0; k < n; k++) {
          batch[k] = data[i + k].asByteBuffer();
        }
        long left = 0;
        for (int k = 0; k < n; k++) {
          left += batch[k].remaining();
        }
        while (left > 0) {
          left -= ch.write(batch, 0, n);
        }
        ch.force(false);
      }
    }
    return mibPerSecond(TOTAL_BYTES, System.nanoTime() - start);
  }

  /**
   * Blocks of random bytes; "compressible" blocks alternate 32 random and 32 zero bytes, which LZ4
   * stores in a little over half their size (the stored/raw column reports the ratio reached).
   */
  private static MemorySegment[] fill(Arena arena, int blocks, int blockSize, boolean compressible) {
    SplittableRandom random = new SplittableRandom(7);
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

  // ---- read latency ------------------------------------------------------------------------------

  private static void readLatency(Path root, Codecs codecs) throws IOException {
    int blockSize = 4096;
    int blocks = (int) (TOTAL_BYTES / blockSize);
    Path rawFile = root.resolve("raw-read");
    Path dir = root.resolve("log-read");
    Histogram raw = new Histogram(3_600_000_000L, 3);
    Histogram log = new Histogram(3_600_000_000L, 3);
    try (Arena arena = Arena.ofShared()) {
      MemorySegment[] data = fill(arena, blocks, blockSize, false);
      rawWrite(rawFile, data, (int) (BATCH_BYTES / blockSize));
      try (SegmentLog segmentLog = SegmentLog.open(settings(dir), codecs);
          FileChannel ch = FileChannel.open(rawFile, StandardOpenOption.READ)) {
        List<Write> batch = new ArrayList<>();
        for (int i = 0; i < blocks; i++) {
          batch.add(new Write(i, 1, codecs.raw(), data[i]));
          if (batch.size() == 1024) {
            segmentLog.append(batch);
            batch.clear();
          }
        }
        if (!batch.isEmpty()) {
          segmentLog.append(batch);
        }
        MemorySegment dst = arena.allocate(blockSize, 4096);
        ByteBuffer buf = arena.allocate(blockSize, 4096).asByteBuffer();
        SplittableRandom random = new SplittableRandom(11);
        for (int i = 0; i < READS * 2; i++) { // first half warms up, second half is recorded
          boolean record = i >= READS;
          int key = random.nextInt(blocks);
          long t0 = System.nanoTime();
          long got = segmentLog.readInto(key, dst);
          long t1 = System.nanoTime();
          buf.clear();
          long position = (long) random.nextInt(blocks) * blockSize;
          while (buf.hasRemaining()) {
            ch.read(buf, position + buf.position());
          }
          long t2 = System.nanoTime();
          if (got != blockSize || dst.get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 0)
              != data[key].get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 0)) {
            throw new AssertionError("record " + key + " read back wrong");
          }
          if (record) {
            log.recordValue(t1 - t0);
            raw.recordValue(t2 - t1);
          }
        }
      }
    }
    System.out.printf(Locale.ROOT, "%nrandom 4 KiB reads of a %s file (page cache), %d each, µs:%n",
        Sizes.format(TOTAL_BYTES), READS);
    System.out.println("             p50      p99     p99.9");
    for (var e : List.of(java.util.Map.entry("raw pread", raw), java.util.Map.entry("segment log", log))) {
      Histogram h = e.getValue();
      System.out.printf(Locale.ROOT, "%-12s %6.1f   %6.1f   %6.1f%n", e.getKey(),
          h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(99) / 1e3, h.getValueAtPercentile(99.9) / 1e3);
    }
    System.out.printf(Locale.ROOT, "log/raw p99: %.2f×%n",
        (double) log.getValueAtPercentile(99) / raw.getValueAtPercentile(99));
    deleteTree(dir);
    Files.delete(rawFile);
  }

  // ---- helpers ---------------------------------------------------------------------------------

}
