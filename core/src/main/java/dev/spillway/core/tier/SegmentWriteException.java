package dev.spillway.core.tier;

import java.io.IOException;
import java.util.List;

/**
 * An append failed (for example the device is full). The records of the failed write were rolled back
 * (the segment truncated to where they started) and are not acknowledged; records listed in
 * {@link #acknowledged()} were written and made durable by earlier writes of the same batch before the
 * failure, and are in the index. Everything acknowledged before stays readable, and appending works
 * again once the cause is fixed.
 */
public final class SegmentWriteException extends IOException {
  private static final long serialVersionUID = 1L;

  private final transient List<RecordLocation> acknowledged;

  SegmentWriteException(String message, Throwable cause, List<RecordLocation> acknowledged) {
    super(message, cause);
    this.acknowledged = List.copyOf(acknowledged);
  }

  /** Locations of the batch's records that were acknowledged before the failure, in batch order. */
  public List<RecordLocation> acknowledged() {
    return acknowledged;
  }
}
