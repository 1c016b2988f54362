package dev.spillway.core.memory;

import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.BudgetExceededException;
import dev.spillway.memory.spi.AllocatorControl;
import dev.spillway.memory.spi.BlockRefs;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A budget held by free slots of partly used slabs rather than by live bytes: {@link
 * AllocatorControl#sparsest} names every block of the emptiest slabs (whole slabs only), spilling them
 * empties those slabs, and maintenance at the budget gives empty slabs back even where the pool's
 * shrink rule would keep them, so another size class gets room; every block reads back.
 * Run: {@code mvn -B -pl core -am test -Dsurefire.failIfNoSpecifiedTests=false -Dtest='FragmentedBudgetTest'}
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class FragmentedBudgetTest extends AllocatorTestBase {
  @TempDir Path tmp;

  /** 25 blocks of 40 KiB fit a 1 MiB slab. */
  private static final long SLAB_40K = 25 * (40 << 10);

  private BlockAllocator a;
  private final Map<Long, Long> values = new HashMap<>();
  private List<Long> slabA;
  private List<Long> slabB;
  private long other;

  /**
   * A 4 MiB budget, 1 MiB slabs: three slabs of 64 KiB blocks keeping 2 (A), 10 (B) and 16 (C) of
   * their 16 blocks, and one slab of the 40 KiB class with one block. The budget has no room for
   * another slab: a 48 KiB block fails.
   */
  private void fragment() {
    a = tiered(tmp, "memory { large-slab-size = 1 MiB, thread-cache.enabled = false }, spill.codec = raw");
    a.control().budget(4L << 20, 0);
    Map<Long, List<Long>> bySlab = new HashMap<>();
    for (int i = 0; i < 48; i++) {
      long h = a.allocate(64 << 10);
      a.putLong(h, 0, i);
      values.put(h, (long) i);
      bySlab.computeIfAbsent((long) Handles.slab(h), k -> new ArrayList<>()).add(h);
    }
    assertThat(bySlab).hasSize(3);
    List<Long> slabs = new ArrayList<>(bySlab.keySet());
    slabs.sort(null);
    slabA = bySlab.get(slabs.get(0));
    slabB = bySlab.get(slabs.get(1));
    for (int i = 2; i < 16; i++) {
      free(slabA.get(i));
    }
    for (int i = 10; i < 16; i++) {
      free(slabB.get(i));
    }
    slabA = slabA.subList(0, 2);
    slabB = slabB.subList(0, 10);
    other = a.allocate(40 << 10);
    a.putLong(other, 0, -1);
    values.put(other, -1L);
    assertThat(a.control().mappedBytes()).isEqualTo((3L << 20) + SLAB_40K);
    assertThatThrownBy(() -> a.allocate(48 << 10)).isInstanceOf(BudgetExceededException.class);
  }

  private void free(long h) {
    a.free(h);
    values.remove(h);
  }

  /** Every block reads back what was written (the spilled ones under a budget with room), then all are freed. */
  private void verifyAndFreeAll() {
    a.control().budget(64L << 20, 0);
    for (Map.Entry<Long, Long> e : values.entrySet()) {
      assertThat(a.getLong(e.getKey(), 0)).isEqualTo(e.getValue());
    }
    for (long h : List.copyOf(values.keySet())) {
      free(h);
    }
  }

  @Test
  void sparsestNamesWholeSlabsFewestLiveBlocksPerSlotFirstUntilTheBytesAreCovered() {
    fragment();
    BlockRefs out = new BlockRefs(64);
    assertThat(keys(out, a.control().sparsest(out, 1))).as("1 of 25 slots: the 40 KiB slab first")
        .containsExactly(MovedBlock.keyOf(other));
    int n = a.control().sparsest(out, SLAB_40K + 1);
    assertThat(keys(out, n)).as("then A (2 of 16)").containsExactlyInAnyOrderElementsOf(
        keys(List.of(other, slabA.get(0), slabA.get(1))));
    assertThat(a.control().sparsest(out, SLAB_40K + (1L << 20) + 1)).as("then B (10 of 16)").isEqualTo(13);
    assertThat(a.control().sparsest(new BlockRefs(2), 1L << 30)).as("A does not fit after the first: a slab is named whole or not")
        .isEqualTo(1);
    assertThat(a.control().spill(out.toArray(), 0, 3).spilled()).isEqualTo(3);
    a.control().maintain();
    assertThat(a.control().mappedBytes()).as("the two emptied slabs went back").isLessThanOrEqualTo(3L << 20);
    long h48 = a.allocate(48 << 10);
    a.putLong(h48, 0, -2);
    values.put(h48, -2L);
    verifyAndFreeAll();
  }

  @Test
  void atTheBudgetMaintenanceGivesAnEmptySlabBackWhereTheShrinkRuleWouldKeepIt() {
    fragment();
    long[] refs = slabA.stream().mapToLong(Long::longValue).toArray();
    assertThat(a.control().spill(refs, 0, 2).spilled()).isEqualTo(2);
    // 64 KiB pool: 48 slots, 24 taken: 50% free, not more, so its shrink rule alone keeps A.
    a.control().maintain();
    assertThat(a.control().mappedBytes()).isEqualTo((2L << 20) + SLAB_40K);
    long h48 = a.allocate(48 << 10);
    a.putLong(h48, 0, -2);
    values.put(h48, -2L);
    verifyAndFreeAll();
  }

  @Test
  void underTheBudgetTheShrinkRuleDecidesAsBefore() {
    fragment();
    a.control().budget(64L << 20, 0); // room for many slabs: nothing is starved
    long[] refs = slabA.stream().mapToLong(Long::longValue).toArray();
    assertThat(a.control().spill(refs, 0, 2).spilled()).isEqualTo(2);
    a.control().maintain();
    assertThat(a.control().mappedBytes()).as("A stays: 50% free is not more than shrink-when-free")
        .isEqualTo((3L << 20) + SLAB_40K);
    verifyAndFreeAll();
  }

  @Test
  void aSlabHeldByCachedSlotsIsNotNamedUntilTheCacheGivesThemBack() {
    a = tiered(tmp, "memory.thread-cache { max-blocks-per-class = 8, max-bytes-per-class = 16 MiB }");
    List<Long> blocks = new ArrayList<>();
    for (int i = 0; i < 16; i++) { // one 256 KiB slab of 16 KiB blocks
      long h = a.allocate(16 << 10);
      a.putLong(h, 0, i);
      blocks.add(h);
    }
    for (int i = 2; i < 16; i++) {
      a.free(blocks.get(i)); // some of these slots stay parked in this thread's cache
    }
    BlockRefs out = new BlockRefs(64);
    assertThat(a.control().sparsest(out, 1)).as("two live blocks, but cached slots keep the slab from emptying").isZero();
    a.control().trimCurrentThreadCache();
    assertThat(a.control().sparsest(out, 1)).as("with the cache trimmed, spilling the two empties the slab").isEqualTo(2);
    a.free(blocks.get(0));
    a.free(blocks.get(1));
  }

  private static List<Long> keys(BlockRefs refs, int n) {
    return keys(Arrays.stream(refs.toArray(), 0, n).boxed().toList());
  }

  private static List<Long> keys(List<Long> handles) {
    return handles.stream().map(MovedBlock::keyOf).toList();
  }
}
