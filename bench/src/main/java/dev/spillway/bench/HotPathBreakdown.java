package dev.spillway.bench;

import dev.spillway.core.memory.BlockAllocator;
import java.util.Locale;

/**
 * Splits the cost of one allocate / touch / free round of 64 B blocks into its parts, all in L1:
 * batches of 64 allocations, 64 {@code putLong}s, 64 handle checks ({@code isLive}) and 64 frees,
 * timed separately. A workload main rather than JMH because the parts only make sense measured back to
 * back on the same blocks; it prints the median of several rounds.
 *
 * <pre>
 *   mvn -q -DskipTests package
 *   /usr/lib/jvm/temurin-25-jdk-amd64/bin/java --enable-native-access=ALL-UNNAMED \
 *       -cp bench/target/benchmarks.jar dev.spillway.bench.HotPathBreakdown
 * </pre>
 */
public final class HotPathBreakdown {
  private static final int BATCH = 64;
  private static final int ROUNDS = 9;
  private static final long BATCHES_PER_ROUND = 200_000;

  private static BlockAllocator allocator;
  private static final long[] handles = new long[BATCH];
  private static long sink;

  private HotPathBreakdown() {}

  public static void main(String[] args) {
    // Magazines of 128 so a batch of 64 never refills or flushes: only the fast path is timed.
    allocator = BlockAllocator.create(dev.spillway.config.SpillwaySettings.from(
        com.typesafe.config.ConfigFactory.parseString("spillway.memory.thread-cache.max-blocks-per-class = 128"))
        .memory());
    double[][] rounds = new double[ROUNDS][];
    for (int r = 0; r < ROUNDS; r++) {
      rounds[r] = round();
    }
    String[] names = {"allocate", "putLong", "isLive (handle check)", "free"};
    System.out.println("ns per operation, median of " + ROUNDS + " rounds of " + BATCHES_PER_ROUND + " x " + BATCH);
    for (int p = 0; p < names.length; p++) {
      double[] col = new double[ROUNDS];
      for (int r = 0; r < ROUNDS; r++) {
        col[r] = rounds[r][p];
      }
      java.util.Arrays.sort(col);
      System.out.printf(Locale.ROOT, "  %-22s %6.1f  (min %.1f, max %.1f)%n", names[p], col[ROUNDS / 2], col[0],
          col[ROUNDS - 1]);
    }
    allocator.close();
    if (sink == 42) {
      System.out.println();
    }
  }

  private static double[] round() {
    long alloc = 0;
    long put = 0;
    long check = 0;
    long free = 0;
    for (long i = 0; i < BATCHES_PER_ROUND; i++) {
      long t0 = System.nanoTime();
      allocateBatch();
      long t1 = System.nanoTime();
      putBatch();
      long t2 = System.nanoTime();
      checkBatch();
      long t3 = System.nanoTime();
      freeBatch();
      long t4 = System.nanoTime();
      alloc += t1 - t0;
      put += t2 - t1;
      check += t3 - t2;
      free += t4 - t3;
    }
    double ops = (double) BATCHES_PER_ROUND * BATCH;
    return new double[] {alloc / ops, put / ops, check / ops, free / ops};
  }

  private static void allocateBatch() {
    for (int i = 0; i < BATCH; i++) {
      handles[i] = allocator.allocate(64);
    }
  }

  private static void putBatch() {
    for (int i = 0; i < BATCH; i++) {
      allocator.putLong(handles[i], 0, i);
    }
  }

  private static void checkBatch() {
    for (int i = 0; i < BATCH; i++) {
      sink += allocator.isLive(handles[i]) ? 1 : 0;
    }
  }

  private static void freeBatch() {
    for (int i = 0; i < BATCH; i++) {
      allocator.free(handles[i]);
    }
  }
}
