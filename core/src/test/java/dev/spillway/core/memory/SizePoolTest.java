package dev.spillway.core.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spillway.config.PoolSettings;
import dev.spillway.memory.AllocatorClosedException;
import dev.spillway.memory.PoolExhaustedException;
import dev.spillway.memory.PoolStats;
import dev.spillway.memory.SizeClasses;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link SizePool} with real slabs of a {@link SlabDirectory}, driven the way the allocator and the
 * mover drive it (a free moves the generation first, a spill releases its slot at a generation past
 * the block's, a restore takes a slot and rewinds it when in place): allocation and its limits,
 * batches, the spilled counts, the grow and shrink rules, and above all {@link
 * SizePool#takeForRestore}: the home slot only when nobody used it since the block left (never one in
 * use, never one at another generation, never one of a released slab), growth into the budget's slack
 * otherwise. Two threads released together round after round race a restore and an allocation for
 * the home slot, and allocations and frees for every slot.
 *
 * <p>{@link #aRestoreNeverGetsTheHomeSlotBackAtAnotherGeneration} failed before the fix: the pool's
 * fallback took the lowest free slot, which was the home slot itself at the generation after the
 * block that had used it, and the mover took the home location for a restore in place.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SizePoolTest {
  private static final PoolSettings RULES = rules(0.75, 0.5, 0.6, 0.5);

  private final SlabDirectory directory = new SlabDirectory();
  private final List<SizePool> pools = new ArrayList<>();
  private final ExecutorService threads = Executors.newFixedThreadPool(2);

  @AfterEach
  void closePools() throws InterruptedException {
    threads.shutdownNow();
    assertThat(threads.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
    pools.forEach(SizePool::closeAll);
  }

  static PoolSettings rules(double growWhenUsed, double growStep, double shrinkWhenFree, double shrinkStep) {
    return new PoolSettings(0, 1L << 30, Map.of(), growWhenUsed, growStep, shrinkWhenFree, shrinkStep);
  }

  /** A pool of {@code blockSize} blocks, {@code slots} per slab, at least {@code initial} and at most {@code max} blocks. */
  private SizePool pool(int blockSize, int slots, long initial, long max) {
    int cls = SizeClasses.indexOf(blockSize);
    assertThat(SizeClasses.sizeOf(cls)).isEqualTo(blockSize);
    SizePool p = new SizePool(cls, slots, SizeClasses.hugeCapacity((long) slots * blockSize), initial, max,
        "the test's max", directory);
    pools.add(p);
    return p;
  }

  private Slab slabOf(long handle) {
    return directory.get(Handles.slab(handle));
  }

  private static long location(long handle) {
    return handle & Handles.LOCATION_MASK;
  }

  /** Frees a live block as the allocator does: the generation first, then the slot. */
  private void free(SizePool pool, long handle, long requested) {
    Slab slab = slabOf(handle);
    int slot = Handles.slot(handle);
    int gen = Handles.generation(handle);
    assertThat(slab.markFreed(slot, gen, slab.nextGeneration(gen))).as("free of a live block").isTrue();
    pool.free(slab, slot, requested);
  }

  /** Spills a live block as the mover commits it; returns the home slot's generation after (homeGenerationAfter). */
  private int spill(SizePool pool, long handle, long requested) {
    Slab slab = slabOf(handle);
    int slot = Handles.slot(handle);
    int gen = Handles.generation(handle);
    assertThat(slab.casGeneration(slot, gen, (gen + 1) & slab.generationMask)).as("freeze").isTrue();
    slab.markFree(slot);
    int next = slab.nextGeneration(gen);
    slab.setGeneration(slot, next);
    pool.releaseSpilled(slab, slot, requested, false);
    return next;
  }

  /** Restores a block as the mover does: in place (rewinding the home slot) when the pool gave the home slot. */
  private long restore(SizePool pool, long handle, int homeGenerationAfter, long requested) {
    Slab home = slabOf(handle);
    long target = pool.takeForRestore(home, Handles.slot(handle), homeGenerationAfter, requested);
    if (location(target) == location(handle)) {
      assertThat(Handles.generation(target)).as("a restore in place finds the home slot as the block left it")
          .isEqualTo(homeGenerationAfter);
      home.setGeneration(Handles.slot(handle), Handles.generation(handle));
      return handle;
    }
    return target;
  }

  private static PoolStats stats(SizePool pool) {
    return pool.stats(0, 0, 0, 0);
  }

  @Test
  void capacityIsCountedInWholeSlabsBetweenTheInitialAndTheMaximum() {
    SizePool p = pool(64, 64, 10, 100);
    assertThat(p.initialBlocks).isEqualTo(64);
    assertThat(p.maxBlocks).isEqualTo(128);
    assertThat(p.capacityBlocks()).as("the initial slab is mapped at once").isEqualTo(64);
    assertThat(pool(64, 64, 0, 1).maxBlocks).as("at least one slab").isEqualTo(64);
  }

  @Test
  void allocationHandsOutEachSlotOnceUpToTheMaximum() {
    SizePool p = pool(64, 64, 0, 128);
    Set<Long> locations = new HashSet<>();
    for (int i = 0; i < 128; i++) {
      long h = p.allocate(50);
      assertThat(locations.add(location(h))).as("block %d in a slot of its own", i).isTrue();
      assertThat(Handles.slack(h)).isEqualTo(14);
      assertThat(slabOf(h).holds(h)).isTrue();
    }
    assertThatThrownBy(() -> p.allocate(50)).isInstanceOf(PoolExhaustedException.class)
        .hasMessageContaining("the test's max").hasMessageContaining("128 blocks");
    PoolStats s = stats(p);
    assertThat(s.slabs()).isEqualTo(2);
    assertThat(s.blocksInUse()).isEqualTo(128);
    assertThat(s.freeBlocks()).isZero();
    assertThat(s.requestedBytes()).isEqualTo(128 * 50);
    assertThat(s.allocations()).isEqualTo(128);
  }

  @Test
  void aFreedSlotComesBackAtItsNextGeneration() {
    SizePool p = pool(64, 64, 0, 64);
    long h = p.allocate(64);
    free(p, h, 64);
    long again = p.allocate(64);
    assertThat(location(again)).isEqualTo(location(h));
    assertThat(Handles.generation(again)).isEqualTo(Handles.generation(h) + 2);
    assertThat(slabOf(h).holds(h)).as("the old handle is stale").isFalse();
    PoolStats s = stats(p);
    assertThat(s.allocations()).isEqualTo(2);
    assertThat(s.frees()).isEqualTo(1);
    assertThat(s.blocksInUse()).isEqualTo(1);
  }

  @Test
  void largeBlocksKeepTheirSizeInTheSlotNotTheHandle() {
    SizePool p = pool(40 << 10, 2, 0, 4);
    long h = p.allocate(30_000);
    assertThat(Handles.slack(h)).isZero();
    assertThat(slabOf(h).requested[Handles.slot(h)]).isEqualTo(30_000);
  }

  @Test
  void batchesTakeAndReturnSlots() {
    SizePool p = pool(64, 64, 0, 128);
    long[] out = new long[100];
    int n = p.takeBatch(out, 100);
    assertThat(n).as("one slab's worth, no more growth within a batch").isEqualTo(64);
    Set<Long> distinct = new HashSet<>();
    for (int i = 0; i < n; i++) {
      assertThat(distinct.add(out[i])).isTrue();
      assertThat(Handles.generation(out[i])).isEqualTo(slabOf(out[i]).generation(Handles.slot(out[i])));
    }
    assertThat(p.takeBatch(out, 100)).as("grows by a slab when none is free").isEqualTo(64);
    assertThatThrownBy(() -> p.takeBatch(new long[1], 1)).isInstanceOf(PoolExhaustedException.class);
    p.returnBatch(out, 10, 20);
    assertThat(p.allocate(8)).isNotZero();
    p.closeAll();
    assertThatThrownBy(() -> p.returnBatch(out, 0, 1)).isInstanceOf(AllocatorClosedException.class);
  }

  @Test
  void aSpilledBlockLeavesRamButStaysCounted() {
    SizePool p = pool(1024, 16, 0, 16);
    long h = p.allocate(1000);
    spill(p, h, 1000);
    assertThat(p.spilledFigures()).containsExactly(1, 1000);
    PoolStats s = stats(p);
    assertThat(s.blocksInUse()).as("in use counts blocks in RAM").isZero();
    assertThat(s.requestedBytes()).isZero();
    // A spill whose slot found no free generation keeps it out of the pool until releaseSlot.
    long q = p.allocate(1000);
    Slab slab = slabOf(q);
    p.releaseSpilled(slab, Handles.slot(q), 1000, true);
    assertThat(slab.take(Handles.slot(q))).as("kept out").isFalse();
    p.releaseSlot(slab, Handles.slot(q));
    assertThat(slab.used()).isZero();
    p.freeSpilled(1000, 0);
    p.freeSpilled(1000, 0);
    assertThat(p.spilledFigures()).containsExactly(0, 0);
  }

  @Test
  void aRestoreTakesTheHomeSlotWhenNobodyUsedIt() {
    SizePool p = pool(2048, 8, 0, 16);
    long h = p.allocate(2048);
    int after = spill(p, h, 2048);
    long target = p.takeForRestore(slabOf(h), Handles.slot(h), after, 2048);
    assertThat(target).isEqualTo(Handles.make(after, 0, Handles.slab(h), Handles.slot(h)));
    assertThat(p.spilledFigures()).containsExactly(0, 0);
    assertThat(stats(p).blocksInUse()).isEqualTo(1);
  }

  @Test
  void aRestoreNeverTakesAHomeSlotInUse() {
    SizePool p = pool(2048, 8, 0, 16);
    long h = p.allocate(2048);
    int after = spill(p, h, 2048);
    long x = p.allocate(2048);
    assertThat(location(x)).as("X reuses the home slot").isEqualTo(location(h));
    assertThat(Handles.generation(x)).as("at the generation the block left behind").isEqualTo(after);
    long target = p.takeForRestore(slabOf(h), Handles.slot(h), after, 2048);
    assertThat(location(target)).isNotEqualTo(location(h));
    assertThat(slabOf(x).holds(x)).as("X is untouched").isTrue();
  }

  /**
   * X used the home slot and was freed: the slot is free again, one generation on. A restore there
   * would be taken for one in place and rewind the slot to the block's generation, and X's
   * generation would be handed out again once the block is freed.
   */
  @Test
  void aRestoreNeverGetsTheHomeSlotBackAtAnotherGeneration() {
    SizePool p = pool(2048, 8, 0, 16);
    long h = p.allocate(2048);
    int after = spill(p, h, 2048);
    long x = p.allocate(2048);
    assertThat(location(x)).isEqualTo(location(h));
    free(p, x, 2048);
    long target = p.takeForRestore(slabOf(h), Handles.slot(h), after, 2048);
    assertThat(location(target)).as("restored elsewhere").isNotEqualTo(location(h));
    long y = p.allocate(2048);
    assertThat(location(y)).as("the home slot went back to the pool").isEqualTo(location(h));
    assertThat(Handles.generation(y)).as("past X's").isEqualTo(slabOf(x).nextGeneration(Handles.generation(x)));
    assertThat(p.spilledFigures()).containsExactly(0, 0);
    assertThat(stats(p).blocksInUse()).isEqualTo(2);
  }

  /** When that home slot is the only free one and the pool is at its maximum, the restore fails and changes nothing. */
  @Test
  void aRestoreWhoseOnlyFreeSlotIsAReusedHomeSlotFindsThePoolExhausted() {
    SizePool p = pool(2048, 2, 0, 2);
    long h = p.allocate(2048);
    long other = p.allocate(2048);
    int after = spill(p, h, 2048);
    long x = p.allocate(2048);
    free(p, x, 2048);
    assertThatThrownBy(() -> p.takeForRestore(slabOf(h), Handles.slot(h), after, 2048))
        .isInstanceOf(PoolExhaustedException.class);
    assertThat(p.spilledFigures()).as("still spilled").containsExactly(1, 2048);
    long y = p.allocate(2048);
    assertThat(location(y)).as("the home slot is free as before").isEqualTo(location(h));
    assertThat(slabOf(other).holds(other)).isTrue();
  }

  @Test
  void aRestoreGrowsIntoTheBudgetsSlackWhenNoSlotIsFree() {
    SizePool p = pool(2048, 2, 0, 8);
    long slabBytes = SizeClasses.hugeCapacity(2L * 2048);
    long h = p.allocate(2048);
    p.allocate(2048);
    int after = spill(p, h, 2048);
    p.allocate(2048); // takes the home slot: the slab is full
    directory.budget.set(slabBytes, slabBytes); // no room for growth, one slab of slack
    assertThatThrownBy(() -> p.allocate(2048)).isInstanceOf(PoolExhaustedException.class);
    long target = p.takeForRestore(slabOf(h), Handles.slot(h), after, 2048);
    assertThat(Handles.slab(target)).as("a new slab, in the slack").isNotEqualTo(Handles.slab(h));
    assertThat(stats(p).slabs()).isEqualTo(2);
  }

  @Test
  void aFailedRestoreGivesItsSlotBack() {
    SizePool p = pool(2048, 8, 0, 16);
    long h = p.allocate(2048);
    int after = spill(p, h, 2048);
    long target = p.takeForRestore(slabOf(h), Handles.slot(h), after, 2048);
    p.undoRestore(slabOf(target), Handles.slot(target), 2048);
    assertThat(p.spilledFigures()).containsExactly(1, 2048);
    assertThat(slabOf(h).used()).isZero();
    assertThat(p.takeForRestore(slabOf(h), Handles.slot(h), after, 2048))
        .as("the home slot is still as the block left it").isEqualTo(target);
    p.closeAll();
    p.undoRestore(slabOf(h), Handles.slot(h), 2048); // after close: nothing to give back, no error
  }

  /** A home slab the pool shrank away is no restore target, even though its object is at hand. */
  @Test
  void aRestoreNeverTakesASlotOfAReleasedSlab() {
    SizePool p = pool(2048, 2, 0, 8);
    long keep = p.allocate(2048);
    p.allocate(2048);
    long h = p.allocate(2048); // the second slab
    Slab home = slabOf(h);
    assertThat(home).isNotSameAs(slabOf(keep));
    home.addMoved(1); // as the mover's freeze does: the slab's index is not reused while the block is moved
    int after = spill(p, h, 2048);
    assertThat(home.used()).isZero();
    assertThat(p.maintain(rules(0.99, 0.5, 0.2, 0.5))).as("the empty slab goes").isEqualTo(-2);
    assertThat(home.released).isTrue();
    long target = p.takeForRestore(home, Handles.slot(h), after, 2048);
    assertThat(Handles.slab(target)).isNotEqualTo(home.id);
    assertThat(slabOf(target)).isNotNull().isNotSameAs(home);
  }

  @Test
  void maintainGrowsAndShrinksByTheRulesAndNeverBelowTheInitialCapacity() {
    SizePool p = pool(64, 64, 64, 64 * 16);
    List<Long> live = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      live.add(p.allocate(64));
    }
    assertThat(p.maintain(RULES)).as("over 75% used: grow by half the maximum, at most doubling").isEqualTo(64);
    assertThat(p.maintain(RULES)).as("now under 75%").isZero();
    for (long h : live) {
      free(p, h, 64);
    }
    assertThat(p.maintain(RULES)).as("over half free: shrink, to the initial capacity at most").isEqualTo(-64);
    assertThat(p.maintain(RULES)).isZero();
    assertThat(p.capacityBlocks()).isEqualTo(64);
  }

  @Test
  void aStarvedBudgetTakesEveryEmptySlabAboveTheInitialCapacity() {
    SizePool p = pool(64, 64, 64, 64 * 16);
    PoolSettings keep = rules(0.99, 0.1, 0.99, 0.01); // neither grows nor shrinks on its own
    long[][] batches = new long[4][64];
    for (long[] b : batches) {
      assertThat(p.takeBatch(b, 64)).isEqualTo(64);
    }
    for (int i = 1; i < 4; i++) {
      p.returnBatch(batches[i], 0, 64);
    }
    assertThat(p.maintain(keep)).as("the rules keep the empty slabs").isZero();
    directory.budget.set(directory.budget.mapped(), 0); // no room for one more slab
    assertThat(p.maintain(keep)).as("at the budget every empty slab goes").isEqualTo(-192);
    p.returnBatch(batches[0], 0, 64);
    assertThat(p.maintain(keep)).as("but never the initial capacity").isZero();
    assertThat(p.capacityBlocks()).isEqualTo(64);
  }

  /**
   * An 8-bit home slot that came round to the very generation the block left behind (126 blocks
   * used it, skipping the block's own generation as the mover does while the block is moved) is
   * taken in place. Nothing is revived early by the rewind: every generation the slot handed out
   * since is handed out again only after at least 127 more blocks, the wrap the handle format
   * documents for 8-bit slots.
   */
  @Test
  void anEightBitHomeSlotThatCameRoundIsTakenInPlaceWithoutRevivingRecentHandles() {
    SizePool p = pool(64, 64, 0, 64);
    List<Long> others = new ArrayList<>();
    long h = p.allocate(64);
    for (int i = 1; i < 64; i++) {
      others.add(p.allocate(64)); // the home slot stays the only one that comes free
    }
    Slab slab = slabOf(h);
    int slot = Handles.slot(h);
    int own = Handles.generation(h);
    int after = spill(p, h, 64);
    List<Integer> handedOut = new ArrayList<>();
    int gen = after;
    do {
      long x = p.allocate(64);
      assertThat(location(x)).isEqualTo(location(h));
      handedOut.add(Handles.generation(x));
      int next = slab.nextGeneration(Handles.generation(x));
      if (next == own) {
        next = slab.nextGeneration(next); // the mover skips generations of moved handles
      }
      assertThat(slab.markFreed(slot, Handles.generation(x), next)).isTrue();
      p.free(slab, slot, 64);
      gen = next;
    } while (gen != after);
    assertThat(handedOut).hasSize(127).doesNotContain(own);
    assertThat(restore(p, h, after, 64)).as("in place").isEqualTo(h);
    free(p, h, 64);
    // From here the slot hands out own + 2, own + 4, ...: the last generation handed out before
    // the restore (own - 2) comes round again only after 127 more blocks.
    int lastBefore = handedOut.getLast();
    int reuses = 1; // the restored block itself
    for (int g = slab.generation(slot); g != lastBefore; g = slab.nextGeneration(g)) {
      reuses++;
    }
    assertThat(reuses).isGreaterThanOrEqualTo(127);
    for (long o : others) {
      free(p, o, 64);
    }
  }

  /**
   * A restore and an allocation released together, round after round, for a pool whose only free
   * slot is the restoring block's home: never do both get it (which one does depends on the
   * scheduler), and the other gets a slot of a second slab.
   */
  @Test
  void aRestoreAndAnAllocationRacingForTheHomeSlotNeverBothGetIt() throws Exception {
    SizePool p = pool(2048, 4, 0, 8);
    for (int i = 0; i < 3; i++) {
      p.allocate(2048); // fill all but one slot of the first slab
    }
    int rounds = 500;
    CyclicBarrier go = new CyclicBarrier(2);
    long[] allocated = new long[rounds];
    long[] restored = new long[rounds];
    long[] homes = new long[rounds];
    int[] afters = new int[rounds];
    Future<?> allocator = threads.submit(() -> {
      for (int r = 0; r < rounds; r++) {
        homes[r] = p.allocate(2048); // the last free slot of the first slab
        afters[r] = spill(p, homes[r], 2048);
        go.await(30, TimeUnit.SECONDS);
        allocated[r] = p.allocate(2048);
        go.await(30, TimeUnit.SECONDS);
        go.await(30, TimeUnit.SECONDS); // the restorer checked and cleaned up
        free(p, allocated[r], 2048);
      }
      return null;
    });
    Future<?> restorer = threads.submit(() -> {
      for (int r = 0; r < rounds; r++) {
        go.await(30, TimeUnit.SECONDS);
        restored[r] = restore(p, homes[r], afters[r], 2048);
        go.await(30, TimeUnit.SECONDS);
        assertThat(location(restored[r])).as("round %d", r).isNotEqualTo(location(allocated[r]));
        free(p, restored[r], 2048);
        go.await(30, TimeUnit.SECONDS);
      }
      return null;
    });
    allocator.get(60, TimeUnit.SECONDS);
    restorer.get(60, TimeUnit.SECONDS);
    assertThat(stats(p).blocksInUse()).isEqualTo(3);
    assertThat(p.spilledFigures()).containsExactly(0, 0);
  }

  /**
   * Two threads allocate and free in rounds released together; every slot handed out is claimed
   * in a shared table, which fails if a slot is handed to both.
   */
  @Test
  void concurrentAllocationsNeverShareASlot() throws Exception {
    SizePool p = pool(64, 64, 0, 256);
    AtomicIntegerArray owner = new AtomicIntegerArray(1 << 16);
    CyclicBarrier go = new CyclicBarrier(2);
    List<Future<?>> done = new ArrayList<>();
    for (int t = 1; t <= 2; t++) {
      int me = t;
      done.add(threads.submit(() -> {
        List<Long> mine = new ArrayList<>();
        for (int round = 0; round < 200; round++) {
          go.await(30, TimeUnit.SECONDS);
          for (int i = 0; i < 50; i++) {
            long h = p.allocate(8);
            int key = (Handles.slab(h) << 8) | Handles.slot(h);
            assertThat(owner.compareAndSet(key, 0, me)).as("slot %x handed out twice", key).isTrue();
            mine.add(h);
          }
          while (mine.size() > (round % 3) * 10) {
            long h = mine.removeLast();
            owner.set((Handles.slab(h) << 8) | Handles.slot(h), 0);
            free(p, h, 8);
          }
        }
        for (long h : mine) {
          owner.set((Handles.slab(h) << 8) | Handles.slot(h), 0);
          free(p, h, 8);
        }
        return null;
      }));
    }
    for (Future<?> f : done) {
      f.get(60, TimeUnit.SECONDS);
    }
    assertThat(stats(p).blocksInUse()).isZero();
  }
}
