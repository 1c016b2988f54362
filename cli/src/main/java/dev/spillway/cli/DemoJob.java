package dev.spillway.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spillway.Spillway;
import dev.spillway.SpillwayStats;
import dev.spillway.config.Sizes;
import dev.spillway.map.MapStats;
import dev.spillway.map.SpillMap;
import dev.spillway.memory.SpillStats;
import java.io.PrintStream;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The main job, on embedded defaults except for a small budget: the whole system runs (the facade,
 * the actors keeping memory within the budget, the spill pipeline, the NVMe tier in the default
 * private directory of this run, the Prometheus endpoint on 127.0.0.1). A working set four times the
 * budget is written as 4 KiB values under string keys into a keyed map ({@code spillway.map(...)}), then
 * read by key with Zipf(0.99)-skewed access, every read verified, while a progress line shows the
 * tier's figures; then every value is verified once more and the map is closed, and a summary table
 * gives throughput, RAM hit ratio, spill and restore counts and latencies, the map's hits per level
 * and demotions, resident against spilled bytes and GC time.
 */
final class DemoJob {
  static final long BUDGET = 32L << 20;
  static final int VALUE = 4096;
  static final int READS = 200_000;
  /** The name of the demo's map ({@code spillway.maps.demo} would configure it). */
  static final String MAP = "demo";
  private static final double ZIPF_S = 0.99;

  private final PrintStream out;
  private final boolean terminal;

  DemoJob(PrintStream out, boolean terminal) {
    this.out = out;
    this.terminal = terminal;
  }

  /** Runs the job; true when every value read back was the value written. */
  boolean run() {
    Config config = ConfigFactory.parseString("spillway { control { budget = " + BUDGET + " B,"
        + " idle { sweep-interval = 50 ms, idle-after = 200 ms } }, metrics { tick = 1 s, prometheus {"
        + " enabled = true, port = 0 } } }");
    long gcBefore = gcMillis();
    long start = System.nanoTime();
    try (Spillway spillway = Spillway.create(config)) {
      SpillMap<String, byte[]> map = spillway.map(MAP, String.class, byte[].class);
      int values = (int) (4 * BUDGET / VALUE);
      out.printf("Spillway demo: %d values of %s (%s, 4x the %s budget) on the embedded defaults, in the map '%s'%n",
          values, Sizes.format(VALUE), Sizes.format((long) values * VALUE), Sizes.format(BUDGET), MAP);
      out.printf("tier: %s; metrics: http://127.0.0.1:%d/metrics%n", spillway.tierDirectories().getFirst(),
          spillway.metricsEndpoint().map(a -> a.getPort()).orElse(-1));
      byte[] buf = new byte[VALUE];
      Progress progress = new Progress(out, terminal, spillway);
      long loadStart = System.nanoTime();
      for (int i = 0; i < values; i++) {
        fill(buf, i);
        map.set(key(i), buf); // the map copies the bytes
        progress.step("load ", i + 1, values);
      }
      double loadSeconds = (System.nanoTime() - loadStart) / 1e9;
      Zipf zipf = new Zipf(values, ZIPF_S, new SplittableRandom(7));
      long[] missNanos = new long[READS];
      int misses = 0;
      int bad = 0;
      long readStart = System.nanoTime();
      for (int r = 0; r < READS; r++) {
        int i = zipf.next();
        String key = key(i);
        boolean resident = map.isResident(key);
        long t0 = System.nanoTime();
        byte[] value = map.get(key);
        long t = System.nanoTime() - t0;
        if (!resident) {
          missNanos[misses++] = t;
        }
        if (!matches(value, i)) {
          bad++;
        }
        progress.step("read ", r + 1, READS);
      }
      double readSeconds = (System.nanoTime() - readStart) / 1e9;
      for (int i = 0; i < values; i++) {
        if (!matches(map.get(key(i)), i)) {
          bad++;
        }
        progress.step("check", i + 1, values);
      }
      if (map.size() != values) {
        out.printf("FAILED: the map holds %d entries, not %d%n", map.size(), values);
        bad++;
      }
      SpillwayStats stats = spillway.statsAsync().toCompletableFuture().get(30, TimeUnit.SECONDS);
      MapStats mapStats = map.stats();
      map.close(); // frees every entry, in RAM or on the tier
      long gc = gcMillis() - gcBefore;
      double total = (System.nanoTime() - start) / 1e9;
      printSummary(values, loadSeconds, readSeconds, misses, Arrays.copyOf(missNanos, misses), stats, mapStats, gc,
          total);
      if (bad == 0) {
        out.printf("verified every value (%d reads and %d values): OK%n", READS, values);
        return true;
      }
      out.printf("FAILED: %d values read back wrong%n", bad);
      return false;
    } catch (Exception e) {
      out.println("FAILED: " + e);
      return false;
    }
  }

