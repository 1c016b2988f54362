package dev.spillway.bench;

import static dev.spillway.bench.Figures.permutation;

import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;
import java.util.zip.CRC32C;
import org.HdrHistogram.Histogram;

/**
 * What one child JVM of {@link TieredWorkload} does for one side: load every value, read for the
 * warm-up time (not measured), read for the measured time, then sample RSS and GC, close the store and
 * print one line {@code RESULT name=value ...} for the parent. Loads and reads run on
 * {@code threads} threads; thread {@code t} loads the keys {@code k ≡ t (mod threads)} and reads with
 * a Zipf generator seeded {@code seed + t}, so every side draws the same key sequence. Zipf ranks map
 * to keys through a fixed random permutation, so hot keys are spread over the key space (and over
 * the slabs and pages the stores put them in), not loaded first or last. A read is timed alone
 * ({@code get} only); its verification ({@link TieredValues#verify}) runs after the timing but counts
 * in the read rate. Any failure (a wrong value, an exception) ends the child with a non-zero exit and
 * its stack trace.
 */
final class TieredRun {
  static final double THETA = 0.99;
  static final long PERMUTATION_SEED = 0x5EEDL;
  private static final long WARMUP_SEED = 1_000;
  private static final long MEASURED_SEED = 2_000;
  private static final long HIGHEST_NANOS = 600_000_000_000L;

  private final String side;
  private final int keys;
  private final int threads;
  private final TieredValues.Kind kind;
  private final ZipfianKeys zipf;
  private final int[] rankToKey;

  private TieredRun(String side, long totalBytes, int threads, TieredValues.Kind kind) {
    this.side = side;
    this.keys = Math.toIntExact(totalBytes / TieredValues.SIZE);
    this.threads = threads;
    this.kind = kind;
    this.zipf = new ZipfianKeys(keys, THETA);
    this.rankToKey = permutation(keys, new SplittableRandom(PERMUTATION_SEED));
  }

  /** The child's main: runs {@code side} and prints its RESULT line. */
  static void run(String side, long totalBytes, long budgetBytes, int seconds, int warmupSeconds, int threads,
      TieredValues.Kind kind, Path dir, String spillwayConf, int maintainMillis) throws Exception {
    TieredRun run = new TieredRun(side, totalBytes, threads, kind);
    Files.createDirectories(dir);
    Map<String, String> result = new LinkedHashMap<>();
    TieredStore store = TieredStore.open(side, totalBytes, budgetBytes, dir, spillwayConf, maintainMillis, kind);
    try {
      Histogram loadLatency = new Histogram(HIGHEST_NANOS, 3);
      long loadNanos = run.load(store, loadLatency);
      result.put("loadMiBps", fmt(totalBytes / 1048576.0 / (loadNanos / 1e9)));
      result.put("loadSeconds", fmt(loadNanos / 1e9));
      result.put("loadP99us", fmt(loadLatency.getValueAtPercentile(99) / 1e3));
      result.put("loadMaxUs", fmt(loadLatency.getMaxValue() / 1e3));
      long gcBeforeReads = gcMillis();
      if (warmupSeconds > 0) {
        run.read(store, warmupSeconds, WARMUP_SEED, new Histogram(HIGHEST_NANOS, 3));
      }
      store.readsStart();
      long gcBeforeMeasured = gcMillis();
      Histogram readLatency = new Histogram(HIGHEST_NANOS, 3);
      long measuredStart = System.nanoTime();
      long reads = run.read(store, seconds, MEASURED_SEED, readLatency);
      long measuredNanos = System.nanoTime() - measuredStart;
      // Sampled at the end of the reads, before the store is closed.
      long uptimeMs = ManagementFactory.getRuntimeMXBean().getUptime();
      long gcMs = gcMillis();
      Map<String, Long> status = procStatus();
      result.put("reads", Long.toString(reads));
      result.put("readOps", fmt(reads / (measuredNanos / 1e9)));
      result.put("p50us", fmt(readLatency.getValueAtPercentile(50) / 1e3));
      result.put("p99us", fmt(readLatency.getValueAtPercentile(99) / 1e3));
      result.put("p999us", fmt(readLatency.getValueAtPercentile(99.9) / 1e3));
      result.put("maxUs", fmt(readLatency.getMaxValue() / 1e3));
      result.put("rssPeakMiB", fmt(status.getOrDefault("VmHWM", -1L) / 1024.0));
      result.put("rssMiB", fmt(status.getOrDefault("VmRSS", -1L) / 1024.0));
      result.put("gcMs", Long.toString(gcMs));
      result.put("gcPct", fmt(100.0 * gcMs / uptimeMs));
      result.put("uptimeMs", Long.toString(uptimeMs));
      result.put("gcReadsMs", Long.toString(gcMs - gcBeforeReads));
      result.put("gcMeasuredPct", fmt(100.0 * (gcMs - gcBeforeMeasured) / (measuredNanos / 1e6)));
      result.put("gcCounts", gcCounts());
      result.putAll(store.figures());
    } finally {
      long closeStart = System.nanoTime();
      store.close();
      result.put("closeMs", Long.toString((System.nanoTime() - closeStart) / 1_000_000));
    }
    StringBuilder line = new StringBuilder("RESULT side=" + side);
    result.forEach((k, v) -> line.append(' ').append(k).append('=').append(v));
    System.out.println(line);
  }

