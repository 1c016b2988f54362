package dev.spillway.actors.pressure;

import dev.spillway.config.ControlSettings;
import dev.spillway.config.SettingsException;
import dev.spillway.config.Sizes;
import java.util.Optional;

/**
 * The memory budget in bytes that {@code spillway.control} asks for on this host. {@code auto} is
 * {@code budget-fraction} of the memory this process can have ({@link DefaultBudget}), or {@link
 * #AUTO_FALLBACK_BYTES} where that memory cannot be read. A size is taken as it is when it fits that
 * memory ({@link MemoryCeiling}: {@code MemTotal}, or the cgroup limit when smaller) or when the
 * memory is unknown; above it, it is refused with a {@link SettingsException} naming the key, both
 * figures and the way out, unless {@code budget-over-memory = true} allows it. A budget the process
 * can never reach is worse than none: the kernel's OOM killer ends the process before the control
 * plane ever sees pressure, and nothing is spilled.
 */
public final class BudgetResolver {
  /** The budget {@code auto} stands for where neither RAM nor a cgroup limit can be read (not Linux). */
  public static final long AUTO_FALLBACK_BYTES = 1L << 30;

  static final String BUDGET_KEY = "spillway.control.budget";
  static final String OVER_MEMORY_KEY = "spillway.control.budget-over-memory";

  private BudgetResolver() {}

  /**
   * The budget {@code control} sets, given what {@code readings} report of this host.
   *
   * @throws SettingsException when a budget given as a size exceeds the memory this process can have
   *     and {@code budget-over-memory} is off
   */
  public static long resolve(ControlSettings control, MemoryReadings readings) {
    if (control.budgetBytes() == ControlSettings.AUTO) {
      return DefaultBudget.of(control.budgetFraction(), AUTO_FALLBACK_BYTES, readings).bytes();
    }
    long budget = control.budgetBytes();
    Optional<MemoryCeiling> ceiling = MemoryCeiling.of(readings);
    if (ceiling.isPresent() && budget > ceiling.get().bytes() && !control.budgetOverMemory()) {
      String most = Sizes.format(ceiling.get().bytes());
      throw new SettingsException(BUDGET_KEY, "= " + Sizes.format(budget) + " is more than the " + most
          + " this process can have (" + ceiling.get().source() + "): allowed auto or a size up to " + most
          + ". Lower it, or set " + OVER_MEMORY_KEY + " = true to keep it (the kernel may then kill the process"
          + " for lack of memory before the budget makes Spillway spill)");
    }
    return budget;
  }
}
