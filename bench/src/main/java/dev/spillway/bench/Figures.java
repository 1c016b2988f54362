package dev.spillway.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * What every workload main needs once: the median and range of per-round figures, how they are
 * printed (targets as MET or MISS), a random permutation, and the removal of a benchmark's files.
 */
final class Figures {
  private Figures() {}

  /** The median (the mean of the two middle values for an even count). */
  static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int n = sorted.length;
    return (n & 1) == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }

  static double min(double[] values) {
    return Arrays.stream(values).min().orElse(Double.NaN);
  }

  static double max(double[] values) {
    return Arrays.stream(values).max().orElse(Double.NaN);
  }

  /** {@code median [min–max]} of {@code values}, each formatted with {@code format}, padded to {@code width}. */
  static String spread(double[] values, String format, int width) {
    String s = String.format(Locale.ROOT, format, median(values)) + " ["
        + String.format(Locale.ROOT, format, min(values)).strip() + "–"
        + String.format(Locale.ROOT, format, max(values)).strip() + "]";
    return width > 0 ? String.format(Locale.ROOT, "%-" + width + "s", s) : s;
  }

  /** {@code median [min–max]}, unpadded. */
  static String spread(double[] values, String format) {
    return spread(values, format, 0);
  }

  /** {@code MET} when a target is met, {@code MISS} otherwise. */
  static String verdict(boolean met) {
    return met ? "MET" : "MISS";
  }

  /**
   * One line of a "targets" summary: what was measured, its value (median [min–max] over rounds), the
   * limit it is held to, and whether it {@code met} that limit.
   */
  record Target(String what, String measured, String limit, boolean met) {
    private static final String LINE = "  %-42s %-36s %-38s %s";

    /** The column titles of {@link #line}. */
    static String header() {
      return String.format(Locale.ROOT, LINE, "target", "measured", "limit", "verdict");
    }

    String line() {
      return String.format(Locale.ROOT, LINE, what, measured, limit, verdict(met));
    }
  }

  static double mibPerSecond(long bytes, long nanos) {
    return bytes / (1024.0 * 1024.0) / (nanos / 1e9);
  }

  /** The numbers {@code 0 .. n-1} in an order drawn from {@code random} (Fisher–Yates). */
  static int[] permutation(int n, SplittableRandom random) {
    int[] a = new int[n];
    for (int i = 0; i < n; i++) {
      a[i] = i;
    }
    for (int i = n - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /** Deletes {@code dir} and everything under it; nothing when it does not exist. */
  static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
