package dev.spillway.memory.spi;

import dev.spillway.memory.SpillOutcome;

/**
 * What one spill batch did.
 *
 * @param spilled blocks now on the tier, their RAM released
 * @param alreadySpilled blocks that were on the tier already
 * @param pinned pinned blocks, left resident
 * @param busy blocks touched during the spill or being moved by another thread, left resident
 * @param rawBytes bytes of the spilled blocks
 * @param storedBytes bytes their records took on the tier, headers included
 */
public record SpillReport(int spilled, int alreadySpilled, int pinned, int busy, long rawBytes, long storedBytes) {

  public static final SpillReport EMPTY = new SpillReport(0, 0, 0, 0, 0, 0);

  /** The outcome when the batch held one block. */
  public SpillOutcome single() {
    if (spilled == 1) {
      return SpillOutcome.SPILLED;
    }
    if (alreadySpilled == 1) {
      return SpillOutcome.ALREADY_SPILLED;
    }
    return pinned == 1 ? SpillOutcome.PINNED : SpillOutcome.BUSY;
  }
}
