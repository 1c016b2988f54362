package dev.spillway.bench;

import static dev.spillway.bench.Figures.deleteTree;
import static dev.spillway.bench.Figures.max;
import static dev.spillway.bench.Figures.median;
import static dev.spillway.bench.Figures.min;
import static dev.spillway.bench.Figures.spread;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A tiered cache workload: {@code --total-mib} of 4 KiB values under a RAM budget of
 * {@code --budget-mib}, read with Zipf(0.99)-distributed keys and every value verified, on three
 * sides in the same run:
 *
 * <ul>
 *   <li><b>spillway</b>: {@code Spillway.create} with {@code control.budget} = the budget, the tier
 *       in the child's directory, durability {@code none}, every other setting at its default; a
 *       value is a 4 KiB block, keys index a {@code long[]} of handles, reads copy the block into a
 *       per-thread {@code byte[]} ({@code memory().read}).
 *   <li><b>ehcache</b>: Ehcache 3.12, heap tier of 1 entry, off-heap tier of the budget, disk tier of
 *       3× the data (not persistent), {@code Long} keys, {@code byte[]} values.
 *   <li><b>chm</b>: a {@code ConcurrentHashMap<Long, byte[]>} holding everything on the heap (no
 *       budget): the baseline of what RAM alone gives.
 * </ul>
 *
 * Each side runs in a JVM of its own, one per side and round (heap, GC and RSS are then the side's
 * own), which loads every value, reads for {@code --warmup-seconds} (not measured), reads for
 * {@code --seconds} (measured) and reports: load rate (MiB/s of values until the last put returns),
 * read ops/s (verification included), read latency percentiles (the {@code get} alone, every read
 * timed with {@code System.nanoTime} into an HdrHistogram), peak and current RSS at the end of the
 * reads ({@code VmHWM}, {@code VmRSS} of {@code /proc/self/status}) and the GC time: the sum of
 * every {@code GarbageCollectorMXBean}'s accumulated collection time (for G1 this approximates the
 * pause time) as a share of the JVM's uptime at the end of the reads. See {@link TieredRun} for the
 * phases and {@link TieredValues} for the values. The sides alternate, the order reversed every
 * other round, and ratios are taken within a round; tables give the median and [min–max] of the
 * rounds. Targets: Spillway's read ops/s ≥ 5× Ehcache's, Spillway's peak RSS ≤ 512 MiB (twice the
 * budget: the budget's blocks plus everything else the process holds) in every round, and Spillway's
 * GC time under 1% of its run
 * in every round. The default run takes about 10 minutes on the reference 2-vCPU machine (3 rounds ×
 * 3 sides × 41–47 s per child JVM), so it has no warm-up round: each child warms up on its own reads.
 * Ehcache's programmatic configuration needs no JAXB (only its XML configuration does): it runs with
 * {@code jaxb-runtime} excluded, as the parent POM does.
 *
 * <p>Options (all optional): {@code --total-mib=1024} (16 to 8192), {@code --budget-mib=256} (8 to
 * total), {@code --seconds=30} and {@code --warmup-seconds=10} of reads per side, {@code --rounds=3},
 * {@code --warmup=0} (whole rounds run first and not reported), {@code --threads=2},
 * {@code --side=all|spillway|ehcache|chm}, {@code --values=half-zero|random}, {@code --dir=PATH}
 * (default: a fresh directory under {@code java.io.tmpdir}, deleted afterwards; each child works in
 * {@code <dir>/<side>-<round>}, deleted after it), {@code --heap-spillway=512m},
 * {@code --heap-ehcache=2g}, {@code --heap-chm=3g} (the children's {@code -Xmx}; at 512m Ehcache ran
 * out of heap loading 1 GiB), {@code --spillway-conf=HOCON} (over the Spillway side's settings, e.g.
 * {@code 'spillway.control.idle.sweep-interval = 100 ms'}), {@code --spillway-maintain-ms=0} (a
 * diagnostic: above 0, the Spillway side calls {@code maintainPoolsAsync()}, a {@code maintain()} pass, at
 * that interval). Values default to {@code half-zero} (~2:1 for LZ4, so Spillway's tier stores about
 * 0.63 of the raw bytes while Ehcache's disk tier stores them as they are).
 * {@code --child=SIDE} is the child JVM's.
 *
 * <pre>
 *   mvn -q -B -DskipTests -pl bench -am package
 *   /usr/lib/jvm/temurin-25-jdk-amd64/bin/java -cp bench/target/benchmarks.jar \
 *       dev.spillway.bench.TieredWorkload --dir=/var/tmp/tiered
 * </pre>
 *
 * Smoke test (about a minute): {@code ... TieredWorkload --total-mib=64 --budget-mib=16 --seconds=3
 * --warmup-seconds=1 --rounds=1}.
 */
public final class TieredWorkload {
  static final List<String> SIDES = List.of("spillway", "spillmap", "spillmap-get", "ehcache", "mapdb", "ohc",
      "caffeine", "chm");
  /** Spillway's own sides: raw handles, and the keyed map. */
  private static final List<String> OURS = List.of("spillway", "spillmap", "spillmap-get");
  private static final double P99_TARGET = 0.5;
  private static final double READ_TARGET = 5.0;
  private static final double GC_TARGET_PCT = 1.0;
  private static final double RSS_TARGET_MIB = 512;

  private TieredWorkload() {}

  /** What the command line asked for. */
  record Options(long totalMib, long budgetMib, int seconds, int warmupSeconds, int rounds, int warmupRounds,
      int threads, List<String> sides, TieredValues.Kind values, Path dir, boolean tempDir,
      Map<String, String> heaps, String spillwayConf, int maintainMillis, String child) {

    static Options parse(String[] args) throws IOException {
      long total = 1024;
      long budget = 256;
      int seconds = 30;
      int warmupSeconds = 10;
      int rounds = 3;
      int warmup = 0;
      int threads = 2;
      String side = "all";
      String values = "half-zero";
      Path dir = null;
      Map<String, String> heaps = new LinkedHashMap<>(Map.of("spillway", "512m", "spillmap", "512m",
          "spillmap-get", "512m", "ehcache", "2g", "mapdb", "1g", "ohc", "512m", "caffeine", "1g", "chm", "3g"));
      String conf = null;
      int maintain = 0;
      String child = null;
      for (String a : args) {
        String value = a.contains("=") ? a.substring(a.indexOf('=') + 1) : "";
        String name = a.contains("=") ? a.substring(0, a.indexOf('=')) : a;
        switch (name) {
          case "--total-mib" -> total = number(name, value);
          case "--budget-mib" -> budget = number(name, value);
          case "--seconds" -> seconds = (int) number(name, value);
          case "--warmup-seconds" -> warmupSeconds = (int) number(name, value);
          case "--rounds" -> rounds = (int) number(name, value);
          case "--warmup" -> warmup = (int) number(name, value);
          case "--threads" -> threads = (int) number(name, value);
          case "--side" -> side = value;
          case "--values" -> values = value;
          case "--dir" -> dir = Path.of(value);
          case String h when h.startsWith("--heap-") && SIDES.contains(h.substring("--heap-".length())) -> {
            if (!value.matches("[1-9][0-9]*[kmgKMG]")) {
              throw new IllegalArgumentException(a + ": allowed a -Xmx size such as 512m or 3g");
            }
            heaps.put(name.substring("--heap-".length()), value);
          }
          case "--spillway-conf" -> conf = value;
          case "--spillway-maintain-ms" -> maintain = (int) number(name, value);
          case "--child" -> child = value;
          default -> throw new IllegalArgumentException("unknown argument '" + a + "': allowed --total-mib=N"
              + " --budget-mib=N --seconds=N --warmup-seconds=N --rounds=N --warmup=N --threads=N"
              + " --side=all|SIDE[,SIDE...] (sides: " + String.join(", ", SIDES) + ") --values=half-zero|random"
              + " --dir=PATH --heap-SIDE=SIZE --spillway-conf=HOCON --spillway-maintain-ms=N");
        }
      }
      if (total < 16 || total > 8192) {
        throw new IllegalArgumentException("--total-mib=" + total + ": allowed 16 to 8192");
      }
      if (budget < 8 || budget > total) {
        throw new IllegalArgumentException("--budget-mib=" + budget + ": allowed 8 to --total-mib (" + total + ")");
      }
      if (seconds < 1 || seconds > 3600 || warmupSeconds < 0 || warmupSeconds > 3600) {
        throw new IllegalArgumentException("--seconds=" + seconds + ", --warmup-seconds=" + warmupSeconds
            + ": allowed 1 to 3600 and 0 to 3600");
      }
      if (rounds < 1 || warmup < 0) {
        throw new IllegalArgumentException("--rounds=" + rounds + ", --warmup=" + warmup
            + ": allowed --rounds >= 1, --warmup >= 0");
      }
      if (maintain < 0 || maintain > 600_000) {
        throw new IllegalArgumentException("--spillway-maintain-ms=" + maintain + ": allowed 0 (off) to 600000");
      }
      if (threads < 1 || threads > 64) {
        throw new IllegalArgumentException("--threads=" + threads + ": allowed 1 to 64");
      }
      List<String> sides = side.equals("all") ? SIDES : List.of(side.split(","));
      if (!SIDES.containsAll(sides) || (child != null && !SIDES.contains(child))) {
        throw new IllegalArgumentException("--side=" + side + (child == null ? "" : ", --child=" + child)
            + ": allowed all, or sides among " + String.join(", ", SIDES) + " separated by commas");
      }
      TieredValues.Kind kind = TieredValues.Kind.of(values);
      boolean temp = dir == null;
      if (temp) {
        dir = Files.createTempDirectory("spillway-tiered");
      }
      dir = dir.toAbsolutePath().normalize();
      Files.createDirectories(dir);
      return new Options(total, budget, seconds, warmupSeconds, rounds, warmup, threads, sides, kind, dir, temp,
          heaps, conf, maintain, child);
    }

    private static long number(String name, String value) {
      try {
        return Long.parseLong(value);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(name + "=" + value + ": not a whole number", e);
      }
    }
  }

  public static void main(String[] args) throws Exception {
    Options o = Options.parse(args);
    if (o.child != null) {
      TieredRun.run(o.child, o.totalMib << 20, o.budgetMib << 20, o.seconds, o.warmupSeconds, o.threads, o.values,
          o.dir, o.spillwayConf, o.maintainMillis);
      return;
    }
    int keys = (int) ((o.totalMib << 20) / TieredValues.SIZE);
    int budgetKeys = (int) ((o.budgetMib << 20) / TieredValues.SIZE);
    System.out.printf(Locale.ROOT, "TieredWorkload: %d MiB of 4 KiB values (%d keys, %s), budget %d MiB,"
        + " Zipf(%.2f) reads on %d thread(s), %d s warm-up + %d s measured per side; %d round(s) + %d warm-up,"
        + " order alternating; Java %s; dir %s%n", o.totalMib, keys, o.values.option, o.budgetMib,
        TieredRun.THETA, o.threads, o.warmupSeconds, o.seconds, o.rounds, o.warmupRounds, Runtime.version(), o.dir);
    System.out.printf(Locale.ROOT, "Zipf(%.2f) over %d keys: the %d hottest (the budget's worth) draw %.1f%%"
        + " of reads, the %d hottest (75%%, Spillway's low-water) %.1f%%%n", TieredRun.THETA, keys, budgetKeys,
        100 * new ZipfianKeys(keys, TieredRun.THETA).shareOfTop(budgetKeys), budgetKeys * 3 / 4,
        100 * new ZipfianKeys(keys, TieredRun.THETA).shareOfTop(budgetKeys * 3 / 4));
    for (String side : o.sides) {
      System.out.println("  " + side + " JVM: " + String.join(" ", jvmFlags(o, side)));
    }
    if (o.spillwayConf != null) {
      System.out.println("  spillway settings over the workload's: " + o.spillwayConf);
    }
    if (o.maintainMillis > 0) {
      System.out.println("  diagnostic: Spillway's maintainPoolsAsync() (a maintain() pass) every " + o.maintainMillis + " ms");
    }
    Map<String, List<Map<String, String>>> results = new LinkedHashMap<>();
    o.sides.forEach(s -> results.put(s, new ArrayList<>()));
    for (int r = -o.warmupRounds; r < o.rounds; r++) {
      List<String> order = new ArrayList<>(o.sides);
      if (((r + o.warmupRounds) & 1) == 1) {
        java.util.Collections.reverse(order);
      }
      System.out.printf(Locale.ROOT, "%n%s %d: %s%n", r < 0 ? "warm-up round" : "round", r < 0 ? r + o.warmupRounds + 1
          : r + 1, String.join(", ", order));
      for (String side : order) {
        Map<String, String> result = fork(o, side, r);
        System.out.println("  " + summary(result));
        System.out.println("    " + String.join(" ", result.entrySet().stream()
            .map(e -> e.getKey() + "=" + e.getValue()).toList()));
        if (r >= 0) {
          results.get(side).add(result);
        }
      }
    }
    report(o, results);
    if (o.tempDir) {
      deleteTree(o.dir);
    }
  }

  /** The child JVM's flags for {@code side}. */
  static List<String> jvmFlags(Options o, String side) {
    return List.of("-Xmx" + o.heaps.get(side), "-XX:+UseG1GC", "-XX:MaxDirectMemorySize=2g",
        "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow");
  }

  /**
   * Runs one side in a JVM of its own and returns its RESULT figures. Its other output is passed
   * through, indented. A child that exits non-zero, prints no RESULT or outlives its time limit (a
   * thread dump is taken first) stops the whole run, its directory kept for inspection.
   */
  private static Map<String, String> fork(Options o, String side, int round) throws Exception {
    Path dir = o.dir.resolve(side + "-" + (round < 0 ? "w" + (round + o.warmupRounds) : Integer.toString(round)));
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(jvmFlags(o, side));
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), TieredWorkload.class.getName(),
        "--child=" + side, "--total-mib=" + o.totalMib, "--budget-mib=" + o.budgetMib, "--seconds=" + o.seconds,
        "--warmup-seconds=" + o.warmupSeconds, "--threads=" + o.threads, "--values=" + o.values.option,
        "--dir=" + dir));
    if (o.spillwayConf != null) {
      command.add("--spillway-conf=" + o.spillwayConf);
    }
    if (o.maintainMillis > 0) {
      command.add("--spillway-maintain-ms=" + o.maintainMillis);
    }
    Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
    List<String> resultLines = new ArrayList<>();
    Thread reader = Thread.ofPlatform().name("child-output").start(() -> {
      try (BufferedReader in = new BufferedReader(
          new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = in.readLine()) != null; ) {
          if (line.startsWith("RESULT ")) {
            synchronized (resultLines) {
              resultLines.add(line);
            }
          } else {
            System.out.println("    | " + line);
          }
        }
      } catch (IOException e) {
        System.out.println("    | (output lost: " + e + ")");
      }
    });
    long limitSeconds = 2L * (o.seconds + o.warmupSeconds) + 900;
    if (!child.waitFor(limitSeconds, TimeUnit.SECONDS)) {
      System.out.println("  " + side + " JVM (pid " + child.pid() + ") still running after " + limitSeconds
          + " s: thread dump follows, then it is killed");
      threadDump(child.pid());
      child.destroyForcibly().waitFor();
      reader.join();
      throw new IllegalStateException("the " + side + " JVM hung (over " + limitSeconds + " s); its directory "
          + dir + " is kept");
    }
    reader.join();
    int exit = child.exitValue();
    if (exit != 0 || resultLines.isEmpty()) {
      throw new IllegalStateException("the " + side + " JVM exited with " + exit + (resultLines.isEmpty()
          ? " without a RESULT line" : "") + ": see its output above; its directory " + dir + " is kept");
    }
    deleteTree(dir);
    Map<String, String> result = new LinkedHashMap<>();
    for (String kv : resultLines.getLast().substring("RESULT ".length()).split(" ", -1)) {
      result.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
    }
    return result;
  }

  private static void threadDump(long pid) {
    try {
      Process jcmd = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
          Long.toString(pid), "Thread.print").redirectErrorStream(true).start();
      System.out.println(new String(jcmd.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
      jcmd.waitFor(60, TimeUnit.SECONDS);
    } catch (IOException | InterruptedException e) {
      System.out.println("  (no thread dump: " + e + ")");
    }
  }

  private static String summary(Map<String, String> r) {
    return String.format(Locale.ROOT, "%-8s load %6.0f MiB/s (%.1f s)  reads %,10.0f/s (%.1f%% from the tier)"
            + "  p50 %.2f p99 %.2f p99.9 %.2f µs  RSS peak %.0f MiB  GC %s ms = %.2f%% of %.1f s", r.get("side"),
        d(r, "loadMiBps"), d(r, "loadSeconds"), d(r, "readOps"), tierPct(r), d(r, "p50us"), d(r, "p99us"),
        d(r, "p999us"), d(r, "rssPeakMiB"), r.get("gcMs"), d(r, "gcPct"), d(r, "uptimeMs") / 1000);
  }

  /**
   * The share of measured reads that went below RAM: Spillway's restores, Ehcache's disk-tier hits
   * (its off-heap tier missed); none for the map.
   */
  private static double tierPct(Map<String, String> r) {
    String below = r.containsKey("readRestores") ? "readRestores" : r.containsKey("l3Hits") ? "l3Hits"
        : r.containsKey("DiskReadHits") ? "DiskReadHits" : r.containsKey("misses") ? "misses" : null;
    return below == null ? 0 : 100 * d(r, below) / d(r, "reads");
  }

  // ---- the report --------------------------------------------------------------------------------

  private static void report(Options o, Map<String, List<Map<String, String>>> results) {
    System.out.printf(Locale.ROOT, "%nresults, median [min–max] of %d round(s); latency µs of the get alone;"
        + " GC = accumulated collection time / JVM uptime at the end of the reads%n", o.rounds);
    System.out.printf(Locale.ROOT, "%-9s %-20s %-31s %-20s %-20s %-22s %-22s %-22s %-20s%n", "side", "load MiB/s",
        "read ops/s", "reads from tier %", "p50 µs", "p99 µs", "p99.9 µs", "RSS peak MiB", "GC % of run");
    for (Map.Entry<String, List<Map<String, String>>> e : results.entrySet()) {
      List<Map<String, String>> rs = e.getValue();
      System.out.printf(Locale.ROOT, "%-9s %-20s %-31s %-20s %-20s %-22s %-22s %-22s %-20s%n", e.getKey(),
          spread(col(rs, "loadMiBps"), "%.0f"), spread(col(rs, "readOps"), "%,.0f"),
          spread(rs.stream().mapToDouble(TieredWorkload::tierPct).toArray(), "%.1f"), spread(col(rs, "p50us"), "%.2f"),
          spread(col(rs, "p99us"), "%.2f"), spread(col(rs, "p999us"), "%.1f"), spread(col(rs, "rssPeakMiB"), "%.0f"),
          spread(col(rs, "gcPct"), "%.2f"));
    }
    for (String ours : OURS) {
      List<Map<String, String>> mine = results.get(ours);
      if (mine == null) {
        continue;
      }
      for (String peer : SIDES) {
        List<Map<String, String>> p = results.get(peer);
        if (p == null || OURS.contains(peer)) {
          continue;
        }
        System.out.printf(Locale.ROOT, "%-8s / %-8s read ops/s %s   load %s   p99 latency %s%n", ours, peer,
            spread(ratio(mine, p, "readOps"), "%.2f×"), spread(ratio(mine, p, "loadMiBps"), "%.2f×"),
            spread(ratio(mine, p, "p99us"), "%.2f×"));
      }
    }
    System.out.printf(Locale.ROOT, "%ntargets:%n");
    for (String ours : OURS) {
      List<Map<String, String>> mine = results.get(ours);
      if (mine == null) {
        continue;
      }
      if (results.containsKey("ehcache")) {
        double[] ratio = ratio(mine, results.get("ehcache"), "readOps");
        double m = median(ratio);
        System.out.printf(Locale.ROOT, "  %-8s read ops/s >= %.1f× Ehcache's:   %.2f× [%.2f–%.2f]  %s%n", ours,
            READ_TARGET, m, min(ratio), max(ratio), Figures.verdict(m >= READ_TARGET));
        if (ours.startsWith("spillmap")) {
          double[] p99 = ratio(mine, results.get("ehcache"), "p99us");
          double mp = median(p99);
          System.out.printf(Locale.ROOT, "  %-8s p99 <= %.1f× Ehcache's:         %.2f× [%.2f–%.2f]  %s%n", ours,
              P99_TARGET, mp, min(p99), max(p99), Figures.verdict(mp <= P99_TARGET));
        }
      }
      double[] gc = col(mine, "gcPct");
      System.out.printf(Locale.ROOT, "  %-8s GC < %.0f%% of its run (every round): %.2f%% [%.2f–%.2f]  %s%n", ours,
          GC_TARGET_PCT, median(gc), min(gc), max(gc), Figures.verdict(max(gc) < GC_TARGET_PCT));
      double[] rss = col(mine, "rssPeakMiB");
      System.out.printf(Locale.ROOT, "  %-8s peak RSS <= %.0f MiB (every round): %.0f MiB [%.0f–%.0f]  %s%n", ours,
          RSS_TARGET_MIB, median(rss), min(rss), max(rss), Figures.verdict(max(rss) <= RSS_TARGET_MIB));
      if (ours.startsWith("spillmap")) {
        boolean lost = mine.stream().anyMatch(r -> !r.get("misses").equals("0"));
        System.out.printf(Locale.ROOT, "  %-8s no key lost (no read missed, every value verified): %s%n", ours,
            Figures.verdict(!lost));
      }
    }
  }

  private static double d(Map<String, String> r, String key) {
    return Double.parseDouble(r.get(key));
  }

  private static double[] col(List<Map<String, String>> rs, String key) {
    return rs.stream().mapToDouble(r -> d(r, key)).toArray();
  }

  /** Per round, {@code a}'s figure over {@code b}'s. */
  private static double[] ratio(List<Map<String, String>> a, List<Map<String, String>> b, String key) {
    double[] out = new double[a.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = d(a.get(i), key) / d(b.get(i), key);
    }
    return out;
  }

}
