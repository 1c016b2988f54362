package dev.spillway.streams.bulk;

import java.util.Arrays;

/**
 * What an ingestion stored: every block's handle in input order, and totals. The blocks belong to the
 * caller from here on (free them when done).
 *
 * @param blocks blocks stored
 * @param bytes bytes stored
 * @param handles the blocks' handles, in the order their elements arrived
 */
// An array component on purpose: a million handles as a long[] cost 8 MB, as a List<Long> several
// times that and as many objects; the accessor, equals and hashCode are defined over its contents.
@SuppressWarnings("ArrayRecordComponent")
public record IngestSummary(long blocks, long bytes, long[] handles) {

  public IngestSummary {
    handles = handles.clone();
  }

  @Override
  public long[] handles() {
    return handles.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof IngestSummary s && s.blocks == blocks && s.bytes == bytes && Arrays.equals(s.handles, handles);
  }

  @Override
  public int hashCode() {
    return Long.hashCode(blocks) * 31 + Arrays.hashCode(handles);
  }

  @Override
  public String toString() {
    return "IngestSummary[blocks=" + blocks + ", bytes=" + bytes + "]";
  }
}
