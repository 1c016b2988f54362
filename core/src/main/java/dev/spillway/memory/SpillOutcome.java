package dev.spillway.memory;

/** What {@link BlockAllocator#spill(long)} did with one block. */
public enum SpillOutcome {
  /** The block's record is on the tier (durable per {@code spillway.tier.durability}); its RAM is free. */
  SPILLED,
  /** The block was already on the tier (or on its way back); nothing was written. */
  ALREADY_SPILLED,
  /** The block is pinned: it never spills. */
  PINNED,
  /**
   * The block was touched while it was being spilled, or another thread was moving it: it stays
   * resident and any record written for it is discarded.
   */
  BUSY
}
