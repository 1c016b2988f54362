package dev.spillway.core.tier;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * One open segment file. {@link #size} is the end of the last complete record: readers never look
 * past it, and the writer (holding the log's write lock) only advances it after a write completed.
 */
final class SegmentFile {
  final long id;
  final Path path;
  final Path directory;
  final FileChannel channel;
  private volatile long size;

  SegmentFile(long id, Path path, FileChannel channel, long size) {
    this.id = id;
    this.path = path;
    this.directory = path.getParent();
    this.channel = channel;
    this.size = size;
  }

  long size() {
    return size;
  }

  void size(long value) {
    size = value;
  }

  void close() throws IOException {
    channel.close();
  }

  @Override
  public String toString() {
    return path.toString();
  }
}
