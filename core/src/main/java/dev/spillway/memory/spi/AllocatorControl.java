package dev.spillway.memory.spi;

import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.RestoreFailedException;
import dev.spillway.memory.SpillFailedException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;

/**
 * The control SPI of a {@link BlockAllocator} ({@link BlockAllocator#control()}): what the control
 * plane needs and an application rarely does. Victims ({@link #sweepIdle}, {@link #coldest}, {@link
 * #sparsest}, as {@link BlockRefs}), spilling in one call or in two stages ({@link #prepareSpill},
 * {@link #writeSpills}), restore ahead of use and reads that leave a block spilled, the memory budget
 * and the listeners of a full budget and of restores, and maintenance. Kept apart from the data API
 * the way a cache keeps its eviction policy apart from get and put: the data API is what every user
 * holds; this is for the few who drive spilling themselves. Every method is safe from any thread. The
 * spill and restore methods throw {@link IllegalStateException} when the allocator has no tier.
 */
public interface AllocatorControl {

  /**
   * Spills {@code handles[from, from + count)} (handles, or references of {@link BlockRefs}) as one batch: one gathering write (and one fsync with
   * durability {@code batch}). Blocks that are pinned, already spilled, or touched while the batch is
   * written stay as they are and are counted in the report (a handle named twice in one batch counts
   * as busy the second time). An invalid handle fails the call before anything is written.
   *
   * @throws SpillFailedException when the write fails; every block of the batch stays resident
   */
  SpillReport spill(long[] handles, int from, int count);

  /**
   * Stage one of a pipelined spill (the streams module's spill pipeline drives it): freezes the blocks
   * of {@code handles[from, from + count)}, waits out writes in flight, and encodes a copy of each
   * (LZ4 or raw, per {@code spillway.spill.codec}) into memory of its own. Several threads may prepare
   * at once, while an earlier group is being written. Nothing is released yet: every prepared spill
   * must end in {@link #writeSpills} or {@link PreparedSpill#abandon()}. An invalid handle fails only
   * its own request ({@link PreparedSpill#failure}).
   *
   * @throws IllegalStateException when the allocator has no tier
   */
  PreparedSpill prepareSpill(long[] handles, int from, int count);

  /**
   * {@link #prepareSpill} without the copy: a record stored raw points at its block's slot, as in the
   * synchronous {@link #spill}. The group must be passed to {@link #writeSpills} (or abandoned) right
   * away by the same thread, not left waiting: only the short window of a synchronous spill keeps the
   * slots in place. For a pipeline's writer when encoding is cheap ({@link #spillEncodingIsCheap}),
   * where a copy would cost as much as the encoding it lets run ahead. The default copies.
   *
   * @throws IllegalStateException when the allocator has no tier
   */
  default PreparedSpill prepareSpillInPlace(long[] handles, int from, int count) {
    return prepareSpill(handles, from, count);
  }

  /**
   * Whether encoding a spill costs about a copy now: the spill codec is raw, or LZ4 is backed off
   * because recent records did not compress (see {@code spillway.spill.codec}). A pipeline then spills
   * in place on its writer ({@link #prepareSpillInPlace}) instead of encoding copies ahead of it. A hint
   * that may change with every record; false without a tier. The default says false.
   */
  default boolean spillEncodingIsCheap() {
    return false;
  }

  /**
   * Stage two: appends the records of every group in {@code batch} in one batch (one gathering write,
   * fsync per {@code spillway.tier.durability}) and releases the RAM of each block nobody touched since
   * its preparation. Afterwards each request's {@link PreparedSpill#outcome} is final.
   *
   * @throws SpillFailedException when the append fails: every block of the batch stays resident and
   *     unchanged, each request carrying the exception as its {@link PreparedSpill#failure}
   * @throws IllegalStateException when a group was written or abandoned before
   */
  void writeSpills(java.util.List<PreparedSpill> batch);

  /**
   * Brings a spilled block back into RAM now (a prefetch) instead of on its next access. Returns true
   * when this call read it from the tier, false when it was resident already (or another thread
   * restored it meanwhile).
   *
   * @throws RestoreFailedException when its record cannot be read; the block stays spilled
   */
  boolean restore(long handle);

