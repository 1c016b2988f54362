package dev.spillway;

import java.nio.file.Path;
import java.util.Objects;

/**
 * The last check of one tier directory (the control plane checks each every few seconds).
 *
 * @param directory the tier directory (segments live in its {@code spill} subdirectory)
 * @param usableBytes bytes its file system still offers
 * @param totalBytes the file system's size
 * @param segments segment files
 * @param segmentBytes their bytes
 * @param problem what is wrong ("not writable", an I/O error), or empty
 */
public record TierStatus(Path directory, long usableBytes, long totalBytes, int segments, long segmentBytes,
    String problem) {

  public TierStatus {
    Objects.requireNonNull(directory, "directory");
    Objects.requireNonNull(problem, "problem");
  }

  /** Whether the directory is usable. */
  public boolean healthy() {
    return problem.isEmpty();
  }
}
