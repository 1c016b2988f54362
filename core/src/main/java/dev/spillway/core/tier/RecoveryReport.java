package dev.spillway.core.tier;

import java.nio.file.Path;
import java.util.List;

/**
 * What recovery found when the log was opened. Corrupt records were skipped (never indexed, never
 * returned) and recovery resynchronised on the next record that validates in full; a torn tail (a
 * partial last record left by a crash) was truncated so appends continue cleanly.
 *
 * @param segments segment files scanned
 * @param records valid records scanned (data and tombstones, superseded ones included)
 * @param liveKeys keys with a readable record after recovery
 * @param nextSequence the sequence number the next append gets
 * @param corrupt every corrupt record or file header found, in file order
 * @param truncated every torn tail cut off
 */
public record RecoveryReport(
    int segments, long records, long liveKeys, long nextSequence, List<Corruption> corrupt, List<TornTail> truncated) {

  public RecoveryReport {
    corrupt = List.copyOf(corrupt);
    truncated = List.copyOf(truncated);
  }

  /** Whether nothing was corrupt or truncated. */
  public boolean clean() {
    return corrupt.isEmpty() && truncated.isEmpty();
  }

  /**
   * A stretch of a segment that failed validation.
   *
   * @param offset where the invalid bytes start (0 for a bad file header)
   * @param skippedBytes bytes skipped until the next valid record or the end of the file
   * @param reason what failed
   */
  public record Corruption(Path file, long offset, long skippedBytes, String reason) {}

  /**
   * A torn tail cut off the last segment.
   *
   * @param offset the new end of the file
   * @param bytes bytes removed
   * @param reason why the tail did not validate
   */
  public record TornTail(Path file, long offset, long bytes, String reason) {}
}
