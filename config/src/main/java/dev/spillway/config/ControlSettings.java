package dev.spillway.config;

import java.time.Duration;
import java.util.Objects;

/**
 * The control plane ({@code spillway.control}): the memory budget and how the pressure monitor and
 * the idle detector keep to it.
 *
 * @param budgetBytes the cap on mapped memory, or {@link #AUTO} to take {@code budgetFraction} of
 *     physical RAM or of the cgroup limit, whichever is smaller
 * @param budgetOverMemory whether an explicit budget may exceed the memory this process can have
 *     (physical RAM, or the cgroup limit when smaller); checked where that memory is known, in the
 *     actors module ({@code BudgetResolver}), since this module never reads the host
 * @param budgetFraction the share of that memory an automatic budget takes
 * @param slackFraction how far past the budget blocks coming back from the tier may go, as a share of
 *     the budget
 * @param allocateTimeout how long an allocation at the budget waits for room before it fails
 * @param pressureInterval how often the pressure monitor samples
 * @param lowWater spilling stops once live bytes fall to this share of the budget
 * @param highWater spilling starts once live bytes reach this share of the budget
 * @param hysteresis how far under a threshold a level is left again
 * @param minAvailable the share of the machine's RAM under which memory counts as critical
 * @param sweepInterval how often the idle detector sweeps the access clock
 * @param idleAfter blocks untouched this long become spill candidates
 * @param shrinkAfter a pool with no allocation or free for this long gives its empty slabs back
 */
public record ControlSettings(long budgetBytes, boolean budgetOverMemory, double budgetFraction, double slackFraction,
    Duration allocateTimeout, Duration pressureInterval, double lowWater, double highWater, double hysteresis,
    double minAvailable, Duration sweepInterval, Duration idleAfter, Duration shrinkAfter) {

  /** {@code budget = auto}. */
  public static final long AUTO = -1;

  public ControlSettings {
    Objects.requireNonNull(allocateTimeout, "allocateTimeout");
    Objects.requireNonNull(pressureInterval, "pressureInterval");
    Objects.requireNonNull(sweepInterval, "sweepInterval");
    Objects.requireNonNull(idleAfter, "idleAfter");
    Objects.requireNonNull(shrinkAfter, "shrinkAfter");
    if (budgetBytes != AUTO && budgetBytes < 1) {
      throw new IllegalArgumentException("budgetBytes = " + budgetBytes + ": allowed at least 1 B, or AUTO");
    }
    if (!(lowWater > 0 && lowWater < highWater && highWater <= 1)) {
      throw new IllegalArgumentException("lowWater = " + lowWater + ", highWater = " + highWater
          + ": allowed 0 < lowWater < highWater <= 1");
    }
  }

  /** A copy with a fixed budget. */
  public ControlSettings withBudget(long bytes) {
    return new ControlSettings(bytes, budgetOverMemory, budgetFraction, slackFraction, allocateTimeout,
        pressureInterval, lowWater, highWater, hysteresis, minAvailable, sweepInterval, idleAfter, shrinkAfter);
  }

  /** A copy that does or does not allow a budget above the memory this process can have. */
  public ControlSettings withBudgetOverMemory(boolean allowed) {
    return new ControlSettings(budgetBytes, allowed, budgetFraction, slackFraction, allocateTimeout,
        pressureInterval, lowWater, highWater, hysteresis, minAvailable, sweepInterval, idleAfter, shrinkAfter);
  }

  /** A copy with other timings (tests run the control plane in milliseconds). */
  public ControlSettings withTimings(Duration pressure, Duration sweep, Duration idle, Duration shrink,
      Duration allocate) {
    return new ControlSettings(budgetBytes, budgetOverMemory, budgetFraction, slackFraction, allocate, pressure,
        lowWater, highWater, hysteresis, minAvailable, sweep, idle, shrink);
  }

  private static long budget(ConfigReader c) {
    if (c.isWord("budget", "auto")) {
      return AUTO;
    }
    try {
      return c.bytes("budget", 1 << 20, 1L << 50);
    } catch (SettingsException e) {
      // The size reader's message does not know that this key also takes a word.
      String problem = e.getMessage().substring(e.key().length() + 2);
      throw new SettingsException(e.key(), problem + "; or write auto for budget-fraction of the memory this process"
          + " can have", e);
    }
  }

  static ControlSettings read(ConfigReader c) {
    long budget = budget(c);
    boolean overMemory = c.flag("budget-over-memory");
    double fraction = c.fraction("budget-fraction", false);
    double slack = c.fraction("budget-slack", true);
    Duration timeout = c.duration("allocate-timeout", Duration.ZERO, Duration.ofHours(1));
    ConfigReader p = c.child("pressure");
    Duration interval = p.duration("interval", Duration.ofMillis(1), Duration.ofMinutes(10));
    double low = p.fraction("low-water", false);
    double high = p.fraction("high-water", false);
    if (low >= high) {
      throw new SettingsException(p.key("low-water"), "= " + low + " is not under high-water = " + high
          + ": allowed 0 < low-water < high-water <= 1");
    }
    double hysteresis = p.fraction("hysteresis", false);
    if (hysteresis >= low) {
      throw new SettingsException(p.key("hysteresis"), "= " + hysteresis + " is not under low-water = " + low
          + ": allowed 0 < hysteresis < low-water");
    }
    double minAvailable = p.fraction("min-available", true);
    ConfigReader i = c.child("idle");
    Duration sweep = i.duration("sweep-interval", Duration.ofMillis(1), Duration.ofMinutes(10));
    Duration idleAfter = i.duration("idle-after", Duration.ofMillis(1), Duration.ofDays(7));
    Duration shrinkAfter = i.duration("shrink-after", Duration.ofMillis(1), Duration.ofDays(7));
    if (idleAfter.compareTo(sweep) < 0) {
      throw new SettingsException(i.key("idle-after"), "= " + idleAfter + " is shorter than sweep-interval = " + sweep
          + ": allowed idle-after >= sweep-interval (idleness is counted in sweeps)");
    }
    return new ControlSettings(budget, overMemory, fraction, slack, timeout, interval, low, high, hysteresis,
        minAvailable, sweep, idleAfter, shrinkAfter);
  }
}
