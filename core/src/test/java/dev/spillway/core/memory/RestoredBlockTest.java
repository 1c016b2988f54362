package dev.spillway.core.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.InvalidHandleException;
import dev.spillway.memory.SpillOutcome;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two consequences, through the allocator, of slot-level bugs around restored blocks.
 *
 * <p>A restore into a home slot that was used meanwhile: a block H spills; its slot is reused by X
 * and X is freed; H comes back. The pool used to hand the restore the home slot again (at X's
 * successor generation), and the mover, seeing the home location, restored H "in place" and rewound
 * the slot to H's generation: once H was freed, the slot handed out X's generation again, and X's
 * stale handle named the next block (a stale free freed it). A restore goes in place only into a home
 * slot nobody used since; otherwise elsewhere ({@link SizePool#takeForRestore}).
 *
 * <p>An unpin without a pin of a block restored elsewhere: its RAM slot carries the forwarding bit
 * beside the pin count, and the unpin's borrow cleared the bit and left 2^30 - 1 pins, reported as a
 * count of 0x3FFFFFFF instead of a negative one, so the misuse went unnoticed and the block could
 * never be freed or spilled again ({@link Slab#addPin}).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RestoredBlockTest extends AllocatorTestBase {
  @TempDir Path dir;

  @Test
  void aStaleHandleOfABlockThatUsedTheHomeSlotMeanwhileStaysStale() {
    // No thread caches: frees go straight back to the pool, so the next allocation takes the slot.
    BlockAllocator a = tiered(dir, "memory.thread-cache.enabled = false");
    long h = a.allocate(2048);
    a.putLong(h, 0, 7);
    assertThat(a.spill(h)).isEqualTo(SpillOutcome.SPILLED);
    long x = a.allocate(2048);
    assertThat(Handles.slot(x)).as("X reuses H's home slot").isEqualTo(Handles.slot(h));
    assertThat(Handles.slab(x)).isEqualTo(Handles.slab(h));
    a.free(x);
    assertThat(a.getLong(h, 0)).as("H comes back").isEqualTo(7);
    a.free(h);
    long y = a.allocate(2048);
    assertThat(y).as("no block gets a handle that a freed block had").isNotEqualTo(x);
    assertThat(a.isLive(x)).as("X's handle is stale").isFalse();
    assertThatThrownBy(() -> a.free(x)).as("a stale free").isInstanceOf(InvalidHandleException.class);
    assertThat(a.isLive(y)).isTrue();
    a.free(y);
  }

  /** A home slot nobody used since the block left is where the block comes back, in place. */
  @Test
  void aBlockComesBackInPlaceWhenItsHomeSlotWasNotUsed() {
    BlockAllocator a = tiered(dir, "memory.thread-cache.enabled = false");
    long h = a.allocate(2048);
    a.putLong(h, 8, 9);
    assertThat(a.spill(h)).isEqualTo(SpillOutcome.SPILLED);
    assertThat(a.getLong(h, 8)).isEqualTo(9);
    assertThat(a.stats().spill().restoresInPlace()).isEqualTo(1);
    assertThat(a.stats().spill().forwardedBlocks()).isZero();
    a.free(h);
  }

  @Test
  void anUnpinWithoutAPinOfABlockRestoredElsewhereIsReportedAndChangesNothing() {
    BlockAllocator a = tiered(dir, "memory.thread-cache.enabled = false");
    long h = a.allocate(2048);
    a.putLong(h, 0, 3);
    assertThat(a.spill(h)).isEqualTo(SpillOutcome.SPILLED);
    long taker = a.allocate(2048); // takes the home slot: the restore goes elsewhere
    assertThat(a.getLong(h, 0)).isEqualTo(3);
    assertThat(a.stats().spill().forwardedBlocks()).as("restored elsewhere").isEqualTo(1);
    assertThatThrownBy(() -> a.unpin(h)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("not pinned");
    a.pin(h);
    a.unpin(h);
    assertThat(a.spill(h)).as("not pinned any more").isEqualTo(SpillOutcome.SPILLED);
    assertThat(a.getLong(h, 0)).isEqualTo(3);
    a.free(h);
    a.free(taker);
  }
}
