package dev.spillway.core.memory;

import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.RestoreFailedException;
import dev.spillway.memory.SpillFailedException;
import dev.spillway.memory.spi.SpillReport;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spillway.testing.FileBytes;
import dev.spillway.testing.TmpfsMount;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Spill and restore when the device fails: a full file system keeps every block resident and readable
 * and spilling resumes once space returns; a corrupted or truncated segment never yields wrong bytes.
 */
class SpillFailureTest extends AllocatorTestBase {
  @TempDir Path tmp;

  /**
   * A real full device: a 4 MiB tmpfs (tests run as root; the segment log's own fault-injection tests
   * cover the same paths without a device).
   */
  @Test
  void aFullDeviceKeepsEveryBlockResidentAndSpillingResumesWhenSpaceReturns() throws IOException {
    try (TmpfsMount device = TmpfsMount.mount(tmp.resolve("mnt"), "4m", "0700")) {
      Path mount = device.path();
      Path filler = mount.resolve("filler");
      Files.write(filler, new byte[2 << 20]);
      BlockAllocator a = tiered(mount.resolve("tier"), "tier.segment-size = 1 MiB\nspill.codec = raw");
      List<Long> handles = new ArrayList<>();
      List<byte[]> data = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        long h = a.allocate(32 << 10);
        byte[] bytes = SpillRestoreTest.pattern(i, 32 << 10, false);
        a.write(h, 0, bytes, 0, bytes.length);
        handles.add(h);
        data.add(bytes);
      }
      SpillFailedException failure = null;
      int spilled = 0;
      for (int i = 0; i < handles.size() && failure == null; i += 4) {
        long[] batch = handles.subList(i, i + 4).stream().mapToLong(Long::longValue).toArray();
        try {
          spilled += a.control().spill(batch, 0, 4).spilled();
        } catch (SpillFailedException e) {
          failure = e;
        }
      }
      assertThat(failure).as("the 2 MiB left on the device fill up").isNotNull();
      assertThat(failure.blocks()).isEqualTo(4);
      assertThat(failure).hasMessageContaining("stays resident");
      assertThat(a.stats().spill().failedSpills()).isEqualTo(4);
      assertThat(spilled).isGreaterThan(0);
      for (int i = 0; i < handles.size(); i++) { // spilled ones restore, the failed batch was never lost
        assertThat(SpillRestoreTest.contents(a, handles.get(i))).as("block %d", i).isEqualTo(data.get(i));
      }
      Files.delete(filler); // space returns
      long[] all = handles.stream().mapToLong(Long::longValue).toArray();
      a.control().maintain(); // tombstones of the restored blocks, then compaction returns their space
      SpillReport again = a.control().spill(all, 0, 40);
      assertThat(again.spilled()).isEqualTo(40);
      for (int i = 0; i < 40; i++) {
        assertThat(SpillRestoreTest.contents(a, all[i])).isEqualTo(data.get(i));
      }
      for (long h : all) {
        a.free(h);
      }
      assertThat(a.stats().blocksInUse()).isZero();
      assertThat(a.stats().spill().spilledBlocks()).isZero();
      checkLeaks = false; // checked above: the tier's files must be closed before the unmount
      a.close();
    }
  }

  private static Path onlySegment(Path tierDir) throws IOException {
    try (Stream<Path> files = Files.list(tierDir.resolve("spill"))) {
      List<Path> segments = files.filter(p -> p.getFileName().toString().endsWith(".spw")).toList();
      assertThat(segments).hasSize(1);
      return segments.get(0);
    }
  }

  /**
   * Random byte flips in the spill segment: a restore either returns the block's exact bytes (the
   * flip hit another record, or a header field the reader does not need) or fails with
   * {@link RestoreFailedException}, the block staying spilled. It never returns wrong bytes.
   */
  @Test
  void corruptedRecordsAreDetectedAndNeverReturnedAsData() throws IOException {
    SplittableRandom r = new SplittableRandom(2026);
    int detected = 0;
    for (int round = 0; round < 30; round++) {
      Path dir = tmp.resolve("c" + round);
      BlockAllocator a = tiered(dir, round % 2 == 0 ? "spill.codec = raw" : "");
      int n = 20;
      long[] handles = new long[n];
      byte[][] data = new byte[n][];
      for (int i = 0; i < n; i++) {
        int size = 1 + r.nextInt(20_000);
        handles[i] = a.allocate(size);
        data[i] = SpillRestoreTest.pattern(r.nextLong(), size, r.nextBoolean());
        a.write(handles[i], 0, data[i], 0, size);
      }
      a.control().spill(handles, 0, n);
      Path segment = onlySegment(dir);
      long size = Files.size(segment);
      for (int flips = 0; flips < 3; flips++) {
        long at = 32 + r.nextLong(size - 32); // past the file header: records only
        FileBytes.flip(segment, at, 1 << r.nextInt(8));
      }
      for (int i = 0; i < n; i++) {
        try {
          assertThat(SpillRestoreTest.contents(a, handles[i])).as("round %d block %d", round, i).isEqualTo(data[i]);
        } catch (RestoreFailedException e) {
          detected++;
          assertThat(e.handle()).isEqualTo(handles[i]);
          assertThat(a.isResident(handles[i])).isFalse();
          long h = handles[i];
          assertThatThrownBy(() -> a.getByte(h, 0)).isInstanceOf(RestoreFailedException.class);
        }
        a.free(handles[i]);
      }
    }
    assertThat(detected).as("flips inside records were detected").isGreaterThan(10);
    assertThat(detected).isLessThanOrEqualTo(30 * 3);
  }

  /** A segment truncated under spilled blocks: the blocks whose records are gone fail, the rest restore. */
  @Test
  void aTruncatedSegmentFailsOnlyTheBlocksItLost() throws IOException {
    BlockAllocator a = tiered(tmp.resolve("t"), "spill.codec = raw");
    int n = 10;
    long[] handles = new long[n];
    byte[][] data = new byte[n][];
    for (int i = 0; i < n; i++) {
      handles[i] = a.allocate(4096);
      data[i] = SpillRestoreTest.pattern(i, 4096, false);
      a.write(handles[i], 0, data[i], 0, 4096);
    }
    a.control().spill(handles, 0, n);
    Path segment = onlySegment(tmp.resolve("t"));
    FileBytes.truncate(segment, Files.size(segment) - 3 * 4096);
    int failed = 0;
    for (int i = 0; i < n; i++) {
      try {
        assertThat(SpillRestoreTest.contents(a, handles[i])).isEqualTo(data[i]);
      } catch (RestoreFailedException e) {
        failed++;
        assertThat(i).as("only the last records were cut").isGreaterThanOrEqualTo(n - 3);
      }
      a.free(handles[i]);
    }
    assertThat(failed).isEqualTo(3);
  }
}
