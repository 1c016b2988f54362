package dev.spillway.config;

/**
 * Bulk ingestion, export and prefetch through Akka Streams ({@code spillway.streams}).
 *
 * @param ingestResidentBytes most bytes of one ingestion's blocks kept in RAM; the oldest beyond it
 *     are spilled before more are stored
 * @param restoreParallelism blocks restored (or read for export) at the same time by one stream
 */
public record StreamSettings(long ingestResidentBytes, int restoreParallelism) {

  /** Bounds of {@code restore-parallelism}. */
  public static final int MAX_RESTORE_PARALLELISM = 256;

  public StreamSettings {
    if (ingestResidentBytes < 1) {
      throw new IllegalArgumentException("ingestResidentBytes = " + ingestResidentBytes + ": allowed at least 1 B");
    }
    if (restoreParallelism < 1 || restoreParallelism > MAX_RESTORE_PARALLELISM) {
      throw new IllegalArgumentException("restoreParallelism = " + restoreParallelism + ": allowed 1 to "
          + MAX_RESTORE_PARALLELISM);
    }
  }

  /** A copy with another ingestion budget. */
  public StreamSettings withIngestResidentBytes(long bytes) {
    return new StreamSettings(bytes, restoreParallelism);
  }

  static StreamSettings read(ConfigReader streams) {
    return new StreamSettings(streams.bytes("ingest-resident-bytes", 1, 1L << 40),
        (int) streams.count("restore-parallelism", 1, MAX_RESTORE_PARALLELISM));
  }
}
