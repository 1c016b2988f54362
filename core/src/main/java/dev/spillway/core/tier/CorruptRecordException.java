package dev.spillway.core.tier;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A record (or file header) on disk failed validation: a length out of the format's limits or past the
 * end of the file, an unknown kind or codec, a checksum mismatch, or a payload that does not decode.
 * Carries the file, the record's offset in it and what failed. The log never returns the bytes of such
 * a record.
 */
public final class CorruptRecordException extends IOException {
  private static final long serialVersionUID = 1L;

  private final transient Path file;
  private final long offset;
  private final String reason;

  public CorruptRecordException(Path file, long offset, String reason) {
    this(file, offset, reason, null);
  }

  public CorruptRecordException(Path file, long offset, String reason, Throwable cause) {
    super("corrupt record in " + file + " at offset " + offset + ": " + reason, cause);
    this.file = file;
    this.offset = offset;
    this.reason = reason;
  }

  /** The segment file. */
  public Path file() {
    return file;
  }

  /** The offset of the record (or 0 for the file header) in the file. */
  public long offset() {
    return offset;
  }

  /** What failed, without the file and offset. */
  public String reason() {
    return reason;
  }
}
