package dev.spillway.bench;

import static dev.spillway.bench.Figures.deleteTree;
import static dev.spillway.bench.Figures.median;
import static dev.spillway.bench.Figures.spread;

import com.typesafe.config.ConfigFactory;
import dev.spillway.Spillway;
import dev.spillway.config.SpillwaySettings;
import dev.spillway.memory.BlockAllocator;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Splits the cost of one allocate / touch / free cycle of small blocks (64 B by default) into its
 * parts, all in L1 or L2:
 * batches of 64 allocations, 64 {@code putLong}s, 64 {@code write(handle, 0, byte[64])}s, 64
 * {@code getLong}s, 64 handle checks ({@code isLive}) and 64 frees, timed separately. A workload main
 * rather than JMH because the parts only make sense measured back to back on the same blocks.
 *
 * <p>Two allocators are compared in the same run: one without a tier, and one opened with a tier (a
 * fresh directory under {@code /var/tmp}, deleted afterwards), whose writes pass the write gate that
 * lets blocks move. Nothing is spilled, so the second column is what an allocator that <em>can</em>
 * spill pays on its fast path.
 *
 * <p>Each round measures each kind in a JVM of its own: one warm-up pass of
 * {@value #BATCHES_PER_ROUND} batches, not reported, then the median of {@value #PASSES} measured
 * passes (so one descheduling does not make a round). Separate JVMs because in one JVM both kinds
 * would share the compiled {@code SlabAllocator} methods, whose profile would then keep both the gated
 * and the ungated branch, which slows both kinds by several ns per write (see docs/benchmark-log.md,
 * "HotPathBreakdown: write gate cost"). The kinds alternate, the order reversed every other round so
 * drifting machine noise hits both alike, and the ratio is taken within each round. Printed: ns per operation, median [min–max] of the rounds.
 *
 * <p>Options: {@code --rounds=N} (default 9); {@code --block=N} (default 64), the size of the blocks
 * allocated (the write stays 64 B); {@code --clock}: instead of no tier against tier, compare blocks of
 * 512 B and of 1 KiB, both without a tier: the classes either side of where the idle clock (an age
 * byte per block, reset by every access) starts. {@code --fork=plain|tiered} is the child JVM's: it
 * measures one kind and prints the ns per operation of each part on one line. {@code --facade}: the
 * allocator with a tier against {@code Spillway.memory()} over one (the facade's wrapper and its
 * access counting), a budget of 1 GiB so nothing waits or spills.
 *
 * <pre>
 *   mvn -q -B -DskipTests -pl bench -am package
 *   /usr/lib/jvm/temurin-25-jdk-amd64/bin/java --enable-native-access=ALL-UNNAMED \
 *       --sun-misc-unsafe-memory-access=allow -cp bench/target/benchmarks.jar \
 *       dev.spillway.bench.HotPathBreakdown [--rounds=9]
 * </pre>
 */
public final class HotPathBreakdown {
  private static final int BATCH = 64;
  private static final int WARMUP = 1;
  private static final int PASSES = 3;
  private static final long BATCHES_PER_ROUND = 200_000;
  private static final String[] KINDS = {"plain", "tiered", "facade"};
  private static final String[] PARTS =
      {"allocate", "putLong", "write 64 B", "getLong", "isLive (handle check)", "free"};

  private static final long[] handles = new long[BATCH];
  private static final byte[] src = new byte[64];
  private static long sink;
  /** The child's block size ({@code --block}). */
  private static int blockSize = 64;

  private HotPathBreakdown() {}

  public static void main(String[] args) throws IOException, InterruptedException {
    int rounds = 9;
    String fork = null;
    int block = 64;
    boolean clock = false;
    boolean facade = false;
    for (String a : args) {
      if (a.startsWith("--rounds=")) {
        rounds = Integer.parseInt(a.substring("--rounds=".length()));
      } else if (a.startsWith("--fork=") && List.of(KINDS).contains(a.substring("--fork=".length()))) {
        fork = a.substring("--fork=".length());
      } else if (a.startsWith("--block=")) {
        block = Integer.parseInt(a.substring("--block=".length()));
      } else if (a.equals("--clock")) {
        clock = true;
      } else if (a.equals("--facade")) {
        facade = true;
      } else {
        throw new IllegalArgumentException("unknown argument '" + a + "': allowed --rounds=N --block=N --clock"
            + " --facade");
      }
    }
    if (rounds < 1 || block < 8 || block > 65536) {
      throw new IllegalArgumentException("--rounds=" + rounds + ", --block=" + block
          + ": allowed --rounds >= 1, --block from 8 to 65536");
    }
    if (fork != null) {
      measure(fork, block);
      return;
    }
    // Two variants per round: no tier and tier at --block, or with --clock no tier at 512 B and at
    // 1 KiB, the classes either side of where the idle clock starts (Slab.IDLE_CLOCK_FROM).
    // With --facade: the allocator with a tier against Spillway.memory() over one (access counting).
    String[] kinds = clock ? new String[] {"plain", "plain"}
        : facade ? new String[] {"tiered", "facade"} : new String[] {"plain", "tiered"};
    int[] blocks = clock ? new int[] {512, 1024} : new int[] {block, block};
    String[] labels = clock ? new String[] {"512 B (no clock)", "1 KiB (clock)"}
        : facade ? new String[] {"tier", "facade memory()"} : new String[] {"no tier", "tier (write gate)"};
    double[][][] ns = new double[2][PARTS.length][rounds]; // [variant][part][round]
    for (int r = 0; r < rounds; r++) {
      for (int k : (r & 1) == 0 ? new int[] {0, 1} : new int[] {1, 0}) {
        double[] parts = fork(kinds[k], blocks[k]);
        for (int p = 0; p < PARTS.length; p++) {
          ns[k][p][r] = parts[p];
        }
      }
    }
    print(ns, rounds, labels, clock ? "" : " of " + block + " B blocks");
  }

  /** Runs {@code --fork=kind} in a JVM with this one's options; returns its ns per operation of each part. */
  private static double[] fork(String kind, int block) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), HotPathBreakdown.class.getName(),
        "--fork=" + kind, "--block=" + block));
    Process child = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    int exit = child.waitFor();
    if (exit != 0) {
      throw new IllegalStateException("the --fork=" + kind + " JVM exited with " + exit + ": " + out);
    }
    return Arrays.stream(out.split(" ")).mapToDouble(Double::parseDouble).toArray();
  }

  /** The child's work: the warm-up and measured passes on one allocator; prints their median, one line. */
  private static void measure(String kind, int block) throws IOException {
    blockSize = block;
    // Magazines of 128 so a batch of 64 never refills or flushes: only the fast path is timed.
    String magazines = "spillway.memory.thread-cache.max-blocks-per-class = 128";
    SpillwaySettings settings = SpillwaySettings.from(ConfigFactory.parseString(magazines));
    Path tierDir = kind.equals("plain") ? null : Files.createTempDirectory(Path.of("/var/tmp"), "spillway-hotpath");
    Spillway spillway = null;
    BlockAllocator a;
    if (kind.equals("facade")) {
      spillway = Spillway.create(ConfigFactory.parseString(magazines + "\nspillway { control.budget = 1 GiB,"
          + " tier.directories = [\"" + tierDir + "\"], tier.durability = none }"));
      a = spillway.memory();
    } else if (kind.equals("tiered")) {
      a = BlockAllocator.open(settings.withTier(settings.tier().withDirectories(List.of(tierDir))));
    } else {
      a = BlockAllocator.create(settings.memory());
    }
    try {
      for (int r = 0; r < WARMUP; r++) {
        pass(a);
      }
      double[][] ns = new double[PARTS.length][PASSES]; // [part][pass]
      for (int r = 0; r < PASSES; r++) {
        double[] parts = pass(a);
        for (int p = 0; p < PARTS.length; p++) {
          ns[p][r] = parts[p];
        }
      }
      System.out.println(String.join(" ", Arrays.stream(ns).map(n -> Double.toString(median(n))).toList()));
    } finally {
      if (spillway != null) {
        spillway.close();
      } else {
        a.close();
      }
      if (tierDir != null) {
        deleteTree(tierDir);
      }
    }
    if (sink == 42) {
      System.out.println();
    }
  }

  private static void print(double[][][] ns, int rounds, String[] labels, String what) {
    System.out.printf(Locale.ROOT, "ns per operation%s, median [min–max] of %d rounds; each round runs each"
        + " variant in a JVM of its own (%d warm-up + median of %d passes of %d x %d), alternating; Java %s%n",
        what, rounds, WARMUP, PASSES, BATCHES_PER_ROUND, BATCH, Runtime.version());
    System.out.printf(Locale.ROOT, "  %-22s %-20s %-20s %s%n", "part", labels[0], labels[1], "second / first");
    for (int p = 0; p < PARTS.length; p++) {
      double[] ratio = new double[rounds];
      for (int r = 0; r < rounds; r++) {
        ratio[r] = ns[1][p][r] / ns[0][p][r];
      }
      System.out.printf(Locale.ROOT, "  %-22s %-20s %-20s %s%n", PARTS[p], spread(ns[0][p], "%.1f"),
          spread(ns[1][p], "%.1f"), spread(ratio, "%.2f×"));
    }
  }

  /** One pass on {@code a}: ns per operation of each of {@link #PARTS}. */
  private static double[] pass(BlockAllocator a) {
    long[] nanos = new long[PARTS.length];
    for (long i = 0; i < BATCHES_PER_ROUND; i++) {
      long t0 = System.nanoTime();
      allocateBatch(a);
      long t1 = System.nanoTime();
      putBatch(a);
      long t2 = System.nanoTime();
      writeBatch(a);
      long t3 = System.nanoTime();
      getBatch(a);
      long t4 = System.nanoTime();
      checkBatch(a);
      long t5 = System.nanoTime();
      freeBatch(a);
      long t6 = System.nanoTime();
      nanos[0] += t1 - t0;
      nanos[1] += t2 - t1;
      nanos[2] += t3 - t2;
      nanos[3] += t4 - t3;
      nanos[4] += t5 - t4;
      nanos[5] += t6 - t5;
    }
    double ops = (double) BATCHES_PER_ROUND * BATCH;
    return Arrays.stream(nanos).mapToDouble(n -> n / ops).toArray();
  }

  private static void allocateBatch(BlockAllocator a) {
    for (int i = 0; i < BATCH; i++) {
      handles[i] = a.allocate(blockSize);
    }
  }

  private static void putBatch(BlockAllocator a) {
    for (int i = 0; i < BATCH; i++) {
      a.putLong(handles[i], 0, i);
    }
  }

  private static void writeBatch(BlockAllocator a) {
    for (int i = 0; i < BATCH; i++) {
      a.write(handles[i], 0, src, 0, src.length);
    }
  }

  private static void getBatch(BlockAllocator a) {
    for (int i = 0; i < BATCH; i++) {
      sink += a.getLong(handles[i], 0);
    }
  }

  private static void checkBatch(BlockAllocator a) {
    for (int i = 0; i < BATCH; i++) {
      sink += a.isLive(handles[i]) ? 1 : 0;
    }
  }

  private static void freeBatch(BlockAllocator a) {
    for (int i = 0; i < BATCH; i++) {
      a.free(handles[i]);
    }
  }

}
