package dev.spillway;

import dev.spillway.memory.AllocatorStats;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.BudgetExceededException;
import dev.spillway.memory.SpillOutcome;
import dev.spillway.memory.spi.AllocatorControl;
import dev.spillway.memory.spi.BlockRefs;
import dev.spillway.memory.spi.MaintenanceReport;
import dev.spillway.memory.spi.PreparedSpill;
import dev.spillway.memory.spi.RoomWaiter;
import dev.spillway.memory.spi.SpillReport;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongConsumer;

/**
 * The data plane as {@link Spillway#memory()} hands it out: the allocator itself, except that an
 * allocation at the memory budget does not fail at once. It asks the control plane for room (spill
 * cold blocks, shrink pools) and retries, pausing from 1 ms up to 50 ms, until {@code
 * spillway.control.allocate-timeout}; then it fails with {@link OutOfBudgetException}. Every other
 * call goes straight through. {@link #close()} is refused: the facade owns the allocator.
 */
final class BudgetedAllocator implements BlockAllocator {
  private static final long MAX_PAUSE_NANOS = 50_000_000L;

  private final BlockAllocator delegate;
  private final AllocatorControl control;
  private final AllocatorControl spi = new CountingControl();
  private final Duration timeout;
  /** Asks the control plane for room: the bytes wanted, and how long the asker has waited (ns). */
  private final java.util.function.BiConsumer<Long, Long> askForRoom;
  /** Data accesses ({@code get*}, {@code put*}, {@code read}, {@code write}, {@code fill}, {@code segment}, {@code pin}). */
  private final AccessCounter accesses = new AccessCounter();
  /** {@code spillway.metrics.access-counting}. */
  private final boolean counting;
  /** Restores asked for ahead of access ({@code control().restore}), which are not misses of an access. */
  private final java.util.concurrent.atomic.LongAdder prefetched = new java.util.concurrent.atomic.LongAdder();

  BudgetedAllocator(BlockAllocator delegate, Duration timeout, java.util.function.BiConsumer<Long, Long> askForRoom,
      boolean counting) {
    this.counting = counting;
    this.delegate = delegate;
    this.control = delegate.control();
    this.timeout = timeout;
    this.askForRoom = askForRoom;
  }

  /**
   * Counts an access after it completed: a restore it needed is then counted before the access is,
   * so a tick that reads the accesses before the restores never sees the access without its restore.
   */
  private void count() {
    if (counting) {
      accesses.increment();
    }
  }

  /** Data accesses so far (see {@link AccessCounter}: a close lower bound); 0 when not counting. */
  long accesses() {
    return accesses.sum();
  }

  /** Blocks {@code control().restore} read back ahead of any access. */
  long prefetched() {
    return prefetched.sum();
  }

  @Override
  public long allocate(long size) {
    try {
      return delegate.allocate(size);
    } catch (BudgetExceededException full) {
      return waitForRoom(size, false, full);
    }
  }

  @Override
  public long allocateZeroed(long size) {
    try {
      return delegate.allocateZeroed(size);
    } catch (BudgetExceededException full) {
      return waitForRoom(size, true, full);
    }
  }

  /** The pause after the {@code attempt}-th (from 0) request for room: 1 ms doubling to 50 ms. */
  static long pauseNanos(int attempt) {
    return Math.min(MAX_PAUSE_NANOS, 1_000_000L << Math.min(attempt, 20));
  }

  /** The pauses before attempt {@code attempt}, summed. */
  static long waitedNanos(int attempt) {
    long sum = 0;
    for (int i = 0; i < attempt; i++) {
      sum += pauseNanos(i);
    }
    return sum;
  }

  private long waitForRoom(long size, boolean zeroed, BudgetExceededException first) {
    long start = System.nanoTime();
    // Slots parked in this thread's cache keep their slabs from going back: return them first.
    control.trimCurrentThreadCache();
    long deadline = start + timeout.toNanos();
    long pause = 1_000_000L;
    BudgetExceededException last = first;
    for (;;) {
      askForRoom.accept(size, System.nanoTime() - start);
      long left = deadline - System.nanoTime();
      if (left <= 0 || Thread.currentThread().isInterrupted()) {
        throw new OutOfBudgetException(size, control.budgetBytes(), control.mappedBytes(),
            Duration.ofNanos(System.nanoTime() - start), last);
      }
      LockSupport.parkNanos(Math.min(pause, left));
      pause = Math.min(MAX_PAUSE_NANOS, pause * 2);
      try {
        return zeroed ? delegate.allocateZeroed(size) : delegate.allocate(size);
      } catch (BudgetExceededException full) {
        last = full;
      }
    }
  }

  /** Refused: {@link Spillway#close()} closes the allocator, after the pipeline and the actors. */
  @Override
  public void close() {
    throw new UnsupportedOperationException("the allocator of a Spillway is closed by Spillway.close()");
  }

  @Override
  public void free(long handle) {
    delegate.free(handle);
  }

  @Override
  public boolean isLive(long handle) {
    return delegate.isLive(handle);
  }

  @Override
  public long size(long handle) {
    return delegate.size(handle);
  }

  @Override
  public long capacity(long handle) {
    return delegate.capacity(handle);
  }

  @Override
  public MemorySegment segment(long handle) {
    MemorySegment value = delegate.segment(handle);
    count();
    return value;
  }

