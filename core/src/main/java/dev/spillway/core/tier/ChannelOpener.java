package dev.spillway.core.tier;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * Opens segment files. The log uses {@link #FILES}; tests substitute an opener whose channels fail on
 * demand (a full device, a failing fsync) where no real small file system can be mounted.
 */
interface ChannelOpener {
  /** Creates {@code file} (which must not exist) with permissions 0600 where POSIX permissions exist. */
  FileChannel create(Path file) throws IOException;

  /** Opens an existing segment file for reading and writing. */
  FileChannel openExisting(Path file) throws IOException;

  ChannelOpener FILES = new ChannelOpener() {
    @Override
    public FileChannel create(Path file) throws IOException {
      return TierDirectories.createFile(file);
    }

    @Override
    public FileChannel openExisting(Path file) throws IOException {
      return TierDirectories.openFile(file);
    }
  };
}
