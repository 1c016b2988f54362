package dev.spillway.bench;

import static dev.spillway.bench.Figures.deleteTree;
import static dev.spillway.bench.Figures.median;
import static dev.spillway.bench.Figures.mibPerSecond;
import static dev.spillway.bench.Figures.spread;
import static dev.spillway.bench.Figures.verdict;

import com.typesafe.config.ConfigFactory;
import dev.spillway.bench.CompressionInputs.Input;
import dev.spillway.codec.Codec;
import dev.spillway.codec.Codecs;
import dev.spillway.config.Sizes;
import dev.spillway.config.SpillwaySettings;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.spi.SpillReport;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Compression ratio and spill / restore throughput of the spill codecs raw, LZ4 and Zstd (levels 3,
 * its default, and 1 and 9) on real files ({@link CompressionInputs}: the JDK's module image and a tar
 * of {@code /usr/share/doc}), through the real spill path, with the goal <b>Zstd (level 3, 64 KiB
 * blocks) stores the doc tar at least 2:1</b> printed as MET or MISS.
 *
 * <p>Per row (input × block size × codec) and round, a fresh {@link BlockAllocator} with {@code
 * spillway.spill.codec} (and {@code codec.zstd.level}) set, tier in a fresh directory:
 *
 * <ul>
 *   <li><b>spill</b>: the input cut into blocks of 64 KiB (4 KiB in the extra rows), 4 MiB of them at
 *       a time allocated, written from the input and spilled with {@code control().spill(handles, i,
 *       n)}: the caller encodes (with the {@code CompressionProbe}, which stops trying a codec after 16
 *       blocks in a row that did not pay) and appends to the spill log, which is never forced
 *       (durability none, as every spill log). MiB/s of input bytes over the whole loop.
 *   <li><b>raw/stored</b>: input bytes over the bytes the tier stored (record headers of 48 bytes
 *       included), from the spill reports; <b>codec alone</b>: the same with every block offered to
 *       the codec (no probe), computed once per row outside the timing, to show what the probe costs.
 *   <li><b>restore</b>: every block read back in order ({@code read(handle, ...)}, which restores it),
 *       compared byte for byte with the input (not timed) and freed. The spill files were just written,
 *       so restores read the page cache: the figure is the restore's CPU cost (read, CRC, decode).
 * </ul>
 *
 * Rows run one after another on one thread; each figure is the median [min–max] of the measured
 * rounds, after warm-up rounds that are not reported.
 *
 * <p>Options: {@code --dir=PATH} (default: a fresh directory under {@code java.io.tmpdir}, deleted
 * afterwards), {@code --rounds=3}, {@code --warmup=1}, {@code --max-mib=512} (cap of each input),
 * {@code --doc-tree=/usr/share/doc}.
 *
 * <pre>
 *   mvn -q -o -DskipTests package -pl bench -am
 *   bin/bench CompressionReport [--rounds=3] [--max-mib=512]
 * </pre>
 */
public final class CompressionReport {
  /** The goal: Zstd at level 3 on 64 KiB blocks stores the text-like input at least this compactly. */
  static final double GOAL_RATIO = 2.0;
  static final String GOAL_INPUT = "doc-tar";
  private static final long BATCH_BYTES = 4L << 20;
  private static final int HEADER = 48;

  /** One configuration of the spill path. */
  record Row(String codec, int level, int blockSize) {
    String label() {
      return codec.equals("zstd") ? "zstd-" + level : codec;
    }

    String hocon(Path dir) {
      return "spillway { tier.directories = [\"" + dir.toAbsolutePath() + "\"], spill.codec = " + codec
          + ", codec.zstd.level = " + (codec.equals("zstd") ? level : 3) + " }";
    }
  }

  /** What one row measured: per round figures. */
  @SuppressWarnings("ArrayRecordComponent") // a carrier the report reads, never compares or hashes
  record Result(Input input, Row row, double[] spill, double[] restore, double ratio, double codecAlone) {}

