package dev.spillway.bench;

import java.util.SplittableRandom;

/**
 * Zipf-distributed ranks {@code 0 .. n-1} (rank 0 the most frequent, P(rank i) proportional to
 * {@code 1 / (i + 1)^theta}), drawn in O(1) with the method of Gray et al., "Quickly Generating
 * Billion-Record Synthetic Databases" (SIGMOD 1994), as YCSB's {@code ZipfianGenerator} does. The
 * method is exact for the two hottest ranks and a close approximation beyond. Immutable: threads
 * share one instance, each with its own {@link SplittableRandom}.
 */
final class ZipfianKeys {
  private final int n;
  private final double theta;
  private final double zetaN;
  private final double alpha;
  private final double eta;
  private final double secondBound;

  ZipfianKeys(int n, double theta) {
    if (n < 2 || !(theta > 0 && theta < 1)) {
      throw new IllegalArgumentException("Zipf over n = " + n + " with theta = " + theta
          + ": allowed n >= 2 and 0 < theta < 1");
    }
    this.n = n;
    this.theta = theta;
    this.zetaN = zeta(n, theta);
    double zeta2 = zeta(2, theta);
    this.alpha = 1.0 / (1.0 - theta);
    this.eta = (1 - Math.pow(2.0 / n, 1 - theta)) / (1 - zeta2 / zetaN);
    this.secondBound = 1 + Math.pow(0.5, theta);
  }

  /** The next rank, {@code 0 <= rank < n}. */
  int next(SplittableRandom random) {
    double u = random.nextDouble();
    double uz = u * zetaN;
    if (uz < 1.0) {
      return 0;
    }
    if (uz < secondBound) {
      return 1;
    }
    int rank = (int) (n * Math.pow(eta * u - eta + 1, alpha));
    return Math.min(rank, n - 1);
  }

  /** The share of draws that fall on the {@code k} hottest ranks (exact Zipf, not the approximation). */
  double shareOfTop(int k) {
    return zeta(Math.min(k, n), theta) / zetaN;
  }

  private static double zeta(int n, double theta) {
    double sum = 0;
    for (int i = 1; i <= n; i++) {
      sum += 1 / Math.pow(i, theta);
    }
    return sum;
  }
}
