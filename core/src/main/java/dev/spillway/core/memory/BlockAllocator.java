package dev.spillway.core.memory;

import dev.spillway.config.MemorySettings;
import dev.spillway.config.SpillSettings;
import dev.spillway.config.SpillwaySettings;
import dev.spillway.config.TierSettings;
import dev.spillway.core.codec.Codecs;
import dev.spillway.core.tier.OwnedDirectory;
import dev.spillway.core.tier.PrivateDirectory;
import dev.spillway.core.tier.SegmentLog;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;

/**
 * Off-heap blocks of 1 B to 1 GiB named by 64-bit handles: Spillway's data plane.
 *
 * <p>The primitive API ({@code allocate}, {@code free}, {@code get*} / {@code put*}, {@code read} /
 * {@code write}) creates no garbage and takes no lock on its fast path; every method is safe to call
 * from any thread, and a block may be freed by a thread other than the one that allocated it. Block
 * contents are not synchronized: threads sharing a block synchronize as they would for an array.
 * Multi-byte values are little-endian and need no alignment. Fresh blocks hold undefined bytes
 * unless allocated with {@link #allocateZeroed}.
 *
 * <p>Every handle is checked before memory is touched: a freed, reused, forged or garbage handle
 * raises {@link InvalidHandleException}, an access outside the block {@link BlockBoundsException},
 * and any call after {@link #close()} {@link AllocatorClosedException}. Stale handles are detected
 * until their slot has been reused 128 times (classes under 128 B) or 32768 times (all others).
 *
 * <p><b>Spilling.</b> An allocator {@linkplain #open opened with a tier} can {@link #spill} blocks to
 * NVMe segment files: their RAM goes back to the pools, and the next access of any kind (get, put,
 * read, write, segment, pin) restores the block on the calling thread, byte for byte, while its
 * handle stays the same. Any access to a block while it is being spilled keeps it resident (the spill
 * is discarded), a pinned block never spills, concurrent accesses to a spilled block restore it once,
 * and a failed spill leaves the block resident. A block restored into a slot other than its own is
 * reached through a forwarding table: one lookup more per access until it is freed.
 */
public interface BlockAllocator extends AutoCloseable {

  /** An allocator with the given settings. */
  static BlockAllocator create(MemorySettings settings) {
    return new SlabAllocator(settings);
  }

  /** The largest segment of a spill log. */
  long SPILL_SEGMENT_SIZE = 64L << 20;

