package dev.spillway.core.memory;

import dev.spillway.config.MemorySettings;
import dev.spillway.config.Sizes;
import dev.spillway.memory.InvalidHandleException;

/**
 * What a handle says about its block beyond its location (the requested size in its slack bits), and
 * the exceptions for handles that name no live block: each says which check failed and what the
 * application most likely did (use after free, double free, a number that was never a handle).
 * Stateless: every method is a function of the handle and the slab it names.
 */
final class HandleErrors {
  private HandleErrors() {}

  /**
   * The bytes the block of {@code handle} in {@code slab} was allocated with: the slab's table for
   * large and huge classes, the block size less the handle's slack for small ones.
   *
   * @throws InvalidHandleException when the slack bits cannot belong to a handle of this slab
   */
  static long requestedSize(long handle, Slab slab, int slot) {
    if (slab.requested != null) {
      if (Handles.slack(handle) != 0) {
        throw new InvalidHandleException(handle, InvalidHandleException.Problem.MALFORMED,
            "large and huge handles carry no slack bits: not a handle");
      }
      return slab.requested[slot];
    }
    int slack = Handles.slack(handle);
    if (slack >= slab.blockSize) {
      throw new InvalidHandleException(handle, InvalidHandleException.Problem.MALFORMED,
          "slack " + slack + " exceeds the block size " + slab.blockSize + ": not a handle");
    }
    return (long) slab.blockSize - slack;
  }

  static InvalidHandleException malformed(long handle, Slab slab) {
    return new InvalidHandleException(handle, InvalidHandleException.Problem.MALFORMED,
        "generation " + Handles.generation(handle) + " cannot belong to any block (generations are"
            + " odd and at most " + slab.generationMask + " in this slab): not a handle");
  }

  /** A handle of a live slab whose generation is not the slot's: malformed, or its block was freed. */
  static InvalidHandleException stale(long handle, Slab slab) {
    int gen = Handles.generation(handle);
    if ((gen & 1) == 0 || gen > slab.generationMask) {
      return malformed(handle, slab);
    }
    int now = slab.generation(Handles.slot(handle));
    return new InvalidHandleException(handle, InvalidHandleException.Problem.STALE,
        "the block was freed" + (now == slab.nextGeneration(gen) ? "" : " and its slot reused since")
            + " (slot generation is now " + now + "): use after free");
  }

  /** A free of a well-formed handle whose block is not live: a double free, or a free of a stale handle. */
  static InvalidHandleException staleOnFree(long handle, Slab slab, int slot, int gen) {
    int now = slab.generation(slot);
    if (now == slab.nextGeneration(gen)) {
      return new InvalidHandleException(handle, InvalidHandleException.Problem.DOUBLE_FREE,
          "the block is already free: double free");
    }
    return new InvalidHandleException(handle, InvalidHandleException.Problem.STALE,
        "the block was freed and its slot reused since (slot generation is now " + now
            + "): double free of a stale handle");
  }

  /** Why {@code handle} could not be freed: malformed, stale, or a double free. */
  static RuntimeException freeError(long handle, Slab slab) {
    int slot = Handles.slot(handle);
    int gen = Handles.generation(handle);
    if ((gen & 1) == 0 || gen > slab.generationMask) {
      return malformed(handle, slab);
    }
    requestedSize(handle, slab, slot); // malformed slack
    return staleOnFree(handle, slab, slot, gen);
  }

  static IllegalStateException pinnedOnFree(long handle, int pins) {
    return new IllegalStateException("block " + Handles.format(handle) + " is pinned (" + pins
        + " pin(s)): unpin it as often as it was pinned before freeing it");
  }

  static IllegalArgumentException badSize(long size, long maxBlockSize) {
    String limit = maxBlockSize == MemorySettings.MAX_BLOCK_SIZE
        ? "1 B to 1 GiB"
        : "1 B to " + Sizes.format(maxBlockSize) + " (spillway.memory.max-block-size)";
    return new IllegalArgumentException("size = " + size + " bytes is invalid: allowed " + limit);
  }
}
