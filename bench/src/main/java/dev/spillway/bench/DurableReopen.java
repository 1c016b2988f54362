package dev.spillway.bench;

import com.typesafe.config.ConfigFactory;
import dev.spillway.config.MapSettings;
import dev.spillway.config.SpillwaySettings;
import dev.spillway.map.SpillMap;
import dev.spillway.map.SpillMaps;
import dev.spillway.memory.BlockAllocator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * A durable map's reopen and compaction, measured: {@code --gib} GiB of 4 KiB values (default 1) are
 * written under a 256 MiB budget into a durable map ({@code durability = batch}, LZ4 on incompressible
 * values, so the probe stores them raw), the map is closed (its last checkpoint written) and reopened,
 * and the reopen is timed with the checkpoint's size on disk; 2,000 random values are read back and
 * verified. Then the same bytes again overwrite random keys (churn) and the files' size over the live
 * bytes is sampled after every 64 MiB written. Targets: reopen of 1 GiB of 4 KiB values within 2 s;
 * files at most 2 times the live bytes under churn.
 *
 * <p>Run: {@code bin/bench DurableReopen [--gib 1] [--dir DIR]} (DIR: where the map goes; a new
 * directory under /var/tmp by default, deleted at the end).
 */
public final class DurableReopen {
  private DurableReopen() {}

  public static void main(String[] args) throws IOException {
    double gib = 1;
    Path dir = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--gib" -> gib = Double.parseDouble(args[++i]);
        case "--dir" -> dir = Path.of(args[++i]);
        default -> throw new IllegalArgumentException("unknown argument " + args[i] + " (allowed --gib N, --dir DIR)");
      }
    }
    Path base = dir != null ? dir : Files.createTempDirectory(Path.of("/var/tmp"), "spillway-reopen-");
    Path mapDir = base.resolve("map");
    int entries = (int) (gib * (1L << 30) / 4096);
    SpillwaySettings settings = SpillwaySettings.from(ConfigFactory.parseString("spillway.control.budget = 256 MiB,"
        + " spillway.tier.directories = [\"" + base.resolve("tier") + "\"]"));
    MapSettings mapSettings = MapSettings.builder("reopen").durable(mapDir).build();
    System.out.printf(Locale.ROOT, "DurableReopen %s: %d values of 4 KiB (%.2f GiB) into %s, budget 256 MiB%n",
        java.time.LocalDate.now(java.time.ZoneOffset.UTC), entries, gib, mapDir);
    try (BlockAllocator memory = BlockAllocator.open(settings)) {
      long t0 = System.nanoTime();
      SpillMap<Long, byte[]> first = SpillMaps.builder(memory, "reopen", Long.class, byte[].class)
          .settings(mapSettings).build();
      try {
        for (int i = 0; i < entries; i++) {
          first.set((long) i, value(i, 0));
          if ((i & 4095) == 4095) {
            first.demote(64L << 20); // no control plane here: keep RAM near the budget as it would
          }
        }
        double writeSeconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf(Locale.ROOT, "write: %.2f s, %.0f MiB/s%n", writeSeconds, gib * 1024 / writeSeconds);
      } finally {
        long c0 = System.nanoTime();
        first.close();
        System.out.printf(Locale.ROOT, "close (last checkpoint): %.3f s%n", (System.nanoTime() - c0) / 1e9);
      }
      long checkpointBytes = sizeOf(mapDir, ".spi");
      long segmentBytes = sizeOf(mapDir, ".spm");
      long r0 = System.nanoTime();
      try (SpillMap<Long, byte[]> map = SpillMaps.builder(memory, "reopen", Long.class, byte[].class)
          .settings(mapSettings).build()) {
        double reopen = (System.nanoTime() - r0) / 1e9;
        System.out.printf(Locale.ROOT, "reopen: %.3f s for %d entries (target <= 2 s: %s); checkpoints on disk %s"
                + " (%.1f B per entry), segments %s%n", reopen, map.size(), reopen <= 2 ? "MET" : "MISS",
            dev.spillway.config.Sizes.format(checkpointBytes), checkpointBytes / (double) entries / 2, dev.spillway.config.Sizes.format(segmentBytes));
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < 2000; i++) {
          int k = r.nextInt(entries);
          if (!java.util.Arrays.equals(map.get((long) k), value(k, 0))) {
            throw new AssertionError("value " + k + " read back wrong after the reopen");
          }
        }
        System.out.println("verified 2,000 random values after the reopen");
        churn(map, entries, mapDir);
      }
    } finally {
      if (dir == null) {
        try (Stream<Path> all = Files.walk(base)) {
          all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
      }
    }
  }

  private static void churn(SpillMap<Long, byte[]> map, int entries, Path mapDir) throws IOException {
    SplittableRandom r = new SplittableRandom(2);
    long live = (long) entries * (4096 + 48 + 8 + 8);
    double worst = 0;
    long t0 = System.nanoTime();
    for (int i = 0; i < entries; i++) {
      int k = r.nextInt(entries);
      map.set((long) k, value(k, i + 1));
      if ((i & 4095) == 4095) {
        map.demote(64L << 20);
      }
      if ((i & 16383) == 16383) {
        double ratio = (sizeOf(mapDir, ".spm") + sizeOf(mapDir, ".spi")) / (double) live;
        worst = Math.max(worst, ratio);
        if (System.getProperty("trace") != null) {
          System.out.printf(Locale.ROOT, "  after %d overwrites: files / live %.2f%n", i + 1, ratio);
        }
      }
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    double end = (sizeOf(mapDir, ".spm") + sizeOf(mapDir, ".spi")) / (double) live;
    // Compaction runs on the map's own thread: how long it takes to catch up once the writes stop.
    long settleStart = System.nanoTime();
    double settled = end;
    while (settled > 1.3 && System.nanoTime() - settleStart < 60_000_000_000L) {
      java.util.concurrent.locks.LockSupport.parkNanos(100_000_000L);
      settled = (sizeOf(mapDir, ".spm") + sizeOf(mapDir, ".spi")) / (double) live;
    }
    System.out.printf(Locale.ROOT, "churn: %d overwrites in %.2f s (%.0f MiB/s); files / live bytes: worst %.2f, at the"
            + " end %.2f, %.2f after %.1f s more (target <= 2 under churn: %s)%n", entries, seconds,
        entries * 4096.0 / (1 << 20) / seconds, worst, end, settled, (System.nanoTime() - settleStart) / 1e9,
        worst <= 2 ? "MET" : "MISS");
  }

  private static long sizeOf(Path dir, String suffix) throws IOException {
    try (Stream<Path> all = Files.list(dir)) {
      return all.filter(p -> p.toString().endsWith(suffix)).mapToLong(p -> p.toFile().length()).sum();
    }
  }

  private static byte[] value(int key, int version) {
    byte[] b = new byte[4096];
    new SplittableRandom(key * 31L + version).nextBytes(b);
    return b;
  }
}