  /** Loads every key on {@link #threads} threads; returns the wall time of the whole load. */
  private long load(TieredStore store, Histogram latency) throws Exception {
    List<Histogram> perThread = new ArrayList<>();
    long start = System.nanoTime();
    onThreads("load", t -> {
      byte[] buf = new byte[TieredValues.SIZE];
      CRC32C crc = new CRC32C();
      Histogram h = new Histogram(HIGHEST_NANOS, 3);
      synchronized (perThread) {
        perThread.add(h);
      }
      for (int key = t; key < keys; key += threads) {
        TieredValues.fill(key, kind, buf, crc);
        long t0 = System.nanoTime();
        store.put(key, buf);
        h.recordValue(System.nanoTime() - t0);
      }
    });
    long nanos = System.nanoTime() - start;
    perThread.forEach(latency::add);
    return nanos;
  }

  /** Reads Zipf-drawn keys on {@link #threads} threads for {@code seconds}; returns how many. */
  private long read(TieredStore store, int seconds, long seed, Histogram latency) throws Exception {
    long deadline = System.nanoTime() + seconds * 1_000_000_000L;
    long[] counts = new long[threads];
    List<Histogram> perThread = new ArrayList<>();
    onThreads("read", t -> {
      SplittableRandom random = new SplittableRandom(seed + t);
      byte[] scratch = new byte[TieredValues.SIZE];
      CRC32C crc = new CRC32C();
      Histogram h = new Histogram(HIGHEST_NANOS, 3);
      synchronized (perThread) {
        perThread.add(h);
      }
      long n = 0;
      long t1 = 0;
      do {
        for (int i = 0; i < 256; i++) {
          int key = rankToKey[zipf.next(random)];
          long t0 = System.nanoTime();
          byte[] value = store.get(key, scratch);
          t1 = System.nanoTime();
          h.recordValue(t1 - t0);
          TieredValues.verify(key, value, crc);
        }
        n += 256;
      } while (t1 < deadline);
      counts[t] = n;
    });
    perThread.forEach(latency::add);
    long total = 0;
    for (long c : counts) {
      total += c;
    }
    return total;
  }

  /** A task of one thread, given its index. */
  private interface ThreadTask {
    void run(int thread) throws Exception;
  }

  /** Runs {@code task} on {@link #threads} platform threads and waits; rethrows the first failure. */
  private void onThreads(String name, ThreadTask task) throws Exception {
    AtomicReference<Throwable> failure = new AtomicReference<>();
    List<Thread> started = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      int index = t;
      started.add(Thread.ofPlatform().name(side + "-" + name + "-" + t).start(() -> {
        try {
          task.run(index);
        } catch (Throwable e) {
          failure.compareAndSet(null, e);
        }
      }));
    }
    for (Thread thread : started) {
      thread.join();
    }
    Throwable e = failure.get();
    if (e instanceof Exception ex) {
      throw ex;
    } else if (e instanceof Error err) {
      throw err;
    }
  }

  // ---- process figures -------------------------------------------------------------------------

  /**
   * Accumulated collection time of every collector, ms. For G1's young and mixed collections (and
   * the "G1 Concurrent GC" bean, which counts the Remark and Cleanup pauses) this approximates pause
   * time; it is not a measurement of safepoint pauses.
   */
  static long gcMillis() {
    long sum = 0;
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      sum += Math.max(0, gc.getCollectionTime());
    }
    return sum;
  }

  /** Per collector, count and ms, as {@code name:count:ms} joined by commas (spaces dropped). */
  private static String gcCounts() {
    List<String> parts = new ArrayList<>();
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      parts.add(gc.getName().replace(" ", "") + ":" + gc.getCollectionCount() + ":" + gc.getCollectionTime());
    }
    return String.join(",", parts);
  }

  /** The {@code kB} figures of {@code /proc/self/status} (VmHWM, VmRSS, ...). */
  private static Map<String, Long> procStatus() throws IOException {
    Map<String, Long> out = new LinkedHashMap<>();
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      String[] parts = line.split("\\s+", -1);
      if (parts.length == 3 && parts[2].equals("kB")) {
        out.put(parts[0].substring(0, parts[0].length() - 1), Long.parseLong(parts[1]));
      }
    }
    return out;
  }

  private static String fmt(double v) {
    return String.format(Locale.ROOT, "%.3f", v);
  }
}
