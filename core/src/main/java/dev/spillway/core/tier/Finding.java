package dev.spillway.core.tier;

import java.nio.file.Path;
import java.util.Objects;

/**
 * One thing a scan of a segment log found: what kind of damage (or remark) it is, the file it is in,
 * where it starts and how many bytes it covers, why, and how serious it is. Offsets and byte counts
 * are exact, so a finding can be located with any hex viewer; a finding about a whole file has offset
 * 0, one about a file that does not exist (a missing segment) has offset 0 and 0 bytes.
 *
 * @param kind what was found
 * @param severity whether it is a remark, something repair (and recovery) cuts, or damage that stays
 * @param file the file it concerns: the segment file, or the name a missing segment would have
 * @param offset where the affected bytes start in {@code file}
 * @param bytes how many bytes are affected
 * @param reason what exactly failed or was seen, in words
 */
public record Finding(Kind kind, Severity severity, Path file, long offset, long bytes, String reason) {

  public Finding {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(severity, "severity");
    Objects.requireNonNull(file, "file");
    Objects.requireNonNull(reason, "reason");
  }

  /** How serious a finding is. */
  public enum Severity {
    /** Nothing is wrong: a remark about the directory or about what could not be checked. */
    NOTE,
    /** Left by a crash; recovery and repair cut it without losing an acknowledged record. */
    REPAIRABLE,
    /** Damage that stays: recovery skips it, and the records it held are lost. */
    DAMAGE
  }

  /** What a finding is. */
  public enum Kind {
    /** A segment file shorter than its 32-byte file header (newest segment: left by a crash, deleted). */
    FILE_TOO_SHORT,
    /** A file header with a bad magic, version, checksum or field; the records after it are still scanned. */
    BAD_FILE_HEADER,
    /** A file header naming another segment id than the file name does: a renamed segment file. */
    SEGMENT_ID_MISMATCH,
    /** A second file with a segment id another directory already holds. */
    DUPLICATE_SEGMENT,
    /** A whole record (its header consistent) whose checksum fails; the scan goes on after it. */
    CORRUPT_RECORD,
    /** Bytes that hold no parseable record, up to the next record that validates or the end of the file. */
    CORRUPT_REGION,
    /** An incomplete last record (or zeros) at the end of the newest segment, left by a crash: truncated. */
    TORN_TAIL,
    /** An incomplete record (or zeros) at the end of a segment that is not the newest. */
    TRUNCATED_SEALED_SEGMENT,
    /** Segment ids between 0 and the highest present that have no file and were not retired. */
    MISSING_SEGMENT,
    /** A segment compaction retired whose file is still there (a crash before the delete): deleted. */
    RETIRED_SEGMENT_PRESENT,
    /** A file in a segment directory that is neither a segment file nor the directory's lock file. */
    UNKNOWN_FILE,
    /** The check for missing segments could not run, or not for every id (the note says why). */
    GAP_CHECK_SKIPPED
  }

  /** Whether this is only a remark. */
  public boolean isNote() {
    return severity == Severity.NOTE;
  }

  /** {@code KIND file offset N, M bytes: reason}. */
  @Override
  public String toString() {
    return kind + " " + file + " offset " + offset + ", " + bytes + " bytes: " + reason;
  }
}
