package dev.spillway.cli;

import dev.spillway.config.Sizes;
import dev.spillway.config.SpillwaySettings;
import dev.spillway.config.TierSettings;
import dev.spillway.core.memory.AllocatorStats;
import dev.spillway.core.memory.BlockAllocator;
import dev.spillway.core.memory.SizeClasses;
import dev.spillway.core.memory.SpillReport;
import dev.spillway.core.memory.SpillStats;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * The main job on embedded defaults: a working set spread over every size class (and a few huge
 * blocks) is allocated, filled with a pattern derived from each block's number, read back and
 * verified byte for byte; every other block is spilled to the NVMe tier (the default directory under
 * {@code java.io.tmpdir}, removed afterwards) and every block is verified again, which restores the
 * spilled ones; then all are freed. The pools' statistics are printed while the set is live and
 * after it is gone.
 */
final class DemoJob {
  private static final int BLOCKS_PER_CLASS = 48;
  private static final long[] HUGE_SIZES = {(1 << 20) + 1, 3L << 20, (8L << 20) + 12345};

  private final PrintStream out;

  DemoJob(PrintStream out) {
    this.out = out;
  }

  /** Runs the demo; true when every byte read back was the byte written. */
  boolean run() {
    SpillwaySettings settings = SpillwaySettings.defaults();
    try {
      return run(settings);
    } finally {
      if (settings.tier().directories().equals(java.util.List.of(TierSettings.defaultDirectory()))) {
        deleteTree(TierSettings.defaultDirectory()); // this process's own directory: nothing else uses it
      }
    }
  }

  private boolean run(SpillwaySettings settings) {
    long start = System.nanoTime();
    BlockAllocator opened;
    try {
      opened = BlockAllocator.open(settings);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    try (BlockAllocator allocator = opened) {
      SplittableRandom random = new SplittableRandom(42);
      int total = SizeClasses.COUNT * BLOCKS_PER_CLASS + HUGE_SIZES.length;
      long[] handles = new long[total];
      long[] sizes = new long[total];
      int n = 0;
      for (int cls = 0; cls < SizeClasses.COUNT; cls++) {
        int high = SizeClasses.sizeOf(cls);
        int low = cls == 0 ? 1 : SizeClasses.sizeOf(cls - 1) + 1;
        for (int i = 0; i < BLOCKS_PER_CLASS; i++) {
          sizes[n++] = low + random.nextInt(high - low + 1);
        }
      }
      for (long size : HUGE_SIZES) {
        sizes[n++] = size;
      }
      long bytes = 0;
      for (int i = 0; i < total; i++) {
        handles[i] = allocator.allocate(sizes[i]);
        fill(allocator, handles[i], sizes[i], i);
        bytes += sizes[i];
      }
      int bad = 0;
      for (int i = 0; i < total; i++) {
        if (!verify(allocator, handles[i], sizes[i], i)) {
          bad++;
        }
      }
      out.printf("Spillway demo: %d blocks over %d size classes and %d huge blocks, %s written and read back%n%n",
          total, SizeClasses.COUNT, HUGE_SIZES.length, Sizes.format(bytes));
      AllocatorStats live = allocator.stats();
      out.println(StatsTable.render(live));
      long[] half = new long[total / 2];
      for (int i = 0; i < half.length; i++) {
        half[i] = handles[2 * i];
      }
      SpillReport spilled = allocator.spill(half, 0, half.length);
      for (int i = 0; i < total; i++) {
        if (!verify(allocator, handles[i], sizes[i], i)) { // restores the spilled half
          bad++;
        }
      }
      SpillStats spill = allocator.stats().spill();
      out.printf("%nSpilled %d blocks (%s in %s on disk) to %s, then restored %d of them on access"
              + " (%d into their own slots) and verified all %d again%n",
          spilled.spilled(), Sizes.format(spilled.rawBytes()), Sizes.format(spilled.storedBytes()),
          settings.tier().directories().get(0), spill.restores(), spill.restoresInPlace(), total);
      for (long h : handles) {
        allocator.free(h);
      }
      allocator.trimCurrentThreadCache();
      int passes = 0;
      while (allocator.maintain().blocksShrunk() > 0 && passes++ < 100) {
        // each pass gives back up to 10% of a pool's maximum
      }
      AllocatorStats after = allocator.stats();
      out.printf("%nAfter freeing every block and shrinking: %d blocks in use, %d slabs, %s resident%n",
          after.blocksInUse(), after.slabs(), Sizes.format(after.residentBytes()));
      double ms = (System.nanoTime() - start) / 1e6;
      if (bad == 0 && after.blocksInUse() == 0) {
        out.printf("verified %d blocks (%s): OK in %.0f ms%n", total, Sizes.format(bytes), ms);
        return true;
      }
      out.printf("FAILED: %d of %d blocks read back wrong, %d blocks still in use%n", bad, total,
          after.blocksInUse());
      return false;
    }
  }

  private static void deleteTree(Path root) {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot remove the demo's tier directory " + root, e);
    }
  }

  /** A block's bytes: a stream seeded by its number, so any misplaced byte is caught. */
  private static void fill(BlockAllocator allocator, long handle, long size, int seed) {
    byte[] chunk = new byte[(int) Math.min(size, 64 << 10)];
    SplittableRandom pattern = new SplittableRandom(seed);
    for (long off = 0; off < size; off += chunk.length) {
      int len = (int) Math.min(chunk.length, size - off);
      pattern.nextBytes(chunk);
      allocator.write(handle, off, chunk, 0, len);
    }
  }

  private static boolean verify(BlockAllocator allocator, long handle, long size, int seed) {
    byte[] expected = new byte[(int) Math.min(size, 64 << 10)];
    byte[] actual = new byte[expected.length];
    SplittableRandom pattern = new SplittableRandom(seed);
    if (allocator.size(handle) != size) {
      return false;
    }
    for (long off = 0; off < size; off += expected.length) {
      int len = (int) Math.min(expected.length, size - off);
      pattern.nextBytes(expected);
      allocator.read(handle, off, actual, 0, len);
      if (!java.util.Arrays.equals(actual, 0, len, expected, 0, len)) {
        return false;
      }
    }
    return true;
  }
}
