package dev.spillway.core.memory;

import static org.assertj.core.api.Assertions.assertThat;

import dev.spillway.codec.Codecs;
import dev.spillway.config.SpillSettings.SpillCodec;
import dev.spillway.config.SpillwaySettings;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.SpillOutcome;
import dev.spillway.memory.spi.SpillReport;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Spill and restore through {@link BlockAllocator} with {@code spillway.spill.codec = zstd}: records
 * smaller than LZ4's, every block back byte for byte, the configured level used, and the compression
 * probe backing off on data that does not compress exactly as it does for LZ4. Run: {@code mvn -B -o
 * test -pl core -am -Dsurefire.failIfNoSpecifiedTests=false -Dtest=ZstdSpillTest}
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ZstdSpillTest extends AllocatorTestBase {
  private static final int BLOCK = 64 << 10;
  private static final int BLOCKS = 24;

  @TempDir Path tmp;

  /** Spills {@link #BLOCKS} compressible blocks in one round, checks every byte back, frees them; the report. */
  private SpillReport spillAndRestore(BlockAllocator a) {
    long[] handles = new long[BLOCKS];
    List<byte[]> data = new ArrayList<>();
    for (int i = 0; i < BLOCKS; i++) {
      handles[i] = a.allocate(BLOCK);
      byte[] bytes = SpillRestoreTest.pattern(i, BLOCK, true);
      a.write(handles[i], 0, bytes, 0, BLOCK);
      data.add(bytes);
    }
    SpillReport report = a.control().spill(handles, 0, BLOCKS);
    assertThat(report.spilled()).isEqualTo(BLOCKS);
    for (int i = 0; i < BLOCKS; i++) {
      assertThat(a.isResident(handles[i])).isFalse();
      assertThat(SpillRestoreTest.contents(a, handles[i])).as("block %d", i).isEqualTo(data.get(i));
      a.free(handles[i]);
    }
    return report;
  }

  @Test
  void zstdRecordsAreSmallerThanLz4sAndEveryBlockComesBackExact() {
    SpillReport lz4 = spillAndRestore(tiered(tmp.resolve("lz4"), "spill.codec = lz4"));
    SpillReport zstd = spillAndRestore(tiered(tmp.resolve("zstd"), "spill.codec = zstd"));
    long raw = (long) BLOCK * BLOCKS;
    assertThat(zstd.rawBytes()).isEqualTo(raw);
    assertThat(zstd.storedBytes()).as("zstd against lz4 (%d)", lz4.storedBytes()).isLessThan(lz4.storedBytes());
    assertThat(zstd.storedBytes()).isLessThan(raw / 2);
  }

  @Test
  void theConfiguredLevelIsTheOneUsed() {
    SpillReport fast = spillAndRestore(tiered(tmp.resolve("fast"), "spill.codec = zstd, codec.zstd.level = -20"));
    SpillReport slow = spillAndRestore(tiered(tmp.resolve("slow"), "spill.codec = zstd, codec.zstd.level = 19"));
    assertThat(slow.storedBytes()).isLessThan(fast.storedBytes());
  }

  /** As {@link CompressionProbeTest} shows for LZ4: misses back off, the first block that compresses turns it on. */
  @Test
  void incompressibleBlocksStopTryingZstdAndCompressibleOnesAreCompressedAgainWithin32Blocks() {
    BlockAllocator a = tiered(tmp, "spill.codec = zstd");
    List<Long> handles = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      long h = a.allocate(4096);
      a.write(h, 0, SpillRestoreTest.pattern(i, 4096, false), 0, 4096);
      assertThat(a.spill(h)).isEqualTo(SpillOutcome.SPILLED);
      handles.add(h);
    }
    int rawBeforeFirstCompressed = 0;
    boolean compressedSeen = false;
    for (int i = 0; i < 64; i++) {
      long h = a.allocate(4096);
      a.write(h, 0, SpillRestoreTest.pattern(1000 + i, 4096, true), 0, 4096);
      SpillReport r = a.control().spill(new long[] {h}, 0, 1);
      handles.add(h);
      boolean compressed = r.storedBytes() < 4096 * 3 / 4;
      if (compressedSeen) {
        assertThat(compressed).as("block %d: once zstd pays again every block is compressed", i).isTrue();
      } else if (compressed) {
        compressedSeen = true;
      } else {
        rawBeforeFirstCompressed++;
      }
    }
    assertThat(compressedSeen).isTrue();
    assertThat(rawBeforeFirstCompressed).isPositive().isLessThan(CompressionProbe.SAMPLE_EVERY);
    for (int i = 0; i < handles.size(); i++) {
      byte[] got = new byte[4096];
      a.read(handles.get(i), 0, got, 0, 4096);
      assertThat(got).isEqualTo(SpillRestoreTest.pattern(i < 40 ? i : 1000 + i - 40, 4096, i >= 40));
      a.free(handles.get(i));
    }
  }

  @Test
  void eachSpillCodecSettingNamesItsCodec() {
    Codecs codecs = Codecs.from(SpillwaySettings.defaults().codec());
    assertThat(Allocators.spillCodec(codecs, SpillCodec.ZSTD)).isSameAs(codecs.zstd());
    assertThat(Allocators.spillCodec(codecs, SpillCodec.LZ4)).isSameAs(codecs.lz4());
    assertThat(Allocators.spillCodec(codecs, SpillCodec.RAW)).isSameAs(codecs.raw());
  }
}
