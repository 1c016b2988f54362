package dev.spillway.core.memory;

import dev.spillway.config.MemorySettings;
import dev.spillway.config.PoolSettings;
import dev.spillway.config.SettingsException;
import dev.spillway.config.Sizes;
import dev.spillway.memory.SizeClasses;

/**
 * How the settings shape each size class's pool: blocks per slab (the small and large slab sizes,
 * at most {@link Handles#MAX_SLOTS}), the initial and maximum blocks from
 * {@code spillway.memory.pools.default} and a class's own override, and the errors that name the key
 * at fault when they contradict each other.
 */
final class PoolLayout {
  private PoolLayout() {}

  /** A pool for every size class, after checking the overrides; nothing stays mapped when one fails. */
  static SizePool[] newPools(MemorySettings settings, SlabDirectory directory) {
    checkOverrides(settings.pools());
    SizePool[] pools = new SizePool[SizeClasses.COUNT];
    try {
      for (int cls = 0; cls < SizeClasses.COUNT; cls++) {
        pools[cls] = newPool(settings, cls, directory);
      }
      return pools;
    } catch (RuntimeException e) {
      closeAll(pools);
      throw e;
    }
  }

  /** Unmaps every slab of every pool made so far. */
  static void closeAll(SizePool[] pools) {
    for (SizePool pool : pools) {
      if (pool != null) {
        pool.closeAll();
      }
    }
  }

  private static void checkOverrides(PoolSettings pools) {
    for (var e : pools.classes().entrySet()) {
      if (SizeClasses.exactIndexOf(e.getKey()) < 0) {
        throw new SettingsException(e.getValue().key(), Sizes.format(e.getKey()) + " is not a size class;"
            + " allowed: " + SizeClasses.describeAll());
      }
    }
  }

  private static SizePool newPool(MemorySettings settings, int cls, SlabDirectory directory) {
    int size = SizeClasses.sizeOf(cls);
    PoolSettings p = settings.pools();
    int slots;
    long slabBytes;
    if (SizeClasses.isSmall(cls)) {
      slots = (int) Math.min(settings.smallSlabSize() / size, Handles.MAX_SLOTS);
      slabBytes = SizeClasses.hugeCapacity((long) slots * size);
    } else {
      slots = (int) Math.max(1, Math.min(settings.largeSlabSize() / size, Handles.MAX_SLOTS));
      slabBytes = (long) slots * size;
    }
    long initial = (p.initialBytes() + size - 1) / size;
    long max = Math.max(1, p.maxBytes() / size);
    String source = "spillway.memory.pools.default.max-bytes = " + Sizes.format(p.maxBytes());
    String initialSource = "spillway.memory.pools.default.initial-bytes = " + Sizes.format(p.initialBytes());
    PoolSettings.ClassOverride o = p.classes().get((long) size);
    if (o != null) {
      if (o.initialBlocks().isPresent()) {
        initial = o.initialBlocks().get();
        initialSource = o.key() + ".initial-blocks = " + initial;
      }
      if (o.maxBlocks().isPresent()) {
        max = o.maxBlocks().get();
        source = o.key() + ".max-blocks = " + max;
      }
    }
    if (initial > max) {
      throw new SettingsException(o != null ? o.key() : "spillway.memory.pools.default",
          "class " + Sizes.format(size) + " would start with " + initial + " blocks (" + initialSource
              + ") but may hold at most " + max + " (" + source + "): allowed initial <= max");
    }
    return new SizePool(cls, slots, slabBytes, initial, max, source, directory);
  }
}
