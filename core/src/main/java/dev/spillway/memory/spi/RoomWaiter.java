package dev.spillway.memory.spi;

import dev.spillway.memory.RestoreFailedException;

/**
 * What a restore does when the memory budget (slack included) has no room for the block coming back:
 * the control plane installs one ({@link AllocatorControl#onBudgetFull}) that asks for cold blocks to be
 * spilled and waits a little. Without one, the restore fails with {@link RestoreFailedException}.
 */
@FunctionalInterface
public interface RoomWaiter {
  /**
   * Called on the restoring thread, which holds no lock; {@code attempt} counts from 0. Return true to
   * have the restore try again, false to give up (the block stays spilled and the access fails).
   */
  boolean awaitRoom(long bytes, int attempt);
}
