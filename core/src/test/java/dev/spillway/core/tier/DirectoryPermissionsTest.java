package dev.spillway.core.tier;

import static dev.spillway.core.tier.TierTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spillway.testing.TmpfsMount;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Directories are created 0700 and segment files 0600; a directory that cannot be created or written
 * fails at open naming it and what to fix. Tests run as root here, so unwritability is made real: a
 * path under a regular file, and a read-only mount.
 * Run: {@code mvn -B -pl core -am test -Dsurefire.failIfNoSpecifiedTests=false -Dtest='DirectoryPermissionsTest'}
 */
class DirectoryPermissionsTest {
  @TempDir Path tmp;

  @Test
  void createdDirectoriesAre0700AndSegmentFiles0600() throws IOException {
    Assumptions.assumeTrue(tmp.getFileSystem().supportedFileAttributeViews().contains("posix"),
        "the temp file system has no POSIX permissions");
    Path dir = tmp.resolve("a/b");
    try (SegmentLog log = SegmentLog.open(settings(dir), CODECS)) {
      log.append(Write.of(1, 0, CODECS.raw(), new byte[10]));
    }
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(tmp.resolve("a")))).isEqualTo("rwx------");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir))).isEqualTo("rwx------");
    Path segment = SegmentLogTest.segmentFiles(dir).getFirst();
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(segment))).isEqualTo("rw-------");
    try (var files = Files.list(dir)) { // every file the log made, its lock file included
      for (Path f : files.toList()) {
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f))).as("%s", f).isEqualTo("rw-------");
      }
    }
  }

  @Test
  void directoryUnderARegularFileFailsNamingItAndTheFix() throws IOException {
    Path file = Files.write(tmp.resolve("plain-file"), new byte[] {1});
    Path dir = file.resolve("segments");
    assertThatThrownBy(() -> SegmentLog.open(settings(dir), CODECS))
        .isInstanceOf(IOException.class)
        .hasMessageContaining(dir.toString())
        .hasMessageContaining("cannot be created")
        .hasMessageContaining("spillway.tier.directories");
  }

  @Test
  void readOnlyMountFailsAtOpenNamingTheDirectory() throws IOException {
    try (TmpfsMount device = TmpfsMount.mountReadOnly(tmp.resolve("ro"), "1m")) {
      Path mount = device.path();
      assertThatThrownBy(() -> SegmentLog.open(settings(mount), CODECS))
          .isInstanceOf(IOException.class)
          .hasMessageContaining(mount.toString())
          .hasMessageContaining("is not writable")
          .hasMessageContaining("read-only");
    }
  }
}
