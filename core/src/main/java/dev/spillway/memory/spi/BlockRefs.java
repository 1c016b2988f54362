package dev.spillway.memory.spi;

import java.util.Arrays;

/**
 * A reusable buffer of block <em>references</em>, which the control plane's victim queries
 * ({@link AllocatorControl#sweepIdle}, {@link AllocatorControl#coldest}, {@link
 * AllocatorControl#sparsest}) fill and the spill calls take. A reference names a block by the RAM
 * slot it sits in now, which for a block restored into another slot is not its handle: use it to
 * spill, never to read or free. Beside each reference the buffer keeps the bytes the block holds in
 * RAM (its size class), which is what spilling it frees. Not thread-safe; allocation-free once made.
 */
public final class BlockRefs {
  private final long[] refs;
  private final long[] bytes;
  private int size;

  /** An empty buffer for at most {@code capacity} references. */
  public BlockRefs(int capacity) {
    if (capacity < 0) {
      throw new IllegalArgumentException("capacity = " + capacity + ": allowed 0 and up");
    }
    refs = new long[capacity];
    bytes = new long[capacity];
  }

  /** How many references the buffer holds at most. */
  public int capacity() {
    return refs.length;
  }

  /** How many it holds. */
  public int size() {
    return size;
  }

  /** Whether it holds {@link #capacity()} references. */
  public boolean full() {
    return size == refs.length;
  }

  /** Reference {@code i}, {@code 0 <= i < size()}. */
  public long ref(int i) {
    java.util.Objects.checkIndex(i, size);
    return refs[i];
  }

  /** The RAM bytes of reference {@code i}'s block. */
  public long bytes(int i) {
    java.util.Objects.checkIndex(i, size);
    return bytes[i];
  }

  /** Empties the buffer. */
  public void clear() {
    size = 0;
  }

  /** Keeps the first {@code n} references only ({@code n <= size()}). */
  public void truncate(int n) {
    java.util.Objects.checkIndex(n, size + 1);
    size = n;
  }

  /** Adds a reference (for implementations of the queries); false, adding nothing, when full. */
  public boolean add(long ref, long ramBytes) {
    if (size == refs.length) {
      return false;
    }
    refs[size] = ref;
    bytes[size] = ramBytes;
    size++;
    return true;
  }

  /** A copy of the references, for the spill calls that take an array. */
  public long[] toArray() {
    return Arrays.copyOf(refs, size);
  }
}
