package dev.spillway.map;

import dev.spillway.memory.BlockAllocator;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Per row of a durable map's segment: where the entry's latest record lies in the map's log and how
 * long it is. Off the Java heap, in pinned blocks of the map's allocator (16 bytes a row, in chunks of
 * 1024 rows), like the index it extends. Not thread-safe: the segment's lock guards every call.
 */
final class LogColumn implements AutoCloseable {
  private static final int STRIDE = 16;
  private static final int CHUNK_SHIFT = 10;
  private static final int CHUNK_ROWS = 1 << CHUNK_SHIFT;
  private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  private final BlockAllocator memory;
  private MemorySegment[] chunks = new MemorySegment[4];
  private long[] handles = new long[4];
  private int chunkCount;

  LogColumn(BlockAllocator memory) {
    this.memory = memory;
  }

  /** Makes room for rows {@code [0, rows)}. */
  void ensureRows(int rows) {
    while ((long) chunkCount * CHUNK_ROWS < rows) {
      if (chunkCount == chunks.length) {
        chunks = Arrays.copyOf(chunks, chunkCount * 2);
        handles = Arrays.copyOf(handles, chunkCount * 2);
      }
      long h = memory.allocateZeroed((long) CHUNK_ROWS * STRIDE);
      chunks[chunkCount] = memory.pin(h);
      handles[chunkCount] = h;
      chunkCount++;
    }
  }

  long location(int row) {
    return chunks[row >>> CHUNK_SHIFT].get(LONG, offset(row));
  }

  int recordLength(int row) {
    return chunks[row >>> CHUNK_SHIFT].get(INT, offset(row) + 8);
  }

  void set(int row, long location, int recordLength) {
    MemorySegment c = chunks[row >>> CHUNK_SHIFT];
    c.set(LONG, offset(row), location);
    c.set(INT, offset(row) + 8, recordLength);
  }

  private static long offset(int row) {
    return (long) (row & (CHUNK_ROWS - 1)) * STRIDE;
  }

  /** Bytes of off-heap memory the column holds. */
  long offHeapBytes() {
    return (long) chunkCount * CHUNK_ROWS * STRIDE;
  }

  @Override
  public void close() {
    for (int c = 0; c < chunkCount; c++) {
      memory.unpin(handles[c]);
      memory.free(handles[c]);
    }
    chunkCount = 0;
  }
}