  private void printSummary(int values, double loadSeconds, double readSeconds, int misses, long[] missNanos,
      SpillwayStats stats, MapStats map, long gcMillis, double totalSeconds) {
    Arrays.sort(missNanos);
    SpillStats spill = stats.allocator().spill();
    String[][] rows = {
      {"load", String.format(Locale.ROOT, "%.0f values/s (%.0f MiB/s)", values / loadSeconds,
          values * (double) VALUE / (1 << 20) / loadSeconds)},
      {"reads (Zipf 0.99)", String.format(Locale.ROOT, "%.0f reads/s", READS / readSeconds)},
      {"RAM hit ratio", String.format(Locale.ROOT, "%.1f %% (%d of %d reads restored a value)",
          100.0 * (READS - misses) / READS, misses, READS)},
      {"restore latency", misses == 0 ? "no restores" : String.format(Locale.ROOT, "p50 %.1f µs, p99 %.1f µs, max %.1f µs",
          missNanos[misses / 2] / 1e3, missNanos[(int) Math.min(misses - 1, misses * 0.99)] / 1e3,
          missNanos[misses - 1] / 1e3)},
      {"map '" + map.name() + "'", String.format(Locale.ROOT, "%d entries (index %s off-heap), %d misses, %d demoted,"
          + " %d promoted", map.entries(), Sizes.format(map.offHeapIndexBytes()), map.misses(), map.demotions(),
          map.promotions())},
      {"map hits by level", String.format(Locale.ROOT, "L1 %d, L2 %d, L3 %d (brought back from NVMe)", map.l1Hits(),
          map.l2Hits(), map.l3Hits())},
      {"spills / restores", spill.spills() + " / " + spill.restores() + " (" + spill.restoresInPlace()
          + " in place, " + spill.failedSpills() + " failed spills)"},
      {"written to the tier", Sizes.format(spill.rawBytesWritten()) + " raw, " + Sizes.format(spill.storedBytesWritten())
          + " stored"},
      {"resident vs spilled", Sizes.format(stats.allocator().requestedBytes()) + " in RAM, "
          + Sizes.format(spill.spilledBytes()) + " on the tier (mapped " + Sizes.format(stats.mappedBytes())
          + " of a " + Sizes.format(stats.budgetBytes()) + " budget)"},
      {"pressure", stats.pressure().level().toString()},
      {"GC time", String.format(Locale.ROOT, "%d ms (%.2f %% of %.1f s)", gcMillis, gcMillis / 10.0 / totalSeconds,
          totalSeconds)},
    };
    int width = Arrays.stream(rows).mapToInt(r -> r[0].length()).max().orElse(0);
    out.println();
    for (String[] row : rows) {
      out.println(row[0] + " ".repeat(width - row[0].length()) + "  " + row[1]);
    }
    out.println();
    out.println(StatsTable.render(stats.allocator()));
  }

  private static long gcMillis() {
    long sum = 0;
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      sum += Math.max(0, gc.getCollectionTime());
    }
    return sum;
  }

  /** The key of value {@code i}. */
  static String key(int i) {
    return "value-" + i;
  }

  /** Value {@code i}: its number, then a stream seeded by it, so a misplaced or torn value is caught. */
  static void fill(byte[] buf, int i) {
    new SplittableRandom(i).nextBytes(buf);
    java.nio.ByteBuffer.wrap(buf).putInt(0, i);
  }

  static boolean matches(byte[] buf, int i) {
    if (buf == null || buf.length != VALUE) {
      return false;
    }
    byte[] expected = new byte[buf.length];
    fill(expected, i);
    return Arrays.equals(buf, expected);
  }

  /** Zipf(s) over {@code 0..n-1} by inverse transform on a precomputed CDF: rank 0 is the hottest. */
  static final class Zipf {
    private final double[] cdf;
    private final SplittableRandom random;

    Zipf(int n, double s, SplittableRandom random) {
      this.random = random;
      cdf = new double[n];
      double sum = 0;
      for (int k = 0; k < n; k++) {
        sum += 1.0 / Math.pow(k + 1, s);
        cdf[k] = sum;
      }
      for (int k = 0; k < n; k++) {
        cdf[k] /= sum;
      }
    }

    int next() {
      int i = Arrays.binarySearch(cdf, random.nextDouble());
      return Math.min(cdf.length - 1, i >= 0 ? i : -i - 1);
    }
  }

  /** A progress bar (redrawn in place on a terminal, a line per quarter otherwise) with the tier's figures. */
  private static final class Progress {
    private final PrintStream out;
    private final boolean terminal;
    private final Spillway spillway;
    private int lastShown = -1;

    Progress(PrintStream out, boolean terminal, Spillway spillway) {
      this.out = out;
      this.terminal = terminal;
      this.spillway = spillway;
    }

    void step(String phase, int done, int total) {
      int steps = terminal ? 50 : 4;
      int shown = (int) ((long) done * steps / total);
      if (shown == lastShown && done != total) {
        return;
      }
      lastShown = done == total ? -1 : shown;
      SpillStats s = spillway.memory().stats().spill();
      String bar = "#".repeat(shown * 20 / steps) + ".".repeat(20 - shown * 20 / steps);
      String line = String.format(Locale.ROOT, "%s [%s] %3d%%  in RAM %s, spilled %s, spills %d, restores %d",
          phase, bar, 100L * done / total, Sizes.format(spillway.memory().stats().requestedBytes()),
          Sizes.format(s.spilledBytes()), s.spills(), s.restores());
      if (terminal) {
        out.print("\r" + line + (done == total ? "\n" : ""));
      } else if (shown > 0 || done == total) {
        out.println(line);
      }
    }
  }
}
