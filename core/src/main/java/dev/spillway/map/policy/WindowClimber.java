package dev.spillway.map.policy;

/**
 * W-TinyLFU's hill climber, as Caffeine 3.2 climbs ({@code determineAdjustment}): it decides how
 * much weight the admission window gains or gives up. Requests are sampled once the policy has held
 * half its maximum (before, a filling policy's misses would say nothing of its shares): hits and
 * misses are counted until they reach a sample of {@code sampleSize} (the sketch's, 10 × the
 * expected entries). Then the window moves by {@code step}, in the same direction if the hit rate
 * did not fall since the previous sample, in the other if it did. The first step is 6.25% of the
 * maximum towards a smaller window; each step is 2% shorter than the one before (so the window
 * settles), and a change of the hit rate by 5 points or more (the workload changed) restarts the
 * steps at 6.25%. The caller moves the shares and the entries.
 */
final class WindowClimber {
  static final double STEP_SHARE = 0.0625;
  static final double STEP_DECAY = 0.98;
  static final double RESTART_THRESHOLD = 0.05;

  private boolean sampling;
  private long hits;
  private long misses;
  private double previousHitRate;
  private double step;

  /** Starts over for a policy of {@code maximum}: no sample, the first step. */
  void reset(long maximum) {
    sampling = false;
    hits = 0;
    misses = 0;
    previousHitRate = 0;
    step = -STEP_SHARE * maximum;
  }

  /** A miss (an insert) that brought the policy to {@code weightedSize} of {@code maximum}. */
  void recordMiss(long weightedSize, long maximum) {
    if (!sampling && weightedSize >= maximum / 2) {
      sampling = true;
    }
    if (sampling) {
      misses++;
    }
  }

  /** A hit (a read or an update of a tracked entry). */
  void recordHit() {
    if (sampling) {
      hits++;
    }
  }

  /**
   * The weight to move into the window (negative: out of it) when a sample of {@code sampleSize}
   * requests is complete, which starts the next sample; 0 before.
   */
  long adjustment(long maximum, int sampleSize) {
    long requests = hits + misses;
    if (!sampling || requests < sampleSize) {
      return 0;
    }
    double hitRate = (double) hits / requests;
    double change = hitRate - previousHitRate;
    double amount = change >= 0 ? step : -step;
    step = Math.abs(change) >= RESTART_THRESHOLD
        ? Math.copySign(STEP_SHARE * maximum, amount)
        : STEP_DECAY * amount;
    previousHitRate = hitRate;
    hits = 0;
    misses = 0;
    return (long) amount;
  }
}
