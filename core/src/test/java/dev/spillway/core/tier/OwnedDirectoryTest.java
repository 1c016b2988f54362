package dev.spillway.core.tier;

import static dev.spillway.testing.FileTrees.entries;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spillway.testing.TmpfsMount;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link OwnedDirectory}: created 0700; an existing directory of another user, or one others may
 * write, is refused with the fix; the write probe is 0600 and never left behind, also when the device
 * is full. Tests run as root here (another user's directory is made with chown, a full device with a
 * tmpfs mount); as any other user a root-owned directory plays the other user's.
 * Run: {@code mvn -B -pl core -am test -Dsurefire.failIfNoSpecifiedTests=false -Dtest='OwnedDirectoryTest'}
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class OwnedDirectoryTest {
  static final String KEY = "spillway.tier.directories";
  @TempDir Path tmp;

  static boolean root() throws IOException {
    Path probe = Files.createTempFile("uid", "");
    try {
      return (Integer) Files.getAttribute(probe, "unix:uid") == 0;
    } finally {
      Files.delete(probe);
    }
  }

  /** A directory owned by another user and open to everybody (0777): chown'd to nobody as root, /var/tmp's neighbour otherwise. */
  static Path othersDirectory(Path tmp) throws IOException {
    Path dir = Files.createDirectory(tmp.resolve("planted"));
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
    if (root()) {
      UserPrincipal nobody = tmp.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
      Files.setOwner(dir, nobody);
      return dir;
    }
    return Path.of("/var/tmp").toRealPath(); // root's, 1777: another user's and world-writable
  }

  @Test
  void aMissingDirectoryIsCreated0700WithItsParents() throws IOException {
    Path dir = tmp.resolve("a/b/c");
    OwnedDirectory.prepare(dir, KEY);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir))).isEqualTo("rwx------");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(tmp.resolve("a")))).isEqualTo("rwx------");
    assertThat(entries(dir)).as("no probe left").isEmpty();
  }

  @Test
  void anotherUsersWorldWritableDirectoryIsRefusedWithTheFix() throws IOException {
    Path dir = othersDirectory(tmp);
    assertThatThrownBy(() -> OwnedDirectory.prepare(dir, KEY)).isInstanceOf(IOException.class)
        .hasMessageContaining(dir.toString()).hasMessageContaining("not to this process's user")
        .hasMessageContaining(KEY);
    assertThat(entries(dir)).filteredOn(p -> p.getFileName().toString().startsWith(".spillway-probe")).isEmpty();
  }

  @Test
  void aGroupOrWorldWritableDirectoryOfOursIsRefused() throws IOException {
    for (String mode : new String[] {"rwxrwx---", "rwx---rwx", "rwxrwxrwx"}) {
      Path dir = Files.createDirectory(tmp.resolve(mode));
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString(mode));
      assertThatThrownBy(() -> OwnedDirectory.prepare(dir, KEY)).as(mode).isInstanceOf(IOException.class)
          .hasMessageContaining("writable by other users (" + mode + ")").hasMessageContaining("chmod go-w " + dir);
    }
    Path shared = Files.createDirectory(tmp.resolve("shared"));
    Files.setAttribute(shared, "unix:mode", 01777);
    assertThatThrownBy(() -> OwnedDirectory.prepare(shared, KEY)).isInstanceOf(IOException.class)
        .hasMessageContaining("a shared directory (sticky, like /tmp)")
        .hasMessageContaining(shared.resolve("spillway-tier").toString()).hasMessageNotContaining("chmod");
    Path fine = Files.createDirectory(tmp.resolve("fine"));
    Files.setPosixFilePermissions(fine, PosixFilePermissions.fromString("rwxr-xr-x"));
    OwnedDirectory.prepare(fine, KEY); // readable by others is fine: the files in it are 0600
  }

  @Test
  void theProbeIsNeverLeftBehindAlsoWhenTheDeviceIsFull() throws Exception {
    try (TmpfsMount device = TmpfsMount.mount(tmp.resolve("full"), "64k", "0700")) { // tests run as root
      Path mount = device.path();
      try (var out = Files.newOutputStream(mount.resolve("filler"))) {
        byte[] block = new byte[4096];
        for (int i = 0; i < 64; i++) {
          out.write(block);
        }
      } catch (IOException full) {
        // the device is full now
      }
      assertThatThrownBy(() -> OwnedDirectory.prepare(mount, KEY)).isInstanceOf(IOException.class)
          .hasMessageContaining("is not writable").hasMessageContaining("No space left on device")
          .hasMessageContaining("df -h " + mount);
      assertThat(entries(mount)).containsExactly(mount.resolve("filler"));
    }
  }

  @Test
  void probeFilesAre0600AndGone() throws IOException {
    Path dir = Files.createDirectory(tmp.resolve("d"));
    String[] mode = new String[1];
    int uid = OwnedDirectory.probe(dir, KEY, p -> {
      try {
        mode[0] = PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    assertThat(mode[0]).isEqualTo("rw-------");
    assertThat(uid).isEqualTo((Integer) Files.getAttribute(dir, "unix:uid"));
    assertThat(entries(dir)).isEmpty();
  }
}
