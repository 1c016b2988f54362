package dev.spillway.actors.pressure;

import dev.spillway.PressureLevel;
import dev.spillway.PressureState;
import static dev.spillway.PressureLevel.CRITICAL;
import static dev.spillway.PressureLevel.ELEVATED;
import static dev.spillway.PressureLevel.HIGH;
import static dev.spillway.PressureLevel.NORMAL;

import java.util.Objects;
import java.util.OptionalDouble;

/**
 * Turns a {@link PressureSample} into a {@link PressureState}, given the previous state: a pure,
 * deterministic function. Each signal has its own level, the overall level is the most urgent, and
 * each level is <em>entered</em> when its threshold is reached and <em>kept</em>, while the signal
 * was already at it or above, until the share falls to its exit threshold: values flapping around a
 * threshold do not flap the level. With {@code L} lowWater, {@code H} highWater, {@code h} hysteresis
 * and {@code m} minAvailable of {@link PressureWatermarks}:
 *
 * <pre>
 * signal   share                          ELEVATED           HIGH               CRITICAL
 *                                         enter  / kept while enter / kept while enter  / kept while
 * budget   resident / budget              &ge; L   / &gt; L-h      &ge; H  / &gt; L       &ge; 1    / &gt; 1-h
 * cgroup   working set / memory.max       &ge; L   / &gt; L-h      -                  &ge; H    / &gt; H-h
 * direct   direct used / its limit        &ge; L   / &gt; L-h      -                  &ge; H    / &gt; H-h
 * system   MemAvailable / MemTotal        -                  -                  &lt; m    / &lt; m+h
 * </pre>
 *
 * HIGH is kept down to {@code L} rather than {@code H-h}: it is the spill band, spilling from the high
 * watermark to the low one. The cgroup and direct memory are hard limits (the OOM killer, an
 * {@code OutOfMemoryError}), so reaching {@code H} of them is CRITICAL at once. An absent reading, and a
 * cgroup without a limit, put that signal at NORMAL and drop whatever it held.
 */
public final class PressureClassifier {
  private final PressureWatermarks watermarks;
  private final double elevatedExit;
  private final double budgetCriticalExit;
  private final double limitCriticalExit;
  private final double availableExit;

  /** A classifier applying {@code watermarks}. */
  public PressureClassifier(PressureWatermarks watermarks) {
    this.watermarks = Objects.requireNonNull(watermarks, "watermarks");
    double h = watermarks.hysteresis();
    this.elevatedExit = watermarks.lowWater() - h;
    this.budgetCriticalExit = 1.0 - h;
    this.limitCriticalExit = watermarks.highWater() - h;
    this.availableExit = watermarks.minAvailable() + h;
  }

  /** The thresholds applied. */
  public PressureWatermarks watermarks() {
    return watermarks;
  }

  /** The state after {@code sample}, given the state after the previous one ({@link PressureState#INITIAL} at first). */
  public PressureState classify(PressureState previous, PressureSample sample) {
    MemoryReadings readings = sample.readings();
    PressureLevel system = readings.system().optional()
        .map(s -> system(previous.system(), s.availableFraction()))
        .orElse(NORMAL);
    OptionalDouble cgroupShare = readings.cgroup().optional()
        .map(CgroupMemory::usedFraction)
        .orElse(OptionalDouble.empty());
    PressureLevel cgroup = cgroupShare.isPresent() ? hardLimit(previous.cgroup(), cgroupShare.getAsDouble()) : NORMAL;
    PressureLevel direct = readings.direct().optional()
        .map(d -> hardLimit(previous.direct(), d.usedFraction()))
        .orElse(NORMAL);
    return new PressureState(budget(previous.budget(), sample.residentFraction()), system, cgroup, direct);
  }

  private PressureLevel budget(PressureLevel was, double share) {
    if (share >= 1.0 || (was == CRITICAL && share > budgetCriticalExit)) {
      return CRITICAL;
    }
    if (share >= watermarks.highWater() || (was.atLeast(HIGH) && share > watermarks.lowWater())) {
      return HIGH;
    }
    return elevated(was, share);
  }

  private PressureLevel hardLimit(PressureLevel was, double share) {
    if (share >= watermarks.highWater() || (was == CRITICAL && share > limitCriticalExit)) {
      return CRITICAL;
    }
    return elevated(was, share);
  }

  private PressureLevel elevated(PressureLevel was, double share) {
    return share >= watermarks.lowWater() || (was.atLeast(ELEVATED) && share > elevatedExit) ? ELEVATED : NORMAL;
  }

  private PressureLevel system(PressureLevel was, double availableShare) {
    return availableShare < watermarks.minAvailable() || (was == CRITICAL && availableShare < availableExit)
        ? CRITICAL
        : NORMAL;
  }
}
