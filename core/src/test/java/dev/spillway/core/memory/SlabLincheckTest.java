package dev.spillway.core.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.jetbrains.lincheck.datastructures.BooleanGen;
import org.jetbrains.lincheck.datastructures.IntGen;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Param;
import org.jetbrains.lincheck.datastructures.StressOptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The lock-free state of one {@link Slab} slot is linearizable against a plain record ({@link
 * Spec}): its generation (frees, freezes and unfreezes by CAS, {@code holds}), its pin count and the
 * forwarding bit that shares the pin word, from two and three threads. The slot starts at 65533 of a
 * 16-bit slab, so the generations wrap to 1 (and a freeze of 65535 to 0) within a few operations.
 *
 * <p>Pins and unpins run in one thread (as one owner's pin and unpin do), which keeps their count
 * from going below zero: an unpin below zero is a misuse whose add-back leaves the word wrong for
 * a moment ({@link Slab#addPin}), checked in {@link SlabTest}. The idle clock is left out: a free
 * marks it before it moves the generation on purpose, so a clock read between the two is not
 * linearizable, and the sweeps only rely on "a new generation implies the clock says FREE".
 */
@Tag("lincheck")
@Timeout(value = 120, unit = TimeUnit.SECONDS)
@Param(name = "gen", gen = IntGen.class, conf = "0:2")
@Param(name = "on", gen = BooleanGen.class)
public class SlabLincheckTest {
  /** The generations the operations name: the first, the top of 16 bits, and the wrapped one. */
  static final int[] GENERATIONS = {65533, 65535, 1};

  private final Slab slab = new Slab(1, dev.spillway.memory.SizeClasses.indexOf(1024), 1024, 1, Arena.global(),
      MemorySegment.ofArray(new byte[1024]), 65533);
  /** The pins the pinning thread holds (only that thread touches it). */
  private int held;

  private long handle(int g) {
    return Handles.make(GENERATIONS[g], 0, slab.id, 0);
  }

  @Operation
  public boolean free(@Param(name = "gen") int g) {
    int gen = GENERATIONS[g];
    return slab.markFreed(0, gen, slab.nextGeneration(gen));
  }

  @Operation
  public boolean freeze(@Param(name = "gen") int g) {
    int gen = GENERATIONS[g];
    return slab.casGeneration(0, gen, (gen + 1) & slab.generationMask);
  }

  @Operation
  public boolean unfreeze(@Param(name = "gen") int g) {
    int gen = GENERATIONS[g];
    return slab.casGeneration(0, (gen + 1) & slab.generationMask, gen);
  }

  @Operation
  public boolean holds(@Param(name = "gen") int g) {
    return slab.holds(handle(g));
  }

  @Operation
  public int generation() {
    return slab.generationAcquire(0);
  }

  @Operation(nonParallelGroup = "pins")
  public int pin() {
    held++;
    return slab.addPin(0, 1);
  }

  @Operation(nonParallelGroup = "pins")
  public int unpin() {
    if (held == 0) {
      return -1;
    }
    held--;
    return slab.addPin(0, -1);
  }

  @Operation
  public int pinCount() {
    return slab.pinCount(0);
  }

  @Operation
  public void forward(@Param(name = "on") boolean on) {
    slab.forwardTarget(0, on);
  }

  @Operation
  public boolean isForwardTarget() {
    return slab.isForwardTarget(0);
  }

  @Test
  void oneSlotIsLinearizableUnderModelChecking() {
    new ModelCheckingOptions()
        .iterations(12)
        .invocationsPerIteration(300)
        .threads(2)
        .actorsPerThread(3)
        .actorsBefore(2)
        .actorsAfter(1)
        .sequentialSpecification(Spec.class)
        .check(SlabLincheckTest.class);
  }

  @Test
  void oneSlotIsLinearizableUnderModelCheckingWithThreeThreads() {
    new ModelCheckingOptions()
        .iterations(6)
        .invocationsPerIteration(300)
        .threads(3)
        .actorsPerThread(2)
        .actorsBefore(1)
        .actorsAfter(1)
        .sequentialSpecification(Spec.class)
        .check(SlabLincheckTest.class);
  }

  @Test
  void oneSlotIsLinearizableUnderStress() {
    new StressOptions()
        .iterations(5)
        .invocationsPerIteration(200)
        .threads(2)
        .actorsPerThread(4)
        .sequentialSpecification(Spec.class)
        .check(SlabLincheckTest.class);
  }

  /** The sequential specification: one slot's generation, pins and forwarding bit. */
  public static final class Spec {
    private int gen = 65533;
    private int pins;
    private boolean forward;

    private static int next(int g) {
      return (g + 2) & 0xFFFF;
    }

    public boolean free(int g) {
      if (gen != GENERATIONS[g]) {
        return false;
      }
      gen = next(gen);
      return true;
    }

    public boolean freeze(int g) {
      if (gen != GENERATIONS[g]) {
        return false;
      }
      gen = (gen + 1) & 0xFFFF;
      return true;
    }

    public boolean unfreeze(int g) {
      if (gen != ((GENERATIONS[g] + 1) & 0xFFFF)) {
        return false;
      }
      gen = GENERATIONS[g];
      return true;
    }

    public boolean holds(int g) {
      return gen == GENERATIONS[g];
    }

    public int generation() {
      return gen;
    }

    public int pin() {
      return ++pins;
    }

    public int unpin() {
      return pins == 0 ? -1 : --pins;
    }

    public int pinCount() {
      return pins;
    }

    public void forward(boolean on) {
      forward = on;
    }

    public boolean isForwardTarget() {
      return forward;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Spec s && s.gen == gen && s.pins == pins && s.forward == forward;
    }

    @Override
    public int hashCode() {
      return (gen * 31 + pins) * 2 + (forward ? 1 : 0);
    }
  }
}
