package dev.spillway.core.memory;

import dev.spillway.memory.AllocatorClosedException;
import dev.spillway.memory.PoolStats;
import dev.spillway.memory.SizeClasses;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Blocks over 1 MiB: each is a slab of one slot with a mapping of its own, rounded up to whole pages,
 * mapped on allocation and unmapped on free. No pooling: at these sizes the mapping costs little
 * next to touching the memory, and nothing sits idle.
 */
final class HugeBlocks {
  private final SlabDirectory directory;
  private final Set<Slab> slabs = ConcurrentHashMap.newKeySet();
  private final AtomicLong live = new AtomicLong();
  private final AtomicLong allocs = new AtomicLong();
  private final AtomicLong frees = new AtomicLong();
  private final AtomicLong mappedBytes = new AtomicLong();
  private final AtomicLong requestedBytes = new AtomicLong();
  private final AtomicLong metadataBytes = new AtomicLong();
  private final AtomicLong spilled = new AtomicLong();
  private final AtomicLong spilledRequested = new AtomicLong();

  HugeBlocks(SlabDirectory directory) {
    this.directory = directory;
  }

  long allocate(long size) {
    long handle = map(size, false);
    allocs.incrementAndGet();
    return handle;
  }

  /** Maps a block for {@code size} bytes coming back from the tier; returns its slot's handle. */
  long allocateForRestore(long size) {
    long handle = map(size, /* overdraw= */ true);
    spilled.decrementAndGet();
    spilledRequested.addAndGet(-size);
    return handle;
  }

  private long map(long size, boolean overdraw) {
    long capacity = SizeClasses.hugeCapacity(size);
    Slab slab = directory.create(SizeClasses.HUGE, (int) capacity, 1, capacity, overdraw);
    slab.requested[0] = (int) size;
    if (!overdraw) {
      slab.markAllocated(0); // a restore's slab is marked by the restore, once the block is in it
    }
    int gen = slab.generation(0);
    slabs.add(slab);
    live.incrementAndGet();
    mappedBytes.addAndGet(capacity);
    requestedBytes.addAndGet(size);
    metadataBytes.addAndGet(slab.metadataBytes());
    return Handles.make(gen, 0, slab.id, 0);
  }

  /** Unmaps a huge block whose generation the caller already moved to free. */
  void free(Slab slab) {
    frees.incrementAndGet();
    unmap(slab);
  }

  /** Unmaps a huge block whose bytes are now on the tier; the block stays live, as spilled. */
  void releaseSpilled(Slab slab) {
    spilled.incrementAndGet();
    spilledRequested.addAndGet(slab.requested[0]);
    unmap(slab);
  }

  /** Accounts the free of a spilled huge block (it holds no mapping). */
  void freeSpilled(long size) {
    spilled.decrementAndGet();
    spilledRequested.addAndGet(-size);
    frees.incrementAndGet();
  }

  /** Live huge blocks on the tier, and the bytes they were asked for. */
  long[] spilledFigures() {
    return new long[] {spilled.get(), spilledRequested.get()};
  }

  private void unmap(Slab slab) {
    if (!slabs.remove(slab)) {
      throw new AllocatorClosedException(); // closeAll took it first
    }
    live.decrementAndGet();
    mappedBytes.addAndGet(-slab.bytes());
    requestedBytes.addAndGet(-slab.requested[0]);
    metadataBytes.addAndGet(-slab.metadataBytes());
    directory.release(slab);
  }

  /** Unmaps every live huge block; used when the allocator closes. */
  // slabs is a concurrent set, whose iterator is weakly consistent and allows removal: remove's answer
  // tells whether this pass or a concurrent unmap releases the slab.
  @SuppressWarnings("ModifyCollectionInEnhancedForLoop")
  void closeAll() {
    for (Slab slab : slabs) {
      if (slabs.remove(slab)) {
        directory.release(slab);
      }
    }
  }

  PoolStats stats() {
    long n = live.get();
    long bytes = mappedBytes.get();
    return new PoolStats("huge", 0, (int) n, n, n, 0, 0, bytes, requestedBytes.get(), bytes,
        metadataBytes.get(), allocs.get(), frees.get(), 0, 0);
  }
}
