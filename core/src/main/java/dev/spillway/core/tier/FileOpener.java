package dev.spillway.core.tier;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;

/**
 * How {@link LogInspector} opens segment files: the one place inspection touches a file's contents,
 * so that a test can see exactly which options it asked for (as root, permission bits would not show
 * a write). {@link #FILES} opens them for real.
 */
interface FileOpener {
  FileChannel open(Path file, Set<StandardOpenOption> options) throws IOException;

  FileOpener FILES = FileChannel::open;
}