  private record Options(Path dir, boolean tempDir, int rounds, int warmup, long cap, Path docTree) {
    static Options parse(String[] args) throws IOException {
      Path dir = null;
      int rounds = 3;
      int warmup = 1;
      long cap = 512L << 20;
      Path docTree = Path.of("/usr/share/doc");
      for (String a : args) {
        String value = a.substring(a.indexOf('=') + 1);
        if (a.startsWith("--dir=")) {
          dir = Path.of(value);
        } else if (a.startsWith("--rounds=")) {
          rounds = Integer.parseInt(value);
        } else if (a.startsWith("--warmup=")) {
          warmup = Integer.parseInt(value);
        } else if (a.startsWith("--max-mib=")) {
          cap = Long.parseLong(value) << 20;
        } else if (a.startsWith("--doc-tree=")) {
          docTree = Path.of(value);
        } else {
          throw new IllegalArgumentException("unknown option " + a + ": allowed --dir=PATH, --rounds=N, --warmup=N,"
              + " --max-mib=N, --doc-tree=PATH");
        }
      }
      if (rounds < 1 || warmup < 0 || cap < 1 || cap > 1L << 30) {
        throw new IllegalArgumentException("--rounds must be at least 1, --warmup at least 0, --max-mib 1 to 1024");
      }
      boolean temp = dir == null;
      dir = temp ? Files.createTempDirectory("spillway-compression") : Files.createDirectories(dir);
      return new Options(dir, temp, rounds, warmup, cap, docTree);
    }
  }

  private CompressionReport() {}

  public static void main(String[] args) throws IOException {
    Options o = Options.parse(args);
    List<Row> rows = List.of(new Row("raw", 0, 64 << 10), new Row("lz4", 0, 64 << 10),
        new Row("zstd", 1, 64 << 10), new Row("zstd", 3, 64 << 10), new Row("zstd", 9, 64 << 10),
        new Row("lz4", 0, 4 << 10), new Row("zstd", 3, 4 << 10));
    try (Arena arena = Arena.ofShared()) {
      List<Input> inputs = CompressionInputs.load(arena, o.dir, o.cap, o.docTree);
      System.out.printf(Locale.ROOT, "compression report: Java %s, %d processor(s), %d round(s) + %d warm-up,"
          + " spill log durability none, dir %s%n", Runtime.version(), Runtime.getRuntime().availableProcessors(),
          o.rounds, o.warmup, o.dir);
      for (Input in : inputs) {
        System.out.printf(Locale.ROOT, "  %-12s %s: %s%n", in.name(), in.size(), in.what());
      }
      System.out.println("spill = allocate + write + control().spill in 4 MiB batches (the caller encodes, with the"
          + " probe); restore = read(handle) of every block, in order, from the page cache; MiB/s of input bytes,"
          + " median [min–max]; raw/stored counts 48-byte record headers; codec alone = every block offered to"
          + " the codec, no probe");
      String format = "%-12s %-7s %-8s %10s %12s   %-22s %-22s%n";
      System.out.printf(Locale.ROOT, format, "input", "block", "codec", "raw/stored", "codec alone",
          "spill MiB/s", "restore MiB/s");
      List<Result> results = new ArrayList<>();
      for (Input in : inputs) {
        for (Row row : rows) {
          Result r = measure(o, in, row);
          results.add(r);
          System.out.printf(Locale.ROOT, format, in.name(), Sizes.classKey(row.blockSize()), row.label(),
              String.format(Locale.ROOT, "%.2f", r.ratio()), String.format(Locale.ROOT, "%.2f", r.codecAlone()),
              spread(r.spill(), "%.0f"), spread(r.restore(), "%.0f"));
        }
      }
      printGoal(results);
    } finally {
      if (o.tempDir) {
        deleteTree(o.dir);
      }
    }
  }

  private static void printGoal(List<Result> results) {
    Result zstd = results.stream()
        .filter(r -> r.input().name().equals(GOAL_INPUT) && r.row().equals(new Row("zstd", 3, 64 << 10)))
        .findFirst().orElseThrow();
    Result lz4 = results.stream()
        .filter(r -> r.input().name().equals(GOAL_INPUT) && r.row().equals(new Row("lz4", 0, 64 << 10)))
        .findFirst().orElseThrow();
    System.out.printf(Locale.ROOT, "%ngoal: Zstd (level 3, 64 KiB blocks) stores the %s at least %.0f:1: measured"
        + " %.2f:1 (codec alone %.2f:1; LZ4 %.2f:1) -> %s%n", GOAL_INPUT, GOAL_RATIO, zstd.ratio(), zstd.codecAlone(),
        lz4.ratio(), verdict(zstd.ratio() >= GOAL_RATIO));
    System.out.printf(Locale.ROOT, "zstd-3 against lz4 at 64 KiB on the %s: %.2f× smaller records, spill %.2f×"
        + " the rate, restore %.2f× the rate%n", GOAL_INPUT, zstd.ratio() / lz4.ratio(),
        median(zstd.spill()) / median(lz4.spill()), median(zstd.restore()) / median(lz4.restore()));
  }

