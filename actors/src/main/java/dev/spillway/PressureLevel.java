package dev.spillway;

import dev.spillway.actors.pressure.PressureClassifier;

/**
 * How close Spillway is to running out of memory, in increasing order of urgency, and what the
 * control plane is expected to do at each level ({@link PressureClassifier} states when each applies).
 */
public enum PressureLevel {
  /** Room to spare: pools may grow ahead and blocks may be restored ahead of use. */
  NORMAL,
  /** Approaching a limit: stop growing and restoring ahead; idle blocks may spill. */
  ELEVATED,
  /** Resident bytes are in the spill band: spill cold blocks until back at the low watermark. */
  HIGH,
  /** At the budget, or the host, cgroup or JVM is about to refuse memory: spill as fast as the tier allows. */
  CRITICAL;

  /** Whether this level is {@code other} or more urgent. */
  public boolean atLeast(PressureLevel other) {
    return compareTo(other) >= 0;
  }

  /** The more urgent of {@code a} and {@code b}. */
  public static PressureLevel max(PressureLevel a, PressureLevel b) {
    return a.compareTo(b) >= 0 ? a : b;
  }
}