  /**
   * An allocator that spills to the tier of {@code settings}: its log lives in a {@code spill}
   * directory under each of {@code spillway.tier.directories} and starts empty (spilled blocks die
   * with the process that spilled them, so segment files a previous process left there are deleted,
   * once this process holds the directory's lock). With no directories configured the tier lives in
   * a private directory made under {@code spillway.tier.default-parent} ({@link PrivateDirectory}),
   * which {@link #close()} deletes, as does the JVM's exit if the allocator is never closed.
   *
   * @throws IOException when a tier directory cannot be created, belongs to another user, is writable
   *     by others, cannot be written, or is locked by another live log
   */
  static BlockAllocator open(SpillwaySettings settings) throws IOException {
    TierSettings tier = settings.tier();
    PrivateDirectory own = tier.isPrivate()
        ? PrivateDirectory.create(tier.defaultParent(), "spillway.tier.default-parent") : null;
    try {
      List<Path> roots = own != null ? List.of(own.path()) : tier.directories();
      for (Path root : roots) {
        OwnedDirectory.prepare(root, "spillway.tier.directories");
      }
      // Segments of at most 64 MiB: spilled records die fast (restored or freed), and a small segment
      // empties, and is compacted, sooner and in shorter passes.
      TierSettings spillTier = tier.withDirectories(roots.stream().map(d -> d.resolve("spill")).toList())
          .withSegmentSize(Math.min(tier.segmentSize(), SPILL_SEGMENT_SIZE));
      Codecs codecs = Codecs.from(settings.codec());
      SegmentLog store = SegmentLog.openEmpty(spillTier, codecs);
      try {
        var codec = settings.spill().codec() == SpillSettings.SpillCodec.LZ4 ? codecs.lz4() : codecs.raw();
        return new SlabAllocator(settings.memory(), store, codec, codecs.raw(), roots, own);
      } catch (RuntimeException e) {
        store.close();
        throw e;
      }
    } catch (IOException | RuntimeException e) {
      if (own != null) {
        try {
          own.close();
        } catch (IOException suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      throw e;
    }
  }

  /** An allocator on the embedded defaults of {@code reference.conf}. */
  static BlockAllocator create() {
    return create(SpillwaySettings.defaults().memory());
  }

  /** Allocates a block of {@code size} bytes, {@code 1 <= size <= maxBlockSize()}; returns its handle. */
  long allocate(long size);

  /** Like {@link #allocate} with every byte zero. */
  long allocateZeroed(long size);

  /** Frees a block. Its handle, and every copy of it, is invalid afterwards. */
  void free(long handle);

  /** Whether {@code handle} names a live block of this allocator. Never throws for a bad handle. */
  boolean isLive(long handle);

  /** The size the block was allocated with. */
  long size(long handle);

  /** The bytes the block occupies: its size class, or its size rounded to pages for huge blocks. */
  long capacity(long handle);

  /**
   * A transient view of the block's {@code size(handle)} bytes, restoring the block if it is spilled.
   * The view works until a block of the same slab moves (a spill ends the access epoch), after which
   * it fails with {@link IllegalStateException} rather than show another block's bytes; after
   * {@code free} it aliases whatever reuses the memory. For a view that stays valid, {@link #pin} the
   * block; otherwise prefer the primitive accessors, which check the handle on every call.
   */
  MemorySegment segment(long handle);

  /**
   * Pins the block in RAM (restoring it if it is spilled) and returns a view of its bytes that stays
   * valid until the matching {@link #unpin}: a pinned block never spills or moves, and cannot be
   * freed. Pins nest: each pin needs its own unpin.
   */
  MemorySegment pin(long handle);

  /** Undoes one {@link #pin}; fails with {@link IllegalStateException} when the block is not pinned. */
  void unpin(long handle);

  /** Whether the block is in RAM (not spilled). Does not restore it. */
  boolean isResident(long handle);

  /**
   * Spills one block: writes it to the tier and, once the record is acknowledged per
   * {@code spillway.tier.durability}, releases its RAM.
   *
   * @throws SpillFailedException when the write fails (device full, I/O error); the block stays
   *     resident and unchanged
   * @throws IllegalStateException when the allocator has no tier
   */
  SpillOutcome spill(long handle);

  /**
   * Spills {@code handles[from, from + count)} as one batch: one gathering write (and one fsync with
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
   * access), and references of blocks idle for at least {@code idleSweeps} sweeps are written to
   * {@code out}, up to its length. Returns how many were written. A reference is a handle that names
   * the block for {@link #spill}, {@link #prepareSpill} and {@link #isResident}; for blocks under
   * 32 KiB it carries no slack, so {@code size} of it reports the class size and the caller keeps
   * using its own handle for everything else. A block restored into another slot is named by that
   * slot; spilling through such a reference spills the block (its own handle stays valid). Blocks
   * under 1 KiB never show up (a record and an entry would cost more than they free), nor blocks
   * restored and not accessed since.
   *
   * @throws IllegalArgumentException when {@code idleSweeps} is outside 1 to 120
   */
  int sweepIdle(int idleSweeps, long[] out);

  /**
   * References of the coldest resident blocks of 1 KiB and up (longest idle by the idle clock first;
   * among equals, in slab order), written to {@code out} up to its length; returns how many. Ages
   * nothing, so a caller that needs room at once can ask as often as it likes without skewing the
   * clock. The references work as those of {@link #sweepIdle} do.
   */
  int coldest(long[] out);

  /**
   * References of every live block of 1 KiB and up in the emptiest slabs (the fewest live blocks for
   * their size first), slab by slab, until the slabs named map at least {@code bytes} (at least one
   * slab), or {@code out} is full (a slab whose blocks do not all fit is left out: spilling part of a
   * slab frees no memory). Spilling them empties those slabs, which the pools' shrink rule then gives
   * back: the way to make room when the budget is held by free slots scattered over partly used slabs
   * rather than by live bytes. Returns how many were written; the references work as those of
   * {@link #sweepIdle} do.
   */
  int sparsest(long[] out, long bytes);

  /**
   * Caps the memory the allocator maps (slabs and huge blocks) at {@code bytes}: growth past it fails
   * with {@link BudgetExceededException} (a {@link PoolExhaustedException}); blocks coming back from
   * the tier may go {@code slack} bytes over it, so that an access never fails for lack of RAM. Memory
   * already mapped stays; spilling and shrinking bring it under.
   */
  void budget(long bytes, long slack);

  /**
   * Applies the grow and shrink rules of {@code spillway.memory.pools} to one pool, named as
   * {@link PoolStats#name()} names it; returns the change in capacity, in blocks. The control plane's
   * pool actors call it; {@link #maintain()} does it for every pool.
   *
   * @throws IllegalArgumentException when no size class has that name
   */
  long maintainPool(String name);

  /**
   * What a restore does when the budget and its slack are used up (see {@link RoomWaiter}); null
   * restores the default, which fails the access with {@link RestoreFailedException}.
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

  byte getByte(long handle, long offset);

  void putByte(long handle, long offset, byte value);

  short getShort(long handle, long offset);

  void putShort(long handle, long offset, short value);

  int getInt(long handle, long offset);

  void putInt(long handle, long offset, int value);

  long getLong(long handle, long offset);

  void putLong(long handle, long offset, long value);

  double getDouble(long handle, long offset);

  void putDouble(long handle, long offset, double value);

  /** Copies {@code length} bytes from the block at {@code offset} into {@code dst[dstOffset..]}. */
  void read(long handle, long offset, byte[] dst, int dstOffset, int length);

  /** Copies {@code length} bytes from {@code src[srcOffset..]} into the block at {@code offset}. */
  void write(long handle, long offset, byte[] src, int srcOffset, int length);

  /** Copies {@code length} bytes from the block at {@code offset} into {@code dst} at {@code dstOffset}. */
  void read(long handle, long offset, MemorySegment dst, long dstOffset, long length);

  /** Copies {@code length} bytes from {@code src} at {@code srcOffset} into the block at {@code offset}. */
  void write(long handle, long offset, MemorySegment src, long srcOffset, long length);

  /** Sets {@code length} bytes of the block from {@code offset} to {@code value}. */
  void fill(long handle, long offset, long length, byte value);

  /**
   * A new {@link java.lang.foreign.SegmentAllocator} over this allocator, for code written against
   * FFM's allocation interface: each segment is a zeroed, pinned block, and closing the returned
   * allocator frees them all and invalidates their segments (see {@link BlockSegmentAllocator}).
   */
  default BlockSegmentAllocator newSegmentAllocator() {
    return new BlockSegmentAllocator(this);
  }

  /** Allocates a block wrapped in an {@link AutoCloseable} object; closing it frees the block. */
  default Block allocateBlock(long size) {
    return new Block(this, allocate(size));
  }

  /**
   * The directories of the tier this allocator spills to (each holds the log's {@code spill}
   * directory; the private one it made when none were configured); empty without a tier.
   */
  default List<Path> tierDirectories() {
    return List.of();
  }

  /** The largest size {@link #allocate} accepts ({@code spillway.memory.max-block-size}). */
  long maxBlockSize();

  /** A snapshot of every pool's figures. */
  AllocatorStats stats();

  /**
   * One pass of housekeeping, driven by the control plane: returns the blocks of dead threads' caches,
   * asks idle caches to trim, applies each pool's grow / shrink rule once, unmaps released slabs, and,
   * with a tier, writes pending tombstones and compacts its segments.
   */
  MaintenanceReport maintain();

  /** Returns the calling thread's cached free blocks to the pools. */
  void trimCurrentThreadCache();

  /** Releases all memory. Every handle becomes invalid; later calls fail. A second close does nothing. */
  @Override
  void close();
}
