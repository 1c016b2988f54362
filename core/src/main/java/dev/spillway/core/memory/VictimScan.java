package dev.spillway.core.memory;

import dev.spillway.memory.SizeClasses;
import dev.spillway.memory.spi.BlockRefs;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds spill victims for the control plane, as {@link BlockRefs}: references (a handle's generation
 * and location, no slack) of live blocks, by their idle clocks ({@link Slab#ages}).
 *
 * <ul>
 *   <li>{@link #sweepIdle}: one CLOCK sweep (every clock ages by one) naming blocks idle for at least
 *       {@code idleSweeps} sweeps;
 *   <li>{@link #coldest}: the oldest clocks first, without ageing anything (memory pressure);
 *   <li>{@link #sparsest}: every live block of the slabs with the fewest live bytes per mapped byte,
 *       whole slabs only (spilling part of a slab gives no memory back).
 * </ul>
 *
 * <p>A slot is named only for a generation that was live while its clock was read (generation, clock,
 * generation again): a free marks the clock FREE before it moves the generation, so a free slot is
 * never named by the generation it keeps for its next block. The caller checks the allocator is open.
 */
final class VictimScan {
  private final SlabDirectory directory;

  VictimScan(SlabDirectory directory) {
    this.directory = directory;
  }

  int sweepIdle(int idleSweeps, BlockRefs out) {
    if (idleSweeps < 1 || idleSweeps > Slab.MAX_AGE) {
      throw new IllegalArgumentException("idleSweeps = " + idleSweeps + ": allowed 1 to " + Slab.MAX_AGE);
    }
    java.util.Objects.requireNonNull(out, "out");
    out.clear();
    for (int i = 0, limit = directory.indexLimit(); i < limit; i++) {
      Slab slab = directory.get(i);
      byte[] ages = slab == null ? null : slab.ages;
      if (ages == null || slab.released) {
        continue;
      }
      for (int slot = 0; slot < slab.slots; slot++) {
        // Generation, clock, generation again: a free marks the clock FREE before it moves the
        // generation, so a reference is only made for a generation that was live while the clock was
        // read, never for the one a free slot keeps for its next block.
        int gen = slab.generationAcquire(slot);
        VarHandle.loadLoadFence();
        int age = ages[slot];
        if (age < 0) {
          continue; // free, or restored and not accessed since (RESTORED)
        }
        if (age < Slab.MAX_AGE) {
          if (!slab.age(slot, age)) {
            continue; // touched, freed or forwarded right now: a CAS never overwrites that
          }
          age++;
        }
        if (age >= idleSweeps && !out.full() && (gen & 1) == 1) { // even: being moved now
          VarHandle.loadLoadFence();
          if (slab.generationAcquire(slot) == gen) {
            out.add(Handles.make(gen, 0, slab.id, slot), slab.blockSize);
          }
        }
      }
    }
    return out.size();
  }

  int coldest(BlockRefs out) {
    java.util.Objects.requireNonNull(out, "out");
    out.clear();
    if (out.capacity() == 0) {
      return 0;
    }
    long[] byAge = new long[Slab.MAX_AGE + 1];
    forEachAgedSlot((slab, slot, age) -> byAge[age]++);
    int threshold = Slab.MAX_AGE;
    for (long sum = byAge[threshold]; threshold > 0 && sum < out.capacity(); sum += byAge[threshold]) {
      threshold--;
    }
    int t = threshold;
    // The oldest first: everything above the threshold, then the threshold's own age until full.
    for (int pass = 0; pass < 2 && !out.full(); pass++) {
      boolean above = pass == 0;
      forEachAgedSlot((slab, slot, age) -> {
        if ((above ? age > t : age == t) && !out.full()) {
          // As in sweepIdle: generation, clock, generation again, so a free slot is never named.
          int gen = slab.generationAcquire(slot);
          VarHandle.loadLoadFence();
          if ((gen & 1) == 1 && slab.ages[slot] >= 0) {
            VarHandle.loadLoadFence();
            if (slab.generationAcquire(slot) == gen) {
              out.add(Handles.make(gen, 0, slab.id, slot), slab.blockSize);
            }
          }
        }
      });
    }
    return out.size();
  }

  int sparsest(BlockRefs out, long bytes) {
    java.util.Objects.requireNonNull(out, "out");
    out.clear();
    List<Slab> candidates = new ArrayList<>();
    for (int i = 0, limit = directory.indexLimit(); i < limit; i++) {
      Slab slab = directory.get(i);
      if (slab != null && slab.ages != null && !slab.released && slab.used() > 0
          && slab.classIndex != SizeClasses.HUGE) {
        candidates.add(slab);
      }
    }
    // Fewest live bytes per mapped byte first: the least to write for the most memory given back.
    candidates.sort(java.util.Comparator.comparingDouble(s -> (double) s.used() / s.slots));
    long freed = 0;
    for (Slab slab : candidates) {
      if (freed >= bytes && freed > 0) {
        break;
      }
      int start = out.size();
      boolean whole = true;
      for (int slot = 0; slot < slab.slots; slot++) {
        // As in coldest: generation, clock, generation again, so a free slot is never named.
        int gen = slab.generationAcquire(slot);
        VarHandle.loadLoadFence();
        if ((gen & 1) == 1 && slab.ages[slot] >= 0) {
          VarHandle.loadLoadFence();
          if (slab.generationAcquire(slot) == gen && !out.add(Handles.make(gen, 0, slab.id, slot), slab.blockSize)) {
            whole = false;
            break;
          }
        }
      }
      if (!whole) {
        out.truncate(start); // not all of it fits: naming part of a slab frees nothing
        break;
      }
      if (out.size() - start != slab.used()) {
        // Some of its taken slots are not live blocks this can name (parked in a thread's cache, or a
        // block mid-move): spilling the rest would not empty it.
        out.truncate(start);
        continue;
      }
      freed += slab.bytes();
    }
    return out.size();
  }

  private interface AgedSlot {
    void accept(Slab slab, int slot, int age);
  }

  /** Every live slot with an idle clock (age 0 and up), in slab order. */
  private void forEachAgedSlot(AgedSlot visitor) {
    for (int i = 0, limit = directory.indexLimit(); i < limit; i++) {
      Slab slab = directory.get(i);
      byte[] ages = slab == null ? null : slab.ages;
      if (ages == null || slab.released) {
        continue;
      }
      for (int slot = 0; slot < slab.slots; slot++) {
        int age = ages[slot];
        if (age >= 0) {
          visitor.accept(slab, slot, Math.min(age, Slab.MAX_AGE));
        }
      }
    }
  }
}
