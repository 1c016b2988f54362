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
  /**
   * A read-only descriptor for {@link NativeFiles#readFully}, or -1 (no native reads: read through
   * {@link #channel}). Closed with the channel, under the log's lifecycle write lock, so no read by
   * a holder of the read lock ever sees it closed or reused.
   */
  final int fd;
  private volatile long size;

  SegmentFile(long id, Path path, FileChannel channel, long size) {
    this.id = id;
    this.path = path;
    this.directory = path.getParent();
    this.channel = channel;
    this.size = size;
    this.fd = NativeFiles.openForRead(path);
  }

  long size() {
    return size;
  }

  void size(long value) {
    size = value;
  }

  void close() throws IOException {
    try {
      channel.close();
    } finally {
      NativeFiles.close(fd);
    }
  }

  @Override
  public String toString() {
    return path.toString();
  }
}
