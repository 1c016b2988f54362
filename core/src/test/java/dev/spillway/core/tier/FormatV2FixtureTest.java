package dev.spillway.core.tier;

import static dev.spillway.core.tier.TierTestSupport.CODECS;
import static dev.spillway.core.tier.TierTestSupport.payload;
import static dev.spillway.core.tier.TierTestSupport.settings;
import static org.assertj.core.api.Assertions.assertThat;

import dev.spillway.config.TierSettings.Durability;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Segment files written by the code of 2026-12-03 (format version 2), checked in under
 * {@code src/test/resources/format-v2}, are still read: recovery rebuilds the same keys, every
 * read path (whole record, and the restore's payload-only read into off-heap memory) returns the
 * bytes written, and {@code inspect} finds them healthy. Durable data will outlive the code that
 * wrote it; this is the check that a change to the format keeps reading what exists.
 *
 * <p>The fixture was made by {@link #regenerate} ({@code -DregenerateFormatFixtures=true}, run from
 * the {@code core} module's directory); it must not be regenerated to make this test pass.
 */
@Timeout(60)
class FormatV2FixtureTest {
  private static final int[] RAW_SIZES = {1, 17, 100, 4096, 4096, 65_536, 70_000, 8};

  @TempDir Path tmp;

  /** What the fixture holds: the latest bytes per key, after an overwrite (key 5) and a delete (key 3). */
  private static Map<Long, byte[]> expected() {
    Map<Long, byte[]> m = new LinkedHashMap<>();
    for (int k = 0; k < RAW_SIZES.length; k++) {
      m.put((long) k, payload(k, RAW_SIZES[k], false));
    }
    for (int k = 8; k < 12; k++) {
      m.put((long) k, payload(k, 4096 << (k - 8), true));
    }
    m.put(5L, payload(105, 300, false));
    m.remove(3L);
    return m;
  }

  private static void write(SegmentLog log) throws IOException {
    for (int k = 0; k < RAW_SIZES.length; k++) {
      log.append(Write.of(k, k, CODECS.raw(), payload(k, RAW_SIZES[k], false)));
    }
    for (int k = 8; k < 12; k++) {
      log.append(Write.of(k, k, CODECS.lz4(), payload(k, 4096 << (k - 8), true)));
    }
    log.append(Write.of(5, 50, CODECS.raw(), payload(105, 300, false)));
    assertThat(log.delete(3)).isTrue();
  }

  private static Path fixture() throws URISyntaxException {
    return Path.of(FormatV2FixtureTest.class.getResource("/format-v2").toURI());
  }

  @Test
  void filesOfFormatVersion2AreReadAsWritten() throws Exception {
    List<Path> files;
    try (Stream<Path> s = Files.list(fixture())) {
      files = s.filter(p -> p.getFileName().toString().endsWith(".spw")).sorted().toList();
    }
    assertThat(files).isNotEmpty();
    for (Path f : files) {
      ByteBuffer header = ByteBuffer.wrap(Files.readAllBytes(f), 0, 8).order(ByteOrder.LITTLE_ENDIAN);
      assertThat(header.getShort(SegmentDescriptor.FILE_VERSION_OFFSET)).as("version of " + f).isEqualTo((short) 2);
      Files.copy(f, tmp.resolve(f.getFileName()));
    }
    assertThat(LogInspector.inspect(List.of(tmp), CODECS).healthy()).isTrue();
    Map<Long, byte[]> expected = expected();
    try (SegmentLog log = SegmentLog.open(settings(tmp, 1L << 20, Durability.NONE), CODECS)) {
      assertThat(log.recoveryReport().clean()).as(log.recoveryReport().toString()).isTrue();
      ByteBuffer direct = ByteBuffer.allocateDirect(1 << 20);
      for (long key = 0; key < 12; key++) {
        byte[] want = expected.get(key);
        if (want == null) {
          assertThat(log.read(key)).as("key %d was deleted", key).isEmpty();
          assertThat(log.readInto(key, direct, 0, direct.capacity())).isEqualTo(-1);
          continue;
        }
        assertThat(log.read(key)).as("key %d", key).get().isEqualTo(want);
        long n = log.readInto(key, direct, 7, direct.capacity() - 7);
        byte[] got = new byte[(int) n];
        direct.get(7, got);
        assertThat(got).as("key %d through the restore's read", key).isEqualTo(want);
      }
      // Appending to a recovered version-2 log goes on, and reads still agree.
      log.append(Write.of(20, 1, CODECS.raw(), payload(20, 4096, false)));
      assertThat(log.read(20)).get().isEqualTo(payload(20, 4096, false));
    }
  }

  /** Writes the fixture anew (not a test: run on purpose when a new format version is introduced). */
  @Test
  @EnabledIfSystemProperty(named = "regenerateFormatFixtures", matches = "true")
  void regenerate() throws IOException {
    Path out = Path.of("src/test/resources/format-v2").toAbsolutePath();
    Files.createDirectories(out);
    try (SegmentLog log = SegmentLog.open(settings(out, 1L << 20, Durability.BATCH), CODECS)) {
      write(log);
    }
    Files.deleteIfExists(out.resolve(".lock"));
  }
}
