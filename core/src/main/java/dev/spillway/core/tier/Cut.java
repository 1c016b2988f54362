package dev.spillway.core.tier;

import java.nio.file.Path;

/**
 * One change recovery or repair made to a segment directory: a file truncated at {@code offset}
 * (the {@code bytes} after it removed), or a whole file deleted ({@code offset} 0, {@code bytes} its
 * size).
 *
 * @param file the segment file
 * @param offset where the cut starts: the file's new size, or 0 for a deleted file
 * @param bytes how many bytes were removed
 * @param fileDeleted whether the whole file was deleted
 * @param reason why: the finding it repaired
 */
public record Cut(Path file, long offset, long bytes, boolean fileDeleted, String reason) {

  /** {@code truncated FILE at offset N (M bytes): reason} or {@code deleted FILE (M bytes): reason}. */
  @Override
  public String toString() {
    return fileDeleted
        ? "deleted " + file + " (" + bytes + " bytes): " + reason
        : "truncated " + file + " at offset " + offset + " (" + bytes + " bytes): " + reason;
  }
}
