package dev.spillway.core.memory;

/**
 * Growing a pool (or mapping a huge block) would take the allocator past its memory budget. Nothing
 * was allocated. Spilling or freeing blocks makes room; the control plane does the former by itself.
 */
public final class BudgetExceededException extends PoolExhaustedException {
  BudgetExceededException(String message) {
    super(message);
  }
}
