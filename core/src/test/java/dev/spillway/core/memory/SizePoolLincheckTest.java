package dev.spillway.core.memory;

import dev.spillway.memory.PoolExhaustedException;
import dev.spillway.memory.SizeClasses;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.StressOptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A {@link SizePool} of one slab of two slots, used by three blocks (keys) the way the allocator and
 * the mover use it: allocate, free, spill (the slot goes back at the generation after the block's)
 * and restore (in place, rewinding the home slot, when the pool returns it; elsewhere otherwise). It
 * is linearizable against {@link Spec}, a model of the two slots (which is taken, at which
 * generation) and the pool's counts: which slot each operation gets, whether a restore goes in place,
 * when the pool is exhausted, and the blocks in use and spilled that stats report.
 *
 * <p>Each key's operations run in one thread (a block has one owner at a time), so the harness needs
 * no synchronization of its own; the keys race each other for the two slots. The spec's restore
 * goes in place only into a home slot that is free at the generation the block left behind, and
 * otherwise into the lowest other free slot: the rule the fix of {@link SizePool#takeForRestore}
 * made (before it, the pool's fallback could return the home slot at a later generation).
 */
@Tag("lincheck")
@Timeout(value = 120, unit = TimeUnit.SECONDS)
public class SizePoolLincheckTest {
  private static final int SLOTS = 2;
  private static final int BLOCK = 64;

  private final SlabDirectory directory = new SlabDirectory();
  private final SizePool pool = new SizePool(SizeClasses.indexOf(BLOCK), SLOTS, SizeClasses.PAGE, SLOTS, SLOTS,
      "the test's max", directory);
  /** Per key: the block's handle while live or spilled, 0 when it has none. */
  private final long[] handle = new long[3];
  /** Per key: whether the block is spilled, and the generation its home slot got then. */
  private final boolean[] spilled = new boolean[3];
  private final int[] homeAfter = new int[3];

  /** The slot the key's block was allocated, or -1 (exhausted, or the key has a block). */
  private int allocate(int k) {
    if (handle[k] != 0) {
      return -1;
    }
    try {
      handle[k] = pool.allocate(BLOCK);
    } catch (PoolExhaustedException e) {
      return -1;
    }
    return Handles.slot(handle[k]);
  }

  private boolean free(int k) {
    if (handle[k] == 0 || spilled[k]) {
      return false;
    }
    Slab slab = directory.get(Handles.slab(handle[k]));
    int slot = Handles.slot(handle[k]);
    int gen = Handles.generation(handle[k]);
    if (!slab.markFreed(slot, gen, slab.nextGeneration(gen))) {
      throw new AssertionError("the key's own block was not live");
    }
    pool.free(slab, slot, BLOCK);
    handle[k] = 0;
    return true;
  }

  private boolean spill(int k) {
    if (handle[k] == 0 || spilled[k]) {
      return false;
    }
    Slab slab = directory.get(Handles.slab(handle[k]));
    int slot = Handles.slot(handle[k]);
    int gen = Handles.generation(handle[k]);
    if (!slab.casGeneration(slot, gen, (gen + 1) & slab.generationMask)) {
      throw new AssertionError("the key's own block was not live");
    }
    slab.markFree(slot);
    int next = slab.nextGeneration(gen);
    slab.setGeneration(slot, next);
    pool.releaseSpilled(slab, slot, BLOCK, false);
    spilled[k] = true;
    homeAfter[k] = next;
    return true;
  }

  /** Twice the slot the block came back to, plus one when in place; -1 when not spilled or exhausted. */
  private int restore(int k) {
    if (!spilled[k]) {
      return -1;
    }
    Slab home = directory.get(Handles.slab(handle[k]));
    int slot = Handles.slot(handle[k]);
    long target;
    try {
      target = pool.takeForRestore(home, slot, homeAfter[k], BLOCK);
    } catch (PoolExhaustedException e) {
      return -1;
    }
    spilled[k] = false;
    if ((target & Handles.LOCATION_MASK) == (handle[k] & Handles.LOCATION_MASK)) {
      home.setGeneration(slot, Handles.generation(handle[k])); // in place: the handle is direct again
      return 2 * slot + 1;
    }
    handle[k] = target; // elsewhere: this key's block now lives in (and is freed from) that slot
    return 2 * Handles.slot(target);
  }

  // Each key's operations in a group of their own: one thread runs them.

  @Operation(nonParallelGroup = "k0")
  public int allocate0() {
    return allocate(0);
  }

  @Operation(nonParallelGroup = "k0")
  public boolean free0() {
    return free(0);
  }

  @Operation(nonParallelGroup = "k0")
  public boolean spill0() {
    return spill(0);
  }

  @Operation(nonParallelGroup = "k0")
  public int restore0() {
    return restore(0);
  }

  @Operation(nonParallelGroup = "k1")
  public int allocate1() {
    return allocate(1);
  }

  @Operation(nonParallelGroup = "k1")
  public boolean free1() {
    return free(1);
  }

  @Operation(nonParallelGroup = "k1")
  public boolean spill1() {
    return spill(1);
  }

  @Operation(nonParallelGroup = "k1")
  public int restore1() {
    return restore(1);
  }

  @Operation(nonParallelGroup = "k2")
  public int allocate2() {
    return allocate(2);
  }

  @Operation(nonParallelGroup = "k2")
  public boolean free2() {
    return free(2);
  }

  @Operation(nonParallelGroup = "k2")
  public boolean spill2() {
    return spill(2);
  }

  @Operation(nonParallelGroup = "k2")
  public int restore2() {
    return restore(2);
  }

  /** Blocks in RAM, as the pool's stats count them. */
  @Operation
  public long inRam() {
    return pool.stats(0, 0, 0, 0).blocksInUse();
  }

  /** Blocks on the tier, as the pool counts them (its own lock, its own look). */
  @Operation
  public long onTier() {
    return pool.spilledFigures()[0];
  }

  @Test
  void keysRacingForTwoSlotsAreLinearizableUnderModelChecking() {
    new ModelCheckingOptions()
        .iterations(8)
        .invocationsPerIteration(150)
        .threads(3)
        .actorsPerThread(3)
        .actorsBefore(2)
        .actorsAfter(1)
        .sequentialSpecification(Spec.class)
        .check(SizePoolLincheckTest.class);
  }

  @Test
  void keysRacingForTwoSlotsAreLinearizableUnderStress() {
    new StressOptions()
        .iterations(5)
        .invocationsPerIteration(200)
        .threads(3)
        .actorsPerThread(3)
        .sequentialSpecification(Spec.class)
        .check(SizePoolLincheckTest.class);
  }

  /** The sequential specification: two slots, three keys, and the pool's counts. */
  public static final class Spec {
    private final boolean[] used = new boolean[SLOTS];
    private final int[] gen = {1, 1};
    /** Per key: 0 none, 1 live, 2 spilled; its slot (the home while spilled) and generation. */
    private final int[] state = new int[3];
    private final int[] slot = new int[3];
    private final int[] blockGen = new int[3];
    private final int[] after = new int[3];
    private int inRam;
    private int onTier;

    private static int next(int g) {
      return (g + 2) & 0xFF;
    }

    private int lowestFree() {
      for (int s = 0; s < SLOTS; s++) {
        if (!used[s]) {
          return s;
        }
      }
      return -1;
    }

    private int allocate(int k) {
      int s = lowestFree();
      if (state[k] != 0 || s < 0) {
        return -1;
      }
      used[s] = true;
      state[k] = 1;
      slot[k] = s;
      blockGen[k] = gen[s];
      inRam++;
      return s;
    }

    private boolean free(int k) {
      if (state[k] != 1) {
        return false;
      }
      gen[slot[k]] = next(blockGen[k]);
      used[slot[k]] = false;
      state[k] = 0;
      inRam--;
      return true;
    }

    private boolean spill(int k) {
      if (state[k] != 1) {
        return false;
      }
      gen[slot[k]] = next(blockGen[k]);
      used[slot[k]] = false;
      after[k] = gen[slot[k]];
      state[k] = 2;
      inRam--;
      onTier++;
      return true;
    }

    private int restore(int k) {
      if (state[k] != 2) {
        return -1;
      }
      int home = slot[k];
      if (!used[home] && gen[home] == after[k]) {
        used[home] = true;
        gen[home] = blockGen[k];
        state[k] = 1;
        inRam++;
        onTier--;
        return 2 * home + 1;
      }
      int s = -1;
      for (int i = 0; i < SLOTS; i++) {
        if (!used[i] && i != home) {
          s = i;
          break;
        }
      }
      if (s < 0) {
        return -1;
      }
      used[s] = true;
      state[k] = 1;
      slot[k] = s;
      blockGen[k] = gen[s];
      inRam++;
      onTier--;
      return 2 * s;
    }

    public int allocate0() {
      return allocate(0);
    }

    public boolean free0() {
      return free(0);
    }

    public boolean spill0() {
      return spill(0);
    }

    public int restore0() {
      return restore(0);
    }

    public int allocate1() {
      return allocate(1);
    }

    public boolean free1() {
      return free(1);
    }

    public boolean spill1() {
      return spill(1);
    }

    public int restore1() {
      return restore(1);
    }

    public int allocate2() {
      return allocate(2);
    }

    public boolean free2() {
      return free(2);
    }

    public boolean spill2() {
      return spill(2);
    }

    public int restore2() {
      return restore(2);
    }

    public long inRam() {
      return inRam;
    }

    public long onTier() {
      return onTier;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Spec s && Arrays.equals(used, s.used) && Arrays.equals(gen, s.gen)
          && Arrays.equals(state, s.state) && Arrays.equals(slot, s.slot) && Arrays.equals(blockGen, s.blockGen)
          && Arrays.equals(after, s.after) && inRam == s.inRam && onTier == s.onTier;
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(gen) * 31 + Arrays.hashCode(state) * 7 + Arrays.hashCode(slot) + inRam;
    }
  }
}
