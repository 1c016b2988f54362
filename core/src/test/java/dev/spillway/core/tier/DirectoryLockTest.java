package dev.spillway.core.tier;

import static dev.spillway.core.tier.TierTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link DirectoryLock}: an OS lock other processes see, refused twice within one JVM without ever
 * dropping the lock already held (POSIX drops a process's lock when any descriptor of the file is
 * closed), released when its process dies.
 * Run: {@code mvn -B -pl core -am test -Dsurefire.failIfNoSpecifiedTests=false -Dtest='DirectoryLockTest'}
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class DirectoryLockTest {
  @TempDir Path tmp;

  @Test
  void aSecondOpenInTheSameJvmIsRefusedAndTheFirstLockStaysHeldForOtherProcesses() throws Exception {
    Path dir = Files.createDirectory(tmp.resolve("log"));
    try (SegmentLog _ = SegmentLog.open(settings(dir), CODECS)) {
      for (int i = 0; i < 3; i++) {
        assertThatThrownBy(() -> SegmentLog.open(settings(dir), CODECS)).isInstanceOf(IOException.class)
            .hasMessageContaining("already in use").hasMessageContaining("this process");
        assertThatThrownBy(() -> DirectoryLock.acquire(dir)).isInstanceOf(IOException.class)
            .hasMessageContaining("already in use");
      }
      assertThat(DirectoryLock.heldByThisProcess(dir)).isTrue();
      assertThat(LockChildMain.probe(dir)).as("another process still sees the lock held").isEqualTo("held");
    }
    assertThat(DirectoryLock.heldByThisProcess(dir)).isFalse();
    assertThat(LockChildMain.probe(dir)).isEqualTo("free");
  }

  @Test
  void aLockHeldByAnotherProcessIsRefusedNamingItsPidAndFreedWhenItIsKilled() throws Exception {
    Path dir = Files.createDirectory(tmp.resolve("log"));
    Process holder = LockChildMain.hold(dir);
    try {
      assertThatThrownBy(() -> SegmentLog.open(settings(dir), CODECS)).isInstanceOf(IOException.class)
          .hasMessageContaining("already in use").hasMessageContaining("process " + holder.pid());
      assertThat(DirectoryLock.tryAcquire(dir, false)).isEmpty();
    } finally {
      holder.destroyForcibly().waitFor();
    }
    try (DirectoryLock lock = DirectoryLock.acquire(dir)) {
      assertThat(lock.directory()).isEqualTo(dir);
      assertThat(Files.readString(dir.resolve(".lock")).trim()).isEqualTo(Long.toString(ProcessHandle.current().pid()));
    }
  }

  @Test
  void withoutCreateAMissingLockFileIsNotCreated() {
    assertThatThrownBy(() -> DirectoryLock.tryAcquire(tmp, false)).isInstanceOf(java.nio.file.NoSuchFileException.class);
    assertThat(tmp.resolve(".lock")).doesNotExist();
  }
}
