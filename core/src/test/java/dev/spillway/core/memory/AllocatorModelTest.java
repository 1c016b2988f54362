package dev.spillway.core.memory;

import dev.spillway.memory.AllocatorStats;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.SizeClasses;
import dev.spillway.memory.spi.SpillReport;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Random allocate / free / write / read sequences checked against a plain Java model: a map from
 * handle to the bytes the block must hold. Each seed is a separate case; a failure names its seed.
 */
class AllocatorModelTest extends AllocatorTestBase {

  static long[] seeds() {
    long[] seeds = new long[24];
    for (int i = 0; i < seeds.length; i++) {
      seeds[i] = 0x5EED_0000L + i * 7919L;
    }
    return seeds;
  }

  @TempDir Path dir;

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void matchesThePlainJavaModel(long seed) {
    // Small slabs and magazines so slab growth, refills, flushes and shrinking all happen often.
    BlockAllocator a = allocator("small-slab-size = 64 KiB, large-slab-size = 1 MiB,"
        + " thread-cache.max-blocks-per-class = " + (2 + (int) (seed % 7)));
    run(a, seed, false);
  }

  /** The same sequences with spills mixed in: every access may restore, every block may move. */
  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void matchesThePlainJavaModelWhileSpilling(long seed) {
    BlockAllocator a = tiered(dir.resolve("s" + seed), "memory { small-slab-size = 64 KiB, large-slab-size = 1 MiB,"
        + " thread-cache.max-blocks-per-class = " + (2 + (int) (seed % 7)) + " }"
        + (seed % 2 == 0 ? "\n spill.codec = raw" : "") + "\n tier.segment-size = 1 MiB");
    run(a, seed, true);
  }

  private void run(BlockAllocator a, long seed, boolean spill) {
    SplittableRandom random = new SplittableRandom(seed);
    Map<Long, byte[]> model = new HashMap<>();
    List<Long> handles = new ArrayList<>();
    String where = "seed " + seed;
    for (int step = 0; step < 3000; step++) {
      int op = random.nextInt(100);
      if (op < 35 || handles.isEmpty()) {
        long size = randomSize(random);
        long h = random.nextBoolean() ? a.allocate(size) : a.allocateZeroed(size);
        byte[] expected = new byte[(int) size];
        if (a.getByte(h, 0) != 0 || (size > 1 && a.getByte(h, size - 1) != 0)) {
          // Not zeroed: adopt the current contents as the model's, then overwrite them fully.
          random.nextBytes(expected);
          a.write(h, 0, expected, 0, expected.length);
        } else {
          byte[] now = new byte[(int) size];
          a.read(h, 0, now, 0, now.length);
          expected = now;
        }
        assertThat(model.put(h, expected)).as("%s: handle %x handed out twice", where, h).isNull();
        assertThat(a.size(h)).as(where).isEqualTo(size);
        handles.add(h);
      } else if (op < 60) {
        long h = handles.remove(random.nextInt(handles.size()));
        verify(a, h, model.remove(h), where);
        a.free(h);
        assertThat(a.isLive(h)).as(where).isFalse();
      } else if (op < 85) {
        long h = handles.get(random.nextInt(handles.size()));
        byte[] expected = model.get(h);
        int off = random.nextInt(expected.length);
        int len = random.nextInt(expected.length - off + 1);
        switch (random.nextInt(4)) {
          case 0 -> {
            byte[] data = new byte[len];
            random.nextBytes(data);
            a.write(h, off, data, 0, len);
            System.arraycopy(data, 0, expected, off, len);
          }
          case 1 -> {
            if (expected.length - off >= 8) {
              long v = random.nextLong();
              a.putLong(h, off, v);
              for (int i = 0; i < 8; i++) {
                expected[off + i] = (byte) (v >>> (8 * i));
              }
            }
          }
          case 2 -> {
            byte v = (byte) random.nextInt();
            a.fill(h, off, len, v);
            Arrays.fill(expected, off, off + len, v);
          }
          default -> {
            if (expected.length - off >= 4) {
              int v = random.nextInt();
              a.putInt(h, off, v);
              for (int i = 0; i < 4; i++) {
                expected[off + i] = (byte) (v >>> (8 * i));
              }
            }
          }
        }
      } else if (spill && op < 91) {
        long[] batch = random.ints(1 + random.nextInt(8), 0, handles.size()).distinct()
            .mapToLong(handles::get).toArray();
        int n = batch.length;
        SpillReport report = a.control().spill(batch, 0, n);
        assertThat(report.spilled() + report.alreadySpilled()).as(where).isEqualTo(n);
        for (long h : batch) {
          assertThat(a.isResident(h)).as(where).isFalse();
        }
      } else if (op < 97) {
        long h = handles.get(random.nextInt(handles.size()));
        verify(a, h, model.get(h), where);
      } else if (op < 99) {
        a.control().maintain();
      } else {
        a.control().trimCurrentThreadCache();
      }
    }
    for (long h : handles) {
      verify(a, h, model.get(h), where);
    }
    for (int i = 0; i < handles.size() / 3 && spill; i++) {
      a.spill(handles.get(i)); // some blocks end spilled: the figures must still add up
    }
    AllocatorStats stats = a.stats();
    assertThat(stats.blocksInUse() + stats.spill().spilledBlocks()).as(where).isEqualTo(handles.size());
    assertThat(stats.requestedBytes() + stats.spill().spilledBytes()).as(where)
        .isEqualTo(model.values().stream().mapToLong(b -> b.length).sum());
    for (long h : handles) {
      a.free(h);
    }
  }

  private static long randomSize(SplittableRandom random) {
    int kind = random.nextInt(100);
    if (kind < 70) {
      return 1L + random.nextInt(512);
    }
    if (kind < 96) {
      return 1L + random.nextInt(8192);
    }
    if (kind < 99) {
      return 1L + random.nextInt(SizeClasses.MAX_LARGE);
    }
    return SizeClasses.MAX_LARGE + 1L + random.nextInt(1 << 20);
  }

  private static void verify(BlockAllocator a, long h, byte[] expected, String where) {
    byte[] actual = new byte[expected.length];
    a.read(h, 0, actual, 0, actual.length);
    if (!Arrays.equals(actual, expected)) {
      int at = Arrays.mismatch(actual, expected);
      throw new AssertionError(where + ": block " + Handles.format(h) + " differs from the model at byte "
          + at + " of " + expected.length + ": " + actual[at] + " != " + expected[at]);
    }
    if (expected.length >= 8) {
      long v = a.getLong(h, expected.length - 8);
      long w = 0;
      for (int i = 7; i >= 0; i--) {
        w = (w << 8) | (expected[expected.length - 8 + i] & 0xFF);
      }
      assertThat(v).as(where).isEqualTo(w);
    }
  }
}
