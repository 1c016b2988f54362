package dev.spillway.actors.pressure;

/**
 * The thresholds {@link PressureClassifier} applies, as fractions; {@link PressureClassifier} states
 * the rules. Validated on construction: an invalid combination fails naming the value and the bound
 * it breaks.
 *
 * @param lowWater resident share of the budget where spilling stops and {@code ELEVATED} starts, in (0, 1)
 * @param highWater resident share of the budget where spilling starts; also the share of a cgroup or
 *     direct-memory limit that is {@code CRITICAL}; in (lowWater, 1]
 * @param hysteresis how far a share must fall back below the threshold that raised a level before the
 *     level is left; in (0, lowWater)
 * @param minAvailable share of {@code MemTotal} that {@code MemAvailable} must stay at or above, else
 *     {@code CRITICAL}; in [0, 1 - hysteresis), 0 turning the rule off
 */
public record PressureWatermarks(double lowWater, double highWater, double hysteresis, double minAvailable) {

  /** Spill from 90% of the budget down to 75%, 5% hysteresis, CRITICAL under 5% of RAM available. */
  public static final PressureWatermarks DEFAULTS = new PressureWatermarks(0.75, 0.90, 0.05, 0.05);

  public PressureWatermarks {
    if (!(highWater > 0.0 && highWater <= 1.0)) {
      throw new IllegalArgumentException("highWater must be in (0, 1]: " + highWater);
    }
    if (!(lowWater > 0.0 && lowWater < highWater)) {
      throw new IllegalArgumentException("lowWater must be above 0 and below highWater (" + highWater
          + "), since spilling runs from highWater down to lowWater: " + lowWater);
    }
    if (!(hysteresis > 0.0 && hysteresis < lowWater)) {
      throw new IllegalArgumentException("hysteresis must be above 0 and below lowWater (" + lowWater
          + "), since ELEVATED is left at lowWater - hysteresis: " + hysteresis);
    }
    if (!(minAvailable >= 0.0 && minAvailable < 1.0 - hysteresis)) {
      throw new IllegalArgumentException("minAvailable must be at least 0 and below 1 - hysteresis ("
          + (1.0 - hysteresis) + "), since CRITICAL is left at minAvailable + hysteresis: " + minAvailable);
    }
  }
}