  /**
   * Copies the whole block ({@code size(handle)} bytes) to the start of {@code dst} and returns its
   * size. A spilled block is decoded from its record straight into {@code dst} and stays spilled: an
   * export or a checksum pass over more blocks than RAM holds does not pull them all back in.
   *
   * @throws IllegalArgumentException when {@code dst} is smaller than the block
   * @throws RestoreFailedException when a spilled block's record cannot be read
   */
  long copyOut(long handle, MemorySegment dst);

  /**
   * One sweep of the idle clock, for the control plane: every resident block of at least 1 KiB that
   * was not accessed since the previous sweep ages by one sweep (any call naming a block counts as an
   * access), and references of blocks idle for at least {@code idleSweeps} sweeps are added to
   * {@code out} (cleared first) until it is full. Returns how many were added. A reference (see
   * {@link BlockRefs}) names the block for {@link #spill}, {@link #prepareSpill} and {@link
   * BlockAllocator#isResident} only; a block restored into another slot is named by that slot, and
   * spilling through such a reference spills the block (its own handle stays valid). Blocks under
   * 1 KiB never show up (a record and an entry would cost more than they free), nor blocks restored
   * and not accessed since.
   *
   * @throws IllegalArgumentException when {@code idleSweeps} is outside 1 to 120
   */
  int sweepIdle(int idleSweeps, BlockRefs out);

  /**
   * References of the coldest resident blocks of 1 KiB and up (longest idle by the idle clock first;
   * among equals, in slab order), added to {@code out} (cleared first) until it is full; returns how many. Ages
   * nothing, so a caller that needs room at once can ask as often as it likes without skewing the
   * clock. The references work as those of {@link #sweepIdle} do.
   */
  int coldest(BlockRefs out);

  /**
   * References of every live block of 1 KiB and up in the emptiest slabs (the fewest live blocks for
   * their size first), slab by slab, until the slabs named map at least {@code bytes} (at least one
   * slab), or {@code out} is full (a slab whose blocks do not all fit is left out: spilling part of a
   * slab frees no memory). Spilling them empties those slabs, which the pools' shrink rule then gives
   * back: the way to make room when the budget is held by free slots scattered over partly used slabs
   * rather than by live bytes. Clears {@code out} first; returns how many were added; the references work as those of
   * {@link #sweepIdle} do.
   */
  int sparsest(BlockRefs out, long bytes);

  /**
   * Caps the memory the allocator maps (slabs and huge blocks) at {@code bytes}: growth past it fails
   * with {@link dev.spillway.memory.BudgetExceededException} (a {@link dev.spillway.memory.PoolExhaustedException}); blocks coming back from
   * the tier may go {@code slack} bytes over it, so that an access never fails for lack of RAM. Memory
   * already mapped stays; spilling and shrinking bring it under.
   */
  void budget(long bytes, long slack);

  /**
   * Applies the grow and shrink rules of {@code spillway.memory.pools} to one pool, named as
   * {@link dev.spillway.memory.PoolStats#name()} names it; returns the change in capacity, in blocks. The control plane's
   * pool actors call it; {@link #maintain()} does it for every pool.
   *
   * @throws IllegalArgumentException when no size class has that name
   */
  long maintainPool(String name);

  /**
   * What a restore does when the budget and its slack are used up (see {@link RoomWaiter}); null
   * restores the default, which fails the access with {@link dev.spillway.memory.RestoreFailedException}.
   */
  void onBudgetFull(RoomWaiter waiter);

  /**
   * Tells {@code nanos} the duration of every restore from the tier (on the restoring thread, so it
   * must be quick: a metrics histogram); null stops it.
   */
  void onRestore(java.util.function.LongConsumer nanos);

  /** Bytes mapped now (slabs and huge blocks), which the budget caps. */
  long mappedBytes();

  /** The budget of {@link #budget}, or {@link Long#MAX_VALUE} when none was set. */
  long budgetBytes();

  /**
   * The directories of the tier this allocator spills to (each holds the log's {@code spill}
   * directory; the private one it made when none were configured); empty without a tier.
   */
  List<Path> tierDirectories();

  /**
   * One pass of housekeeping, driven by the control plane: returns the blocks of dead threads' caches,
   * asks idle caches to trim, applies each pool's grow / shrink rule once, unmaps released slabs, and,
   * with a tier, writes pending tombstones and compacts its segments.
   */
  MaintenanceReport maintain();

  /** Returns the calling thread's cached free blocks to the pools. */
  void trimCurrentThreadCache();
}
