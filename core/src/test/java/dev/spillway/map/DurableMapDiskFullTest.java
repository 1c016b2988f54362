package dev.spillway.map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spillway.config.MapSettings;
import dev.spillway.core.tier.MapLog;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.testing.TmpfsMount;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A durable map on a device that fills up (a 6 MiB tmpfs; tests run as root): the write that finds no
 * room fails naming the device's error and leaves its entry as it was, compaction on the full device
 * fails before deleting anything, and every write acknowledged before comes back after a reopen.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class DurableMapDiskFullTest {
  @TempDir Path tmp;

  @Test
  void aFullDeviceFailsTheWriteLosesNothingAndCompactionDeletesNothing() throws Exception {
    try (TmpfsMount device = TmpfsMount.mount(tmp.resolve("mnt"), "6m", "0700");
        BlockAllocator memory = MapTestSupport.tiered(tmp.resolve("tier"))) {
      Path dir = device.path().resolve("map");
      MapSettings settings = MapSettings.builder("full").durable(dir).segments(4).build();
      settings = settings.withPersistence(settings.persistence().withSegmentSize(1 << 20).withCheckpointInterval(64L << 20));
      Map<Long, byte[]> acknowledged = new HashMap<>();
      SplittableRandom random = new SplittableRandom(5);
      UncheckedIOException full = null;
      SpillMap<Long, byte[]> map = SpillMaps.builder(memory, "full", Long.class, byte[].class).settings(settings).build();
      try {
        for (long i = 0; full == null; i++) {
          long key = i % 300; // overwrites: the files hold far more than the live bytes
          byte[] v = new byte[8000];
          random.nextBytes(v);
          byte[] before = map.get(key);
          try {
            map.put(key, v);
            acknowledged.put(key, v);
          } catch (UncheckedIOException e) {
            full = e;
            assertThat(map.get(key)).as("the failed put left the entry as it was").isEqualTo(before);
          }
        }
        assertThat(full).hasMessageContaining("map 'full'").hasMessageContaining("No space left on device")
            .hasMessageContaining("as it was before this call");
        MapLog log = ((OffHeapSpillMap<Long, byte[]>) map).durabilityForTests().log();
        long files = log.diskBytes();
        // Compaction needs room for its copies (or for its checkpoint) and finds none: it fails, and
        // deletes nothing it still needs.
        assertThatThrownBy(() -> log.compactIfNeeded(((OffHeapSpillMap<Long, byte[]>) map).durabilityForTests()))
            .hasMessageContaining("No space left on device");
        assertThat(log.diskBytes()).isGreaterThanOrEqualTo(files - (1 << 20));
        for (Map.Entry<Long, byte[]> e : acknowledged.entrySet()) {
          assertThat(map.get(e.getKey())).isEqualTo(e.getValue());
        }
      } finally {
        try {
          map.close(); // its last checkpoint may find no room either: the log stays the truth
        } catch (UncheckedIOException expected) {
          assertThat(expected).hasMessageContaining("No space left on device");
        }
      }
      try (SpillMap<Long, byte[]> back = SpillMaps.builder(memory, "full", Long.class, byte[].class).settings(settings)
          .build()) {
        assertThat(back.size()).isEqualTo(acknowledged.size());
        for (Map.Entry<Long, byte[]> e : acknowledged.entrySet()) {
          assertThat(back.get(e.getKey())).as("key %d", e.getKey()).isEqualTo(e.getValue());
        }
      }
    }
  }
}
