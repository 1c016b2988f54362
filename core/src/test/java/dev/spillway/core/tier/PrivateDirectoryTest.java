package dev.spillway.core.tier;

import static dev.spillway.testing.FileTrees.names;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link PrivateDirectory}: fresh, 0700, unpredictable, locked, deleted on close; {@link
 * PrivateDirectory#reclaim} deletes exactly the directories of dead processes (lock free, ours, only
 * Spillway's files) and nothing else: not a live process's (in another JVM or this one, whose lock
 * must survive the look), not another user's, not one holding foreign files, not a link.
 * Run: {@code mvn -B -pl core -am test -Dsurefire.failIfNoSpecifiedTests=false -Dtest='PrivateDirectoryTest'}
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class PrivateDirectoryTest {
  static final String KEY = "spillway.tier.default-parent";
  @TempDir Path tmp;

  @SuppressWarnings("try") // closes inside try-with-resources on purpose: a second close does nothing
  @Test
  void eachCreateMakesAFreshPrivateLockedDirectoryThatCloseDeletes() throws Exception {
    try (PrivateDirectory a = PrivateDirectory.create(tmp, KEY); PrivateDirectory b = PrivateDirectory.create(tmp, KEY)) {
      assertThat(a.path()).isNotEqualTo(b.path());
      for (PrivateDirectory d : List.of(a, b)) {
        assertThat(d.path().getParent()).isEqualTo(tmp);
        assertThat(d.path().getFileName().toString()).matches("spillway-[0-9a-f]{16}");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(d.path()))).isEqualTo("rwx------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(d.path().resolve(".lock"))))
            .isEqualTo("rw-------");
        assertThat(LockChildMain.probe(d.path())).isEqualTo("held");
      }
      a.close();
      assertThat(a.path()).doesNotExist();
      assertThat(b.path()).isDirectory();
    }
    assertThat(names(tmp)).isEmpty();
  }

  @Test
  void reclaimDeletesDeadProcessesDirectoriesOnly() throws Exception {
    Path dead = deadDirectory(tmp.resolve("spillway-00000000000000aa"), ".lock");
    Path legacy = deadDirectory(tmp.resolve("spillway-4242"), "spill/.lock");
    Path abandoned = Files.createDirectory(tmp.resolve(".spillway-new-00000000000000bb"));
    Files.setLastModifiedTime(abandoned, FileTime.from(Instant.now().minusSeconds(120)));
    Path justMade = Files.createDirectory(tmp.resolve(".spillway-new-00000000000000cc"));
    Path foreign = deadDirectory(tmp.resolve("spillway-00000000000000dd"), ".lock");
    Files.writeString(foreign.resolve("notes.txt"), "not Spillway's");
    Path unrelated = Files.createDirectory(tmp.resolve("spillway-data"));
    Path target = Files.createDirectory(tmp.resolve("elsewhere"));
    Path link = Files.createSymbolicLink(tmp.resolve("spillway-00000000000000ee"), target);
    Path live = deadDirectory(tmp.resolve("spillway-00000000000000ff"), ".lock");
    Process holder = LockChildMain.hold(live);
    try (PrivateDirectory mine = PrivateDirectory.create(tmp.resolve("sub"), KEY);
        PrivateDirectory open = PrivateDirectory.create(tmp, KEY)) { // create() reclaims around itself
      Path ours = open.path();
      Set<String> left = names(tmp);
      assertThat(left).doesNotContain("spillway-00000000000000aa", "spillway-4242", ".spillway-new-00000000000000bb")
          .contains(".spillway-new-00000000000000cc", "spillway-00000000000000dd", "spillway-data",
              "spillway-00000000000000ee", "elsewhere", "spillway-00000000000000ff", ours.getFileName().toString());
      assertThat(LockChildMain.probe(ours)).as("looking at a live directory of this JVM kept its lock").isEqualTo("held");
      assertThat(LockChildMain.probe(live)).isEqualTo("held");
      assertThat(PrivateDirectory.reclaim(tmp)).as("nothing more to reclaim").isEmpty();
      assertThat(dead).doesNotExist();
      assertThat(legacy).doesNotExist();
      assertThat(justMade).isDirectory();
      assertThat(target).isDirectory();
      assertThat(link).isSymbolicLink();
      assertThat(unrelated).isDirectory();
      assertThat(mine.path()).isDirectory();
    } finally {
      holder.destroyForcibly().waitFor();
    }
    assertThat(PrivateDirectory.reclaim(tmp)).as("once its holder is killed, the live one is dead")
        .containsExactly(new PrivateDirectory.Reclaimed(live, 3, 2 * 4096 + (holder.pid() + "\n").length()));
    assertThat(names(tmp)).containsExactlyInAnyOrder(".spillway-new-00000000000000cc", "spillway-00000000000000dd",
        "spillway-data", "spillway-00000000000000ee", "elsewhere", "sub");
  }

  @Test
  void anotherUsersDirectoryIsNeverReclaimedAndAPlantedNameIsNeverUsed() throws Exception {
    if (!OwnedDirectoryTest.root()) {
      return; // chown needs root; the reclaim of another user's directory is then covered by the owner check alone
    }
    Path planted = deadDirectory(tmp.resolve("spillway-" + ProcessHandle.current().pid()), "spill/.lock");
    Files.setPosixFilePermissions(planted, PosixFilePermissions.fromString("rwxrwxrwx"));
    var nobody = tmp.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
    try (var files = Files.walk(planted)) {
      for (Path p : files.toList()) {
        Files.setOwner(p, nobody);
      }
    }
    try (PrivateDirectory d = PrivateDirectory.create(tmp, KEY)) {
      assertThat(d.path()).isNotEqualTo(planted);
      assertThat(planted).as("not ours: neither used nor deleted").isDirectory();
      assertThat(planted.resolve("spill/seg-0000000000000000.spw")).exists();
    }
  }

  @Test
  void aParentOthersMayWriteNeedsTheStickyBit() throws Exception {
    Path open = Files.createDirectory(tmp.resolve("open"));
    Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
    assertThatThrownBy(() -> PrivateDirectory.create(open, KEY)).isInstanceOf(IOException.class)
        .hasMessageContaining(open + " is writable by other users (rwxrwxrwx) without the sticky bit")
        .hasMessageContaining("chmod +t " + open).hasMessageContaining(KEY);
    assertThat(names(open)).isEmpty();
    Files.setAttribute(open, "unix:mode", 01777);
    try (PrivateDirectory d = PrivateDirectory.create(open, KEY)) {
      assertThat(d.path()).isDirectory();
    }
  }

  @Test
  void aMissingParentIsCreatedPrivate() throws Exception {
    Path parent = tmp.resolve("a/b");
    try (PrivateDirectory d = PrivateDirectory.create(parent, KEY)) {
      assertThat(d.path().getParent()).isEqualTo(parent);
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(parent))).isEqualTo("rwx------");
    }
  }

  /** A directory as a SIGKILLed process leaves it: its lock file (unlocked) and two 4 KiB segments. */
  static Path deadDirectory(Path dir, String lockFile) throws IOException {
    Files.createDirectories(dir.resolve("spill"));
    Files.write(dir.resolve(lockFile), "999999\n".getBytes(StandardCharsets.UTF_8));
    Files.write(dir.resolve("spill/seg-0000000000000000.spw"), new byte[4096]);
    Files.write(dir.resolve("spill/seg-0000000000000001.spw"), new byte[4096]);
    return dir;
  }
}
