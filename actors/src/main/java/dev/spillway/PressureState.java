package dev.spillway;

import dev.spillway.actors.pressure.PressureClassifier;
import java.util.Objects;

/**
 * The level each signal stands at after a classification, and the overall {@link #level()}: the most
 * urgent of them. Each signal keeps its own level so that its hysteresis holds only what it raised
 * itself: a level raised by the cgroup is not held up by resident bytes that never reached it. Pass
 * the state back to {@link PressureClassifier#classify} with the next sample.
 *
 * @param budget resident bytes against the budget
 * @param system host {@code MemAvailable} against {@code MemTotal}
 * @param cgroup the cgroup working set against its limit ({@code memory.max}; v1 {@code
 *     memory.limit_in_bytes})
 * @param direct JVM direct memory against its limit
 */
public record PressureState(PressureLevel budget, PressureLevel system, PressureLevel cgroup, PressureLevel direct) {

  /** Every signal {@link PressureLevel#NORMAL}: the state before the first sample. */
  public static final PressureState INITIAL =
      new PressureState(PressureLevel.NORMAL, PressureLevel.NORMAL, PressureLevel.NORMAL, PressureLevel.NORMAL);

  public PressureState {
    Objects.requireNonNull(budget, "budget");
    Objects.requireNonNull(system, "system");
    Objects.requireNonNull(cgroup, "cgroup");
    Objects.requireNonNull(direct, "direct");
  }

  /** The most urgent level of any signal. */
  public PressureLevel level() {
    return PressureLevel.max(PressureLevel.max(budget, system), PressureLevel.max(cgroup, direct));
  }
}