  /** The warm-up and measured rounds of one row. */
  private static Result measure(Options o, Input in, Row row) throws IOException {
    double[] spill = new double[o.rounds];
    double[] restore = new double[o.rounds];
    double ratio = 0;
    for (int round = -o.warmup; round < o.rounds; round++) {
      double[] figures = round(o.dir.resolve("round"), in, row);
      if (round >= 0) {
        spill[round] = figures[0];
        restore[round] = figures[1];
        ratio = figures[2];
      }
    }
    return new Result(in, row, spill, restore, ratio, codecAlone(in, row));
  }

  /** One round: spill MiB/s, restore MiB/s, raw/stored. */
  private static double[] round(Path dir, Input in, Row row) throws IOException {
    Files.createDirectories(dir);
    SpillwaySettings settings = SpillwaySettings.from(ConfigFactory.parseString(row.hocon(dir)));
    long total = in.bytes();
    int size = row.blockSize();
    int blocks = (int) ((total + size - 1) / size);
    int perBatch = (int) (BATCH_BYTES / size);
    long[] handles = new long[blocks];
    long raw = 0;
    long stored = 0;
    try (BlockAllocator a = BlockAllocator.open(settings)) {
      long start = System.nanoTime();
      for (int i = 0; i < blocks; i += perBatch) {
        int n = Math.min(perBatch, blocks - i);
        for (int k = i; k < i + n; k++) {
          long at = (long) k * size;
          long length = Math.min(size, total - at);
          handles[k] = a.allocate(length);
          a.write(handles[k], 0, in.data(), at, length);
        }
        SpillReport report = a.control().spill(handles, i, n);
        if (report.spilled() != n) {
          throw new IllegalStateException(row.label() + ": batch of " + n + " blocks from " + i + " spilled partly: "
              + report);
        }
        raw += report.rawBytes();
        stored += report.storedBytes();
      }
      double spillRate = mibPerSecond(total, System.nanoTime() - start);
      long restoreNanos = 0;
      try (Arena scratchArena = Arena.ofConfined()) {
        MemorySegment scratch = scratchArena.allocate(size, 4096);
        for (int k = 0; k < blocks; k++) {
          long at = (long) k * size;
          long length = Math.min(size, total - at);
          long t0 = System.nanoTime();
          a.read(handles[k], 0, scratch, 0, length);
          restoreNanos += System.nanoTime() - t0;
          long differs = MemorySegment.mismatch(scratch, 0, length, in.data(), at, at + length);
          if (differs >= 0) {
            throw new IllegalStateException(String.format(Locale.ROOT, "%s %s, block %d: byte %d restored wrong",
                in.name(), row.label(), k, differs));
          }
          a.free(handles[k]);
        }
      }
      if (raw != total) {
        throw new IllegalStateException(row.label() + ": spilled " + raw + " bytes of " + total);
      }
      return new double[] {spillRate, mibPerSecond(total, restoreNanos), (double) raw / stored};
    } finally {
      deleteTree(dir);
    }
  }

  /** Input bytes over stored bytes (headers included) with every block offered to the codec: no probe. */
  private static double codecAlone(Input in, Row row) {
    SpillwaySettings settings = SpillwaySettings.from(ConfigFactory.parseString(row.hocon(Path.of("/unused"))));
    Codec codec = Codecs.from(settings.codec()).byName(row.codec());
    int size = row.blockSize();
    ByteBuffer source = in.data().asByteBuffer();
    ByteBuffer out = ByteBuffer.allocateDirect((int) codec.maxStoredLength(size));
    long stored = 0;
    for (long at = 0; at < in.bytes(); at += size) {
      int length = (int) Math.min(size, in.bytes() - at);
      int n = codec.encode(source, (int) at, length, out.clear());
      stored += HEADER + (n == Codec.STORE_RAW ? length : n);
    }
    return (double) in.bytes() / stored;
  }
}
