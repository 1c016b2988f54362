package dev.spillway.core.tier;

import java.nio.file.Path;
import java.util.List;

/**
 * What recovery found when the log was opened, and what it cut. Corrupt records were skipped (never
 * indexed, never returned) and stay in their files; a torn tail (a partial last record left by a
 * crash) was truncated and a newest file shorter than its header deleted, so appends continue
 * cleanly; retired segments a crashed compaction left behind were deleted. {@link #findings()} holds
 * everything, in the terms {@code inspect} uses (missing segments and notes included).
 *
 * @param segments segment files the log holds after recovery
 * @param records valid records scanned (data and tombstones, superseded ones included)
 * @param liveKeys keys with a readable record after recovery
 * @param nextSequence the sequence number the next append gets
 * @param corrupt every damaged stretch left in place (corrupt record or region, bad file header,
 *     renamed or truncated sealed segment), in file order
 * @param truncated every torn tail cut off, and every newest file shorter than its header deleted
 * @param findings every finding of the scan, notes included
 * @param cuts every change recovery made to the files
 */
public record RecoveryReport(int segments, long records, long liveKeys, long nextSequence, List<Corruption> corrupt,
    List<TornTail> truncated, List<Finding> findings, List<Cut> cuts) {

  public RecoveryReport {
    corrupt = List.copyOf(corrupt);
    truncated = List.copyOf(truncated);
    findings = List.copyOf(findings);
    cuts = List.copyOf(cuts);
  }

  /** A report without findings and cuts beyond {@code corrupt} and {@code truncated}. */
  public RecoveryReport(int segments, long records, long liveKeys, long nextSequence, List<Corruption> corrupt,
      List<TornTail> truncated) {
    this(segments, records, liveKeys, nextSequence, corrupt, truncated, List.of(), List.of());
  }

  /**
   * Whether nothing was corrupt, truncated or missing. Notes, and retired segments deleted after a
   * crashed compaction (their live records had been copied), leave a log clean.
   */
  public boolean clean() {
    return corrupt.isEmpty() && truncated.isEmpty() && missing().isEmpty();
  }

  /** The findings of missing segments: ids with neither a file nor a retirement. */
  public List<Finding> missing() {
    return findings.stream().filter(f -> f.kind() == Finding.Kind.MISSING_SEGMENT).toList();
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
