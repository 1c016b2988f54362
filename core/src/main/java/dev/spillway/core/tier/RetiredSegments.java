package dev.spillway.core.tier;

import static dev.spillway.core.tier.SegmentDescriptor.RETIRE_RANGE_BYTES;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The set of segment ids a log has retired: segments compaction emptied and deleted on purpose, so
 * their absence is not a loss. Immutable; held as sorted, coalesced half-open ranges
 * {@code [from, toExclusive)}, which is also how a RETIRE record's payload stores it (u64 pairs,
 * little-endian, ascending, never touching or overlapping). Ids are assigned consecutively and
 * compaction usually retires the oldest segments, so the set stays a handful of ranges however many
 * segments a long-lived log has retired. The latest RETIRE record carries the whole set: each one
 * supersedes the ones before it.
 */
final class RetiredSegments {
  private static final RetiredSegments NONE = new RetiredSegments(new long[0]);

  /** from0, to0, from1, to1, ...: ascending, each from < to, each from > the previous to. */
  private final long[] bounds;

  private RetiredSegments(long[] bounds) {
    this.bounds = bounds;
  }

  static RetiredSegments none() {
    return NONE;
  }

  boolean isEmpty() {
    return bounds.length == 0;
  }

  boolean contains(long id) {
    // The ranges are few: a linear walk beats a binary search's bookkeeping here.
    for (int i = 0; i < bounds.length; i += 2) {
      if (id < bounds[i]) {
        return false;
      }
      if (id < bounds[i + 1]) {
        return true;
      }
    }
    return false;
  }

  /** The highest retired id, or -1 when none is. */
  long highest() {
    return bounds.length == 0 ? -1 : bounds[bounds.length - 1] - 1;
  }

  /** This set plus {@code id}, coalesced. */
  RetiredSegments with(long id) {
    if (id < 0) {
      throw new IllegalArgumentException("segment id " + id + " is negative");
    }
    if (contains(id)) {
      return this;
    }
    List<long[]> ranges = new ArrayList<>(ranges());
    ranges.add(new long[] {id, id + 1});
    ranges.sort((a, b) -> Long.compare(a[0], b[0]));
    List<Long> merged = new ArrayList<>();
    for (long[] r : ranges) {
      int n = merged.size();
      if (n > 0 && r[0] <= merged.get(n - 1)) {
        merged.set(n - 1, Math.max(merged.get(n - 1), r[1]));
      } else {
        merged.add(r[0]);
        merged.add(r[1]);
      }
    }
    return new RetiredSegments(merged.stream().mapToLong(Long::longValue).toArray());
  }

  /** The ranges as {@code {from, toExclusive}} pairs, ascending. */
  List<long[]> ranges() {
    List<long[]> out = new ArrayList<>(bounds.length / 2);
    for (int i = 0; i < bounds.length; i += 2) {
      out.add(new long[] {bounds[i], bounds[i + 1]});
    }
    return out;
  }

  /** The RETIRE payload for this set: a heap buffer, position 0, limit its length. */
  ByteBuffer encode() {
    ByteBuffer b = ByteBuffer.allocate(bounds.length * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    for (long v : bounds) {
      b.putLong(v);
    }
    return b.flip();
  }

  /**
   * Parses a RETIRE payload (its remaining bytes). A payload whose CRC passed but whose ranges are not
   * ascending and coalesced was not written by this format: it is reported as corrupt, never trusted.
   */
  static RetiredSegments decode(ByteBuffer payload, Path file, long offset) throws CorruptRecordException {
    ByteBuffer b = payload.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    if (b.remaining() == 0 || b.remaining() % RETIRE_RANGE_BYTES != 0) {
      throw new CorruptRecordException(file, offset, "retire payload of " + b.remaining()
          + " bytes is not a non-empty list of " + RETIRE_RANGE_BYTES + "-byte ranges");
    }
    long[] bounds = new long[b.remaining() / Long.BYTES];
    long previousEnd = -1;
    for (int i = 0; i < bounds.length; i += 2) {
      long from = b.getLong();
      long to = b.getLong();
      if (from < 0 || to <= from || from <= previousEnd) {
        throw new CorruptRecordException(file, offset, "retire range [" + from + ", " + to + ") is empty, negative"
            + " or not after the previous range (ending at " + previousEnd + ")");
      }
      bounds[i] = from;
      bounds[i + 1] = to;
      previousEnd = to;
    }
    return new RetiredSegments(bounds);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RetiredSegments r && Arrays.equals(bounds, r.bounds);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(bounds);
  }

  /** E.g. {@code [0, 3) [5, 6)}; {@code none} when empty. */
  @Override
  public String toString() {
    if (bounds.length == 0) {
      return "none";
    }
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < bounds.length; i += 2) {
      s.append(i == 0 ? "" : " ").append('[').append(bounds[i]).append(", ").append(bounds[i + 1]).append(')');
    }
    return s.toString();
  }
}
