package dev.spillway.core.tier;

import java.nio.file.Path;
import java.util.List;

/**
 * What {@link LogInspector#inspect} found in a segment log, which it did not change: the log's size and
 * contents, and every {@link Finding}, in segment-id and offset order, notes last. The log is
 * {@link #healthy()} when every finding is a note; {@link #repairable()} findings are what recovery (or
 * {@link LogInspector#repair}) cuts; {@link #damaged()} findings stay after any repair.
 *
 * @param directories the directories inspected, as one log
 * @param segments every segment file scanned, by id (retired files left behind are findings, not segments)
 * @param bytes bytes of those files
 * @param records valid data and tombstone records, superseded ones included
 * @param liveKeys keys whose latest valid record holds data
 * @param tombstones keys whose latest valid record is a tombstone
 * @param liveBytes bytes (header and payload) of the latest valid record of every key, tombstones included
 * @param findings everything wrong, and the notes
 */
public record InspectionReport(List<Path> directories, List<SegmentSummary> segments, long bytes, long records,
    long liveKeys, long tombstones, long liveBytes, List<Finding> findings) {

  public InspectionReport {
    directories = List.copyOf(directories);
    segments = List.copyOf(segments);
    findings = List.copyOf(findings);
  }

  /**
   * One segment file as the scan saw it.
   *
   * @param id the id in its file name
   * @param bytes its size
   * @param records valid data and tombstone records in it
   * @param version the format version of its header, 0 when the header is missing or invalid
   * @param stripes directories its header says the log is striped over, 0 when unknown
   */
  public record SegmentSummary(long id, Path file, long bytes, long records, int version, int stripes) {}

  /** Live bytes / bytes on disk; 0 for a log without bytes. */
  public double liveFraction() {
    return bytes == 0 ? 0 : (double) liveBytes / bytes;
  }

  /** Findings that are not notes: the log's problems. */
  public List<Finding> problems() {
    return findings.stream().filter(f -> !f.isNote()).toList();
  }

  /** Whether nothing is wrong (notes allowed). */
  public boolean healthy() {
    return problems().isEmpty();
  }

  /** Whether anything is left that recovery or repair would cut. */
  public boolean repairable() {
    return findings.stream().anyMatch(f -> f.severity() == Finding.Severity.REPAIRABLE);
  }

  /** Whether there is damage no repair undoes: corrupt or missing data. */
  public boolean damaged() {
    return findings.stream().anyMatch(f -> f.severity() == Finding.Severity.DAMAGE);
  }
}
