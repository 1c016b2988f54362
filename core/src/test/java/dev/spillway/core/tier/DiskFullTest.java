package dev.spillway.core.tier;

import static dev.spillway.core.tier.TierTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spillway.config.TierSettings.Durability;
import dev.spillway.testing.TmpfsMount;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real full device: a 2 MiB tmpfs (tests run as root; the mount fails the test where it cannot be
 * made). The failing append throws a clear {@link SegmentWriteException}, nothing acknowledged is lost,
 * the log stays readable, and appends work again once space returns.
 * Run: {@code mvn -B -pl core -am test -Dsurefire.failIfNoSpecifiedTests=false -Dtest='DiskFullTest'}
 */
class DiskFullTest {
  @TempDir Path tmp;
  private TmpfsMount device;
  private Path mount;

  @BeforeEach
  void mountSmallFileSystem() {
    device = TmpfsMount.mount(tmp.resolve("mnt"), "2m", "0700");
    mount = device.path();
  }

  @AfterEach
  void unmount() {
    if (device != null) {
      device.close();
    }
  }

  @Test
  void fullDeviceFailsTheAppendClearlyLosesNothingAndRecovers() throws IOException {
    Path filler = mount.resolve("filler");
    Files.write(filler, new byte[700 << 10]);
    Path logDir = mount.resolve("log");
    Map<Long, byte[]> acknowledged = new HashMap<>();
    SegmentWriteException failure = null;
    try (SegmentLog log = SegmentLog.open(settings(logDir, 1L << 20, Durability.BATCH), CODECS)) {
      for (long key = 0; key < 200 && failure == null; key++) {
        byte[] data = payload(key, 60_000, false);
        try {
          log.append(Write.of(key, 0, CODECS.raw(), data));
          acknowledged.put(key, data);
        } catch (SegmentWriteException e) {
          failure = e;
        }
      }
      assertThat(failure).as("a 2 MiB device must fill up").isNotNull();
      assertThat(failure).isInstanceOf(IOException.class);
      assertThat(failure.getMessage()).containsAnyOf("failed", "cannot start").contains(logDir.toString())
          .contains("free space");
      assertThat(failure.getCause().toString()).contains("No space left on device");
      assertThat(acknowledged).hasSizeGreaterThan(5);
      checkAll(log, acknowledged);

      // the next attempt fails the same clean way while the device is still full
      assertThatThrownBy(() -> log.append(Write.of(1000, 0, CODECS.raw(), payload(1000, 60_000, false))))
          .isInstanceOf(SegmentWriteException.class);
      checkAll(log, acknowledged);

      Files.delete(filler); // space returns
      for (long key = 500; key < 505; key++) {
        byte[] data = payload(key, 60_000, false);
        log.append(Write.of(key, 0, CODECS.raw(), data));
        acknowledged.put(key, data);
      }
      checkAll(log, acknowledged);
    }
    try (SegmentLog log = SegmentLog.open(settings(logDir, 1L << 20, Durability.BATCH), CODECS)) {
      assertThat(log.recoveryReport().corrupt()).isEmpty();
      checkAll(log, acknowledged);
      assertThat(log.read(1000)).isEmpty();
    }
  }

  private static void checkAll(SegmentLog log, Map<Long, byte[]> expected) throws IOException {
    for (Map.Entry<Long, byte[]> e : expected.entrySet()) {
      assertThat(log.read(e.getKey())).as("key %d", e.getKey()).get().isEqualTo(e.getValue());
    }
  }
}