  @Override
  public MemorySegment pin(long handle) {
    MemorySegment value = delegate.pin(handle);
    count();
    return value;
  }

  @Override
  public void unpin(long handle) {
    delegate.unpin(handle);
  }

  @Override
  public boolean isResident(long handle) {
    return delegate.isResident(handle);
  }

  @Override
  public SpillOutcome spill(long handle) {
    return delegate.spill(handle);
  }

  @Override
  public byte getByte(long handle, long offset) {
    byte value = delegate.getByte(handle, offset);
    count();
    return value;
  }

  @Override
  public void putByte(long handle, long offset, byte value) {
    delegate.putByte(handle, offset, value);
    count();
  }

  @Override
  public short getShort(long handle, long offset) {
    short value = delegate.getShort(handle, offset);
    count();
    return value;
  }

  @Override
  public void putShort(long handle, long offset, short value) {
    delegate.putShort(handle, offset, value);
    count();
  }

  @Override
  public int getInt(long handle, long offset) {
    int value = delegate.getInt(handle, offset);
    count();
    return value;
  }

  @Override
  public void putInt(long handle, long offset, int value) {
    delegate.putInt(handle, offset, value);
    count();
  }

  @Override
  public long getLong(long handle, long offset) {
    long value = delegate.getLong(handle, offset);
    count();
    return value;
  }

  @Override
  public void putLong(long handle, long offset, long value) {
    delegate.putLong(handle, offset, value);
    count();
  }

  @Override
  public double getDouble(long handle, long offset) {
    double value = delegate.getDouble(handle, offset);
    count();
    return value;
  }

  @Override
  public void putDouble(long handle, long offset, double value) {
    delegate.putDouble(handle, offset, value);
    count();
  }

  @Override
  public void read(long handle, long offset, byte[] dst, int dstOffset, int length) {
    delegate.read(handle, offset, dst, dstOffset, length);
    count();
  }

  @Override
  public void write(long handle, long offset, byte[] src, int srcOffset, int length) {
    delegate.write(handle, offset, src, srcOffset, length);
    count();
  }

  @Override
  public void read(long handle, long offset, MemorySegment dst, long dstOffset, long length) {
    delegate.read(handle, offset, dst, dstOffset, length);
    count();
  }

  @Override
  public void write(long handle, long offset, MemorySegment src, long srcOffset, long length) {
    delegate.write(handle, offset, src, srcOffset, length);
    count();
  }

  @Override
  public void fill(long handle, long offset, long length, byte value) {
    delegate.fill(handle, offset, length, value);
    count();
  }

  @Override
  public long maxBlockSize() {
    return delegate.maxBlockSize();
  }

  @Override
  public AllocatorStats stats() {
    return delegate.stats();
  }

  @Override
  public AllocatorControl control() {
    return spi;
  }

  /**
   * The allocator's control SPI, but for {@link #restore}: a block restored ahead of any access is
   * counted as prefetched, so that the RAM hit ratio does not count it as an access's miss.
   */
  private final class CountingControl implements AllocatorControl {
    @Override
    public SpillReport spill(long[] handles, int from, int count) {
      return control.spill(handles, from, count);
    }

    @Override
    public PreparedSpill prepareSpill(long[] handles, int from, int count) {
      return control.prepareSpill(handles, from, count);
    }

    @Override
    public PreparedSpill prepareSpillInPlace(long[] handles, int from, int count) {
      return control.prepareSpillInPlace(handles, from, count);
    }

    @Override
    public boolean spillEncodingIsCheap() {
      return control.spillEncodingIsCheap();
    }

    @Override
    public void writeSpills(List<PreparedSpill> batch) {
      control.writeSpills(batch);
    }

    @Override
    public boolean restore(long handle) {
      // Counted before the restore and taken back if none happened, so that a tick never sees
      // this restore without its prefetch (which would count it as a concurrent access's miss).
      prefetched.increment();
      boolean restored = false;
      try {
        restored = control.restore(handle);
        return restored;
      } finally {
        if (!restored) {
          prefetched.decrement();
        }
      }
    }

    @Override
    public long copyOut(long handle, MemorySegment dst) {
      return control.copyOut(handle, dst);
    }

    @Override
    public int sweepIdle(int idleSweeps, BlockRefs out) {
      return control.sweepIdle(idleSweeps, out);
    }

    @Override
    public int coldest(BlockRefs out) {
      return control.coldest(out);
    }

    @Override
    public int sparsest(BlockRefs out, long bytes) {
      return control.sparsest(out, bytes);
    }

    @Override
    public void budget(long bytes, long slack) {
      control.budget(bytes, slack);
    }

    @Override
    public long maintainPool(String name) {
      return control.maintainPool(name);
    }

    @Override
    public void onBudgetFull(RoomWaiter waiter) {
      control.onBudgetFull(waiter);
    }

    @Override
    public void onRestore(LongConsumer nanos) {
      control.onRestore(nanos);
    }

    @Override
    public long mappedBytes() {
      return control.mappedBytes();
    }

    @Override
    public long budgetBytes() {
      return control.budgetBytes();
    }

    @Override
    public List<Path> tierDirectories() {
      return control.tierDirectories();
    }

    @Override
    public MaintenanceReport maintain() {
      return control.maintain();
    }

    @Override
    public void trimCurrentThreadCache() {
      control.trimCurrentThreadCache();
    }
  }
}
