package dev.spillway.map;

import dev.spillway.memory.BlockAllocator;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * One map segment's index, entirely off the Java heap: rows of 64 bytes (one per entry) and an
 * open-addressing table of 8-byte slots over them, both in pinned blocks of the map's allocator, so
 * that the index counts against the memory budget and a million entries cost the garbage collector a
 * few arrays, not a million objects.
 *
 * <p>A row holds the key's 64-bit hash, the handle of the block with the entry's bytes, the key and
 * value lengths, write and access times, flags, and keys of up to {@value #INLINE_KEY} bytes inline
 * (longer keys lead the entry's block). A slot holds the upper 32 bits of the hash (the tag, which
 * also gives the slot's home, {@code tag & mask}) and the row number plus one; zero is empty. Probing
 * is linear and removal shifts later slots back (no tombstones), so a lookup never scans more than
 * one cluster. Rows are handed out from a free list, in chunks of {@value #CHUNK_ROWS}.
 *
 * <p>Not thread-safe: the segment's lock guards every call.
 */
final class OffHeapIndex implements AutoCloseable {
  static final int ROW_BYTES = 64;
  static final int INLINE_KEY = 16;
  static final long HASH = 0;
  static final long HANDLE = 8;
  static final long KEY_LEN = 16;
  static final long VALUE_LEN = 20;
  static final long WRITE_TIME = 24;
  static final long ACCESS_TIME = 32;
  static final long FLAGS = 40;
  static final long NEXT_FREE = 44;
  static final long KEY = 48;

  /** Flag: the row holds an entry (not on the free list). */
  static final int USED = 1;
  /**
   * Flag (durable maps): the entry's value is only in the map's log; the handle is 0, or for a key
   * longer than {@link #INLINE_KEY} a block holding just the key.
   */
  static final int IN_LOG = 2;

  private static final int CHUNK_SHIFT = 10;
  private static final int CHUNK_ROWS = 1 << CHUNK_SHIFT;
  private static final int MIN_SLOTS = 64;
  private static final int MAX_ROWS = Integer.MAX_VALUE - 1;
  private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfLong SLOT = ValueLayout.JAVA_LONG_UNALIGNED;
  private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  /** Compares a key stored in an entry's block (keys longer than {@link #INLINE_KEY}). */
  interface BlockKeys {
    boolean keyEquals(int row, MemorySegment key, int keyLength);
  }

  private final BlockAllocator memory;
  private final BlockKeys blockKeys;
  private MemorySegment[] chunks = new MemorySegment[4];
  private long[] chunkHandles = new long[4];
  private int chunkCount;
  private int rowsMade;
  private int freeHead = -1;
  private MemorySegment table;
  private long tableHandle;
  private int mask;
  private int size;

  OffHeapIndex(BlockAllocator memory, BlockKeys blockKeys) {
    this.memory = memory;
    this.blockKeys = blockKeys;
    this.tableHandle = memory.allocateZeroed((long) MIN_SLOTS * Long.BYTES);
    this.table = memory.pin(tableHandle);
    this.mask = MIN_SLOTS - 1;
  }

  /** Entries in the index. */
  int size() {
    return size;
  }

  /** Rows made so far: every row number in use is below it. */
  int rowLimit() {
    return rowsMade;
  }

  /** Bytes of off-heap memory the index holds (rows and table). */
  long offHeapBytes() {
    return (long) chunkCount * CHUNK_ROWS * ROW_BYTES + table.byteSize();
  }

  /**
   * The row of the entry whose key is {@code key[0, keyLength)} with hash {@code hash}, or -1.
   * Rows are matched on the full hash and then on the key bytes.
   */
  int find(long hash, MemorySegment key, int keyLength) {
    int tag = (int) (hash >>> 32);
    for (int i = tag & mask; ; i = (i + 1) & mask) {
      long slot = table.getAtIndex(SLOT, i);
      if (slot == 0) {
        return -1;
      }
      if ((int) (slot >>> 32) == tag) {
        int row = (int) slot - 1;
        if (hash(row) == hash && keyLength(row) == keyLength && keyEquals(row, key, keyLength)) {
          return row;
        }
      }
    }
  }

  /** The row of an entry with the full hash {@code hash} for which {@code match} holds, or -1. */
  int findRow(long hash, java.util.function.IntPredicate match) {
    int tag = (int) (hash >>> 32);
    for (int i = tag & mask; ; i = (i + 1) & mask) {
      long slot = table.getAtIndex(SLOT, i);
      if (slot == 0) {
        return -1;
      }
      if ((int) (slot >>> 32) == tag) {
        int row = (int) slot - 1;
        if (hash(row) == hash && match.test(row)) {
          return row;
        }
      }
    }
  }

  private boolean keyEquals(int row, MemorySegment key, int keyLength) {
    if (keyLength <= INLINE_KEY) {
      MemorySegment rows = chunk(row);
      long at = offset(row) + KEY;
      return MemorySegment.mismatch(rows, at, at + keyLength, key, 0, keyLength) == -1;
    }
    return blockKeys.keyEquals(row, key, keyLength);
  }

  /**
   * A new row for an entry of {@code hash}, linked into the table, with the key stored inline when
   * it is short; the caller fills in the rest. Grows the table or the rows first when needed, so a
   * failure to get memory leaves the index as it was.
   *
   * @throws IllegalStateException when the segment already holds {@code 2^31 - 2} entries
   */
  int insert(long hash, MemorySegment key, int keyLength) {
    if ((long) (size + 1) * 4 > (long) (mask + 1) * 3) {
      growTable();
    }
    int row = takeRow();
    MemorySegment rows = chunk(row);
    long at = offset(row);
    rows.set(LONG, at + HASH, hash);
    rows.set(LONG, at + HANDLE, 0L);
    rows.set(INT, at + KEY_LEN, keyLength);
    rows.set(INT, at + VALUE_LEN, 0);
    rows.set(INT, at + FLAGS, USED);
    if (keyLength <= INLINE_KEY) {
      MemorySegment.copy(key, 0, rows, at + KEY, keyLength);
    }
    link(row, hash);
    size++;
    return row;
  }

  /** Takes {@code row} out of the table and puts it on the free list. */
  void remove(int row) {
    long hash = hash(row);
    int tag = (int) (hash >>> 32);
    int i = tag & mask;
    while ((int) table.getAtIndex(SLOT, i) - 1 != row) {
      if (table.getAtIndex(SLOT, i) == 0) {
        throw new IllegalStateException("index corrupt: row " + row + " is not in its table");
      }
      i = (i + 1) & mask;
    }
    // Backward-shift deletion: move each later slot of the cluster whose home is not between the hole
    // and it into the hole, so that no probe ever stops early at an empty slot.
    int hole = i;
    for (int j = (hole + 1) & mask; ; j = (j + 1) & mask) {
      long slot = table.getAtIndex(SLOT, j);
      if (slot == 0) {
        break;
      }
      int home = (int) (slot >>> 32) & mask;
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        table.setAtIndex(SLOT, hole, slot);
        hole = j;
      }
    }
    table.setAtIndex(SLOT, hole, 0L);
    MemorySegment rows = chunk(row);
    long at = offset(row);
    rows.set(INT, at + FLAGS, 0);
    rows.set(LONG, at + HANDLE, 0L);
    rows.set(INT, at + NEXT_FREE, freeHead);
    freeHead = row;
    size--;
  }

  private void link(int row, long hash) {
    int tag = (int) (hash >>> 32);
    int i = tag & mask;
    while (table.getAtIndex(SLOT, i) != 0) {
      i = (i + 1) & mask;
    }
    table.setAtIndex(SLOT, i, ((long) tag << 32) | ((row + 1) & 0xFFFFFFFFL));
  }

  private void growTable() {
    int slots = (mask + 1) * 2;
    if (slots <= 0) {
      throw new IllegalStateException("index full: a segment holds at most 2^29 entries; use more segments");
    }
    long newHandle = memory.allocateZeroed((long) slots * Long.BYTES);
    MemorySegment old = table;
    long oldHandle = tableHandle;
    int oldSlots = mask + 1;
    table = memory.pin(newHandle);
    tableHandle = newHandle;
    mask = slots - 1;
    for (int i = 0; i < oldSlots; i++) {
      long slot = old.getAtIndex(SLOT, i);
      if (slot != 0) {
        int j = (int) (slot >>> 32) & mask;
        while (table.getAtIndex(SLOT, j) != 0) {
          j = (j + 1) & mask;
        }
        table.setAtIndex(SLOT, j, slot);
      }
    }
    memory.unpin(oldHandle);
    memory.free(oldHandle);
  }

  private int takeRow() {
    if (freeHead >= 0) {
      int row = freeHead;
      freeHead = chunk(row).get(INT, offset(row) + NEXT_FREE);
      return row;
    }
    if (rowsMade == MAX_ROWS) {
      throw new IllegalStateException("index full: a segment holds at most " + MAX_ROWS + " entries");
    }
    if ((rowsMade >>> CHUNK_SHIFT) == chunkCount) {
      if (chunkCount == chunks.length) {
        chunks = Arrays.copyOf(chunks, chunkCount * 2);
        chunkHandles = Arrays.copyOf(chunkHandles, chunkCount * 2);
      }
      long h = memory.allocateZeroed((long) CHUNK_ROWS * ROW_BYTES);
      chunks[chunkCount] = memory.pin(h);
      chunkHandles[chunkCount] = h;
      chunkCount++;
    }
    return rowsMade++;
  }

  private MemorySegment chunk(int row) {
    return chunks[row >>> CHUNK_SHIFT];
  }

  private static long offset(int row) {
    return (long) (row & (CHUNK_ROWS - 1)) * ROW_BYTES;
  }

  boolean isUsed(int row) {
    return row >= 0 && row < rowsMade && (chunk(row).get(INT, offset(row) + FLAGS) & USED) != 0;
  }

  boolean inLog(int row) {
    return (chunk(row).get(INT, offset(row) + FLAGS) & IN_LOG) != 0;
  }

  void setInLog(int row, boolean on) {
    int flags = chunk(row).get(INT, offset(row) + FLAGS);
    chunk(row).set(INT, offset(row) + FLAGS, on ? flags | IN_LOG : flags & ~IN_LOG);
  }

  long hash(int row) {
    return chunk(row).get(LONG, offset(row) + HASH);
  }

  long handle(int row) {
    return chunk(row).get(LONG, offset(row) + HANDLE);
  }

  void setHandle(int row, long handle) {
    chunk(row).set(LONG, offset(row) + HANDLE, handle);
  }

  int keyLength(int row) {
    return chunk(row).get(INT, offset(row) + KEY_LEN);
  }

  int valueLength(int row) {
    return chunk(row).get(INT, offset(row) + VALUE_LEN);
  }

  void setValueLength(int row, int length) {
    chunk(row).set(INT, offset(row) + VALUE_LEN, length);
  }

  long writeTime(int row) {
    return chunk(row).get(LONG, offset(row) + WRITE_TIME);
  }

  void setWriteTime(int row, long nanos) {
    chunk(row).set(LONG, offset(row) + WRITE_TIME, nanos);
  }

  long accessTime(int row) {
    return chunk(row).get(LONG, offset(row) + ACCESS_TIME);
  }

  void setAccessTime(int row, long nanos) {
    chunk(row).set(LONG, offset(row) + ACCESS_TIME, nanos);
  }

  /** Copies an inline key (at most {@link #INLINE_KEY} bytes) into {@code dst} at 0. */
  void copyInlineKey(int row, MemorySegment dst) {
    MemorySegment.copy(chunk(row), offset(row) + KEY, dst, 0, keyLength(row));
  }

  /** Frees the rows and the table. The index must not be used afterwards. */
  @Override
  public void close() {
    for (int c = 0; c < chunkCount; c++) {
      memory.unpin(chunkHandles[c]);
      memory.free(chunkHandles[c]);
    }
    chunkCount = 0;
    memory.unpin(tableHandle);
    memory.free(tableHandle);
  }
}
