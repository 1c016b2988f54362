package dev.spillway.core.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spillway.memory.SizeClasses;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link Slab} alone: generations (odd, advanced by two, wrapping at 8 or 16 bits, frozen by a CAS to
 * the even value above), frees that win once, {@code holds} and the idle clock it touches, pins and
 * the forwarding bit that share a word, the occupancy bitmap, and the seed a successor slab gets; and
 * two threads released together round after round (a barrier per round) where the slab promises
 * something about a race: two frees of one block free it once, a pin and a freeze always see one
 * another, an access never undoes a free's mark on the clock.
 *
 * <p>Two bugs found here: {@link #aSuccessorSeedIsPastEveryGenerationEvenWhenSlotsWrapped} (the seed
 * was the largest plain generation plus two, which lands among generations a wrapped slot handed out
 * shortly before) and {@link #anUnpinBelowZeroOfAForwardingTargetIsNegativeAndUndoable} (the borrow of
 * an unpin below zero cleared the forwarding bit and read as 2^30 - 1 pins).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SlabTest {
  private static final int ROUNDS = 2_000;

  private final ExecutorService pool = Executors.newFixedThreadPool(2);

  @AfterEach
  void stopThreads() throws InterruptedException {
    pool.shutdownNow();
    assertThat(pool.awaitTermination(30, TimeUnit.SECONDS)).as("test threads ended").isTrue();
  }

  /** A slab of {@code slots} blocks of {@code blockSize} bytes over heap memory, seeded with {@code seed}. */
  static Slab slab(int blockSize, int slots, int seed) {
    int cls = SizeClasses.indexOf(blockSize);
    assertThat(SizeClasses.sizeOf(cls)).as("a class size").isEqualTo(blockSize);
    return new Slab(1, cls, blockSize, slots, Arena.global(),
        MemorySegment.ofArray(new byte[blockSize * slots]), seed);
  }

  static long handle(Slab s, int slot, int gen) {
    return Handles.make(gen, 0, s.id, slot);
  }

  @Test
  void generationsStartOddAtTheSeedAndAdvanceByTwoWrappingAtTheirWidth() {
    Slab narrow = slab(64, 4, 250);
    assertThat(narrow.generationMask).isEqualTo(0xFF);
    assertThat(narrow.generation(0)).isEqualTo(251);
    assertThat(narrow.nextGeneration(251)).isEqualTo(253);
    assertThat(narrow.nextGeneration(255)).as("wraps to the first odd one").isEqualTo(1);
    assertThat(slab(64, 4, 0x1FF).generation(3)).as("a seed past the width is masked").isEqualTo(255);
    Slab wide = slab(128, 4, 0);
    assertThat(wide.generationMask).isEqualTo(0xFFFF);
    assertThat(wide.generation(2)).isEqualTo(1);
    assertThat(wide.nextGeneration(0xFFFF)).isEqualTo(1);
    for (Slab s : new Slab[] {narrow, wide}) {
      for (int gen = 1; gen <= s.generationMask; gen += 2) {
        assertThat(s.nextGeneration(gen) & 1).as("odd after %d", gen).isEqualTo(1);
      }
    }
  }

  @Test
  void perBlockMetadataDependsOnTheClass() {
    Slab small = slab(64, 8, 0);
    assertThat(small.ages).as("no idle clock under 1 KiB").isNull();
    assertThat(small.requested).as("the handle carries a small block's size").isNull();
    Slab clocked = slab(1024, 8, 0);
    assertThat(clocked.ages).hasSize(8).containsOnly(Slab.FREE);
    Slab large = slab(40 << 10, 2, 0);
    assertThat(SizeClasses.isSmall(large.classIndex)).isFalse();
    assertThat(large.requested).hasSize(2);
    assertThat(large.metadataBytes()).isGreaterThan(small.metadataBytes());
    assertThat(small.view).isNotNull();
    assertThat(small.bytes()).isEqualTo(64 * 8);
    assertThat(small.offsetOf(3)).isEqualTo(192);
  }

  @Test
  void aFreeMovesTheGenerationOnceAndMarksTheClockFree() {
    Slab s = slab(1024, 4, 0);
    int gen = s.generation(1);
    s.markAllocated(1);
    assertThat(s.ages[1]).isZero();
    assertThat(s.holds(handle(s, 1, gen))).isTrue();
    assertThat(s.markFreed(1, gen, s.nextGeneration(gen))).isTrue();
    assertThat(s.generation(1)).isEqualTo(gen + 2);
    assertThat(s.ages[1]).isEqualTo(Slab.FREE);
    assertThat(s.holds(handle(s, 1, gen))).as("every handle of the freed block is stale").isFalse();
    assertThat(s.markFreed(1, gen, s.nextGeneration(gen))).as("a double free").isFalse();
    assertThat(s.generation(1)).isEqualTo(gen + 2);
    // A free that fails still marks the clock (documented: it only hides a live block until its next access).
    s.markAllocated(1);
    assertThat(s.markFreed(1, gen, gen + 2)).isFalse();
    assertThat(s.ages[1]).isEqualTo(Slab.FREE);
  }

  @Test
  void holdsChecksTheSlotTheParityAndTheGeneration() {
    Slab s = slab(1024, 4, 6); // generations start at 7
    assertThat(s.holds(handle(s, 0, 7))).isTrue();
    assertThat(s.holds(handle(s, 0, 9))).as("another generation").isFalse();
    assertThat(s.holds(handle(s, 0, 8))).as("even: frozen, never a handle").isFalse();
    assertThat(s.holds(handle(s, 4, 7))).as("past the last slot").isFalse();
    assertThat(s.holds(Handles.make(7, 100, s.id, 0))).as("slack plays no part").isTrue();
  }

  @Test
  void holdsCountsAsAnAccessForTheIdleClockButNeverRevivesAFreeSlot() {
    Slab s = slab(1024, 2, 0);
    long h = handle(s, 0, 1);
    s.markAllocated(0);
    assertThat(s.age(0, 0)).isTrue();
    assertThat(s.age(0, 1)).isTrue();
    assertThat(s.age(0, 1)).as("aged from 1 already").isFalse();
    assertThat(s.ages[0]).isEqualTo((byte) 2);
    assertThat(s.holds(h)).isTrue();
    assertThat(s.ages[0]).as("an access restarts the clock").isZero();
    s.markRestored(0);
    assertThat(s.holds(h)).isTrue();
    assertThat(s.ages[0]).as("a restored block's first access").isZero();
    s.markFree(0);
    assertThat(s.holds(h)).as("the generation still matches").isTrue();
    assertThat(s.ages[0]).as("a FREE clock stays FREE").isEqualTo(Slab.FREE);
    Slab small = slab(64, 2, 0);
    assertThat(small.holds(handle(small, 1, 1))).as("no clock, no trouble").isTrue();
  }

  @Test
  void aFreezeIsACasToTheEvenGenerationAboveAtTheTopOfBothWidths() {
    for (Slab s : new Slab[] {slab(64, 2, 255), slab(256, 2, 0xFFFF)}) {
      int top = s.generationMask;
      assertThat(s.generation(0)).isEqualTo(top);
      int frozen = (top + 1) & s.generationMask;
      assertThat(frozen).isZero();
      assertThat(s.casGeneration(0, top, frozen)).isTrue();
      assertThat(s.holds(handle(s, 0, top))).isFalse();
      assertThat(s.casGeneration(0, top, frozen)).as("frozen once").isFalse();
      assertThat(s.casGeneration(0, frozen, top)).as("unfrozen").isTrue();
      assertThat(s.holds(handle(s, 0, top))).isTrue();
      s.setGeneration(1, 3);
      assertThat(s.generation(1)).isEqualTo(3);
      assertThat(s.generationAcquire(1)).isEqualTo(3);
    }
  }

  @Test
  void pinsAndTheForwardingBitShareAWordAndLeaveEachOtherAlone() {
    Slab s = slab(256, 4, 0);
    assertThat(s.everPinned()).isFalse();
    assertThat(s.pinCount(2)).isZero();
    assertThat(s.isForwardTarget(2)).isFalse();
    s.forwardTarget(2, false); // no pin words yet: nothing to clear
    assertThat(s.everPinned()).isFalse();
    s.forwardTarget(2, true);
    assertThat(s.everPinned()).isTrue();
    assertThat(s.isForwardTarget(2)).isTrue();
    assertThat(s.pinCount(2)).isZero();
    assertThat(s.addPin(2, 1)).isEqualTo(1);
    assertThat(s.addPin(2, 1)).isEqualTo(2);
    assertThat(s.isForwardTarget(2)).isTrue();
    s.forwardTarget(2, false);
    assertThat(s.pinCount(2)).isEqualTo(2);
    s.forwardTarget(2, true);
    assertThat(s.addPin(2, -1)).isEqualTo(1);
    assertThat(s.addPin(2, -1)).isZero();
    assertThat(s.isForwardTarget(2)).isTrue();
    assertThat(s.pinCount(3)).as("other slots").isZero();
    assertThat(s.isForwardTarget(3)).isFalse();
  }

  /**
   * The allocator's unpin adds -1 and, when the count went below zero, adds 1 back and reports the
   * misuse. On a forwarding target the word is bit 30 plus the count: the borrow cleared the bit and
   * the masked word read 2^30 - 1, not negative, so the misuse stuck and the block looked pinned
   * for good.
   */
  @Test
  void anUnpinBelowZeroOfAForwardingTargetIsNegativeAndUndoable() {
    Slab s = slab(256, 2, 0);
    s.forwardTarget(0, true);
    assertThat(s.addPin(0, -1)).as("below zero").isNegative();
    assertThat(s.addPin(0, 1)).as("added back").isZero();
    assertThat(s.isForwardTarget(0)).isTrue();
    assertThat(s.pinCount(0)).isZero();
    assertThat(s.addPin(1, -1)).as("a plain slot").isEqualTo(-1);
    assertThat(s.addPin(1, 1)).isZero();
    assertThat(s.isForwardTarget(1)).isFalse();
  }

  @Test
  void movedBlocksAreCounted() {
    Slab s = slab(64, 2, 0);
    assertThat(s.movedCount()).isZero();
    assertThat(s.addMoved(1)).isEqualTo(1);
    assertThat(s.addMoved(1)).isEqualTo(2);
    assertThat(s.addMoved(-2)).isZero();
    assertThat(s.movedCount()).isZero();
  }

  @Test
  void theBitmapHandsOutEachSlotOnceAndNeverOnesPastTheEnd() {
    Slab s = slab(64, 70, 0); // two words, six slots in the second
    Set<Integer> taken = new HashSet<>();
    for (int i = 0; i < 70; i++) {
      int slot = s.take();
      assertThat(slot).isBetween(0, 69);
      assertThat(taken.add(slot)).as("slot %d once", slot).isTrue();
    }
    assertThat(s.take()).as("full").isEqualTo(-1);
    assertThat(s.used()).isEqualTo(70);
    assertThat(s.take(5)).as("taken").isFalse();
    s.release(65);
    s.release(5);
    assertThat(s.used()).isEqualTo(68);
    assertThat(s.take()).as("the lowest word first after a release").isEqualTo(5);
    assertThat(s.take()).isEqualTo(65);
    assertThat(s.take()).isEqualTo(-1);
    s.release(7);
    assertThat(s.take(7)).isTrue();
    assertThat(s.take(7)).isFalse();
    s.release(7);
    assertThatThrownBy(() -> s.release(7)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("released twice");
    assertThat(s.used()).isEqualTo(69);
  }

  @Test
  void aSuccessorSeedIsPastEveryGenerationHandedOut() {
    Slab s = slab(256, 3, 0);
    s.setGeneration(1, 41);
    assertThat(s.nextSeed()).isEqualTo(43);
    Slab next = slab(256, 3, s.nextSeed());
    assertThat(next.generation(0)).isEqualTo(43);
    // A wide successor of a narrow slab starts above every narrow generation.
    Slab narrow = slab(64, 2, 253);
    narrow.setGeneration(0, 255);
    assertThat(slab(256, 2, narrow.nextSeed()).generation(0)).isGreaterThan(255);
  }

  /**
   * A slab seeded at 201 whose slot 0 went round the top of its 8 bits to 5 (handing out 201..255,
   * 1 and 3) and slot 1 on to 221. The successor used to start at 223 (the largest value plus two):
   * a generation slot 0 handed out about a dozen blocks before, whose stale handles then named the
   * successor's first block in slot 0. Measured from where the slab started, the seed is 7.
   */
  @Test
  void aSuccessorSeedIsPastEveryGenerationEvenWhenSlotsWrapped() {
    Slab s = slab(64, 2, 201);
    Set<Integer> handedOut = new HashSet<>();
    for (int gen = 201; gen != 5; gen = s.nextGeneration(gen)) {
      handedOut.add(gen);
      assertThat(s.markFreed(0, gen, s.nextGeneration(gen))).isTrue();
    }
    for (int gen = 201; gen != 221; gen = s.nextGeneration(gen)) {
      handedOut.add(gen);
      assertThat(s.markFreed(1, gen, s.nextGeneration(gen))).isTrue();
    }
    assertThat(s.generation(0)).isEqualTo(5);
    assertThat(s.generation(1)).isEqualTo(221);
    Slab successor = slab(64, 2, s.nextSeed());
    int first = successor.generation(0);
    assertThat(handedOut).as("generations handed out by the predecessor").doesNotContain(first);
    assertThat(first).isEqualTo(7);
  }

  /** Two frees of the same block released together: exactly one wins, every round. */
  @Test
  void twoRacingFreesOfOneBlockFreeItOnce() throws Exception {
    Slab s = slab(1024, 1, 0);
    CyclicBarrier go = new CyclicBarrier(2);
    boolean[][] won = new boolean[2][ROUNDS];
    int[] gens = new int[ROUNDS];
    for (int r = 0, g = s.generation(0); r < ROUNDS; r++, g = s.nextGeneration(g)) {
      gens[r] = g;
    }
    Future<?>[] f = new Future<?>[2];
    for (int t = 0; t < 2; t++) {
      int me = t;
      f[t] = pool.submit(() -> {
        for (int r = 0; r < ROUNDS; r++) {
          go.await(30, TimeUnit.SECONDS);
          won[me][r] = s.markFreed(0, gens[r], s.nextGeneration(gens[r]));
          go.await(30, TimeUnit.SECONDS); // both tried before the next round's generation
        }
        return null;
      });
    }
    f[0].get(60, TimeUnit.SECONDS);
    f[1].get(60, TimeUnit.SECONDS);
    for (int r = 0; r < ROUNDS; r++) {
      assertThat(won[0][r] ^ won[1][r]).as("round %d: one free wins", r).isTrue();
    }
    assertThat(s.generation(0)).isEqualTo(s.nextGeneration(gens[ROUNDS - 1]));
  }

  /**
   * The pin protocol against a freeze: a pinner adds its pin and then checks the generation, a
   * freezer moves the generation and then reads the pins. Released together every round, at least
   * one of them sees the other (never a pinned block frozen with its pinner believing it live).
   */
  @Test
  void aPinAndAFreezeReleasedTogetherAlwaysSeeOneAnother() throws Exception {
    Slab s = slab(1024, 1, 0);
    CyclicBarrier go = new CyclicBarrier(2);
    boolean[] pinnerSawLive = new boolean[ROUNDS];
    boolean[] freezerSawNoPin = new boolean[ROUNDS];
    Future<?> pinner = pool.submit(() -> {
      for (int r = 0; r < ROUNDS; r++) {
        int gen = 1 + 2 * (r % 100);
        go.await(30, TimeUnit.SECONDS);
        s.addPin(0, 1);
        pinnerSawLive[r] = s.holds(handle(s, 0, gen));
        go.await(30, TimeUnit.SECONDS); // both done
        s.addPin(0, -1);
        go.await(30, TimeUnit.SECONDS); // reset done
      }
      return null;
    });
    Future<?> freezer = pool.submit(() -> {
      for (int r = 0; r < ROUNDS; r++) {
        int gen = 1 + 2 * (r % 100);
        s.setGeneration(0, gen);
        go.await(30, TimeUnit.SECONDS);
        boolean frozen = s.casGeneration(0, gen, gen + 1);
        freezerSawNoPin[r] = frozen && s.pinCount(0) == 0;
        go.await(30, TimeUnit.SECONDS);
        go.await(30, TimeUnit.SECONDS);
      }
      return null;
    });
    pinner.get(60, TimeUnit.SECONDS);
    freezer.get(60, TimeUnit.SECONDS);
    for (int r = 0; r < ROUNDS; r++) {
      assertThat(pinnerSawLive[r] && freezerSawNoPin[r]).as("round %d: both missed the other", r).isFalse();
    }
  }

  /** An access racing a free never brings the free slot's clock back from FREE. */
  @Test
  void anAccessRacingAFreeNeverUndoesTheFreesMark() throws Exception {
    Slab s = slab(1024, 1, 0);
    CyclicBarrier go = new CyclicBarrier(2);
    AtomicBoolean ok = new AtomicBoolean(true);
    Future<?> toucher = pool.submit(() -> {
      for (int r = 0; r < ROUNDS; r++) {
        go.await(30, TimeUnit.SECONDS);
        s.touch(0);
        go.await(30, TimeUnit.SECONDS);
        go.await(30, TimeUnit.SECONDS);
      }
      return null;
    });
    Future<?> freer = pool.submit(() -> {
      for (int r = 0; r < ROUNDS; r++) {
        int gen = s.generation(0);
        s.markAllocated(0);
        s.age(0, 0);
        s.age(0, 1); // an idle block: touch will try to reset it
        go.await(30, TimeUnit.SECONDS);
        s.markFreed(0, gen, s.nextGeneration(gen));
        go.await(30, TimeUnit.SECONDS);
        if (s.ages[0] != Slab.FREE) {
          ok.set(false);
        }
        go.await(30, TimeUnit.SECONDS);
      }
      return null;
    });
    toucher.get(60, TimeUnit.SECONDS);
    freer.get(60, TimeUnit.SECONDS);
    assertThat(ok).as("the clock of a freed slot stayed FREE in every round").isTrue();
  }
}
