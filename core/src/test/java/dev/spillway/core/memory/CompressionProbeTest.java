package dev.spillway.core.memory;

import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.SpillOutcome;
import dev.spillway.memory.spi.SpillReport;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Compression attempts back off on incompressible data and come back as soon as data compresses. */
class CompressionProbeTest extends AllocatorTestBase {
  @TempDir Path tmp;

  @Test
  void backsOffAfterMissesAndSamplesUntilOnePays() {
    CompressionProbe p = new CompressionProbe();
    for (int i = 0; i < CompressionProbe.MISSES_TO_BACK_OFF; i++) {
      assertThat(p.shouldTry()).isTrue();
      p.attempted(false);
    }
    int tries = 0;
    for (int i = 0; i < 10 * CompressionProbe.SAMPLE_EVERY; i++) {
      if (p.shouldTry()) {
        tries++;
        p.attempted(false);
      }
    }
    assertThat(tries).isEqualTo(10);
    while (!p.shouldTry()) {
      // skip to the next sample
    }
    p.attempted(true);
    for (int i = 0; i < 100; i++) {
      assertThat(p.shouldTry()).as("every record tries again once one paid").isTrue();
    }
  }

  @Test
  void spillsOfIncompressibleDataStopTryingLz4AndCompressibleDataIsCompressedAgainWithin32Blocks() {
    BlockAllocator a = tiered(tmp, "");
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
        assertThat(compressed).as("block %d: once LZ4 pays again every block is compressed", i).isTrue();
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
}
