package dev.spillway;

import com.typesafe.config.ConfigFactory;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.testing.FileTrees;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * A Spillway process for exit tests: starts on the embedded defaults with its private tier directory
 * under {@code args[0]}, spills {@code args[1]} MiB of random 64 KiB blocks, prints {@code ready <dir>
 * <bytes on disk>}, then waits to be stopped (SIGTERM, SIGINT, SIGKILL) or for its standard input to
 * close, when it closes normally and prints {@code closed}.
 */
public final class SpillwayChildMain {
  private SpillwayChildMain() {}

  public static void main(String[] args) throws Exception {
    Path parent = Path.of(args[0]);
    int mib = Integer.parseInt(args[1]);
    try (Spillway spillway = Spillway.create(ConfigFactory.parseString(
        "spillway { tier.default-parent = \"" + parent + "\", tier.durability = none, control.budget = 64 MiB }"))) {
      BlockAllocator memory = spillway.memory();
      SplittableRandom random = new SplittableRandom(args.length > 2 ? Long.parseLong(args[2]) : 1);
      byte[] block = new byte[64 << 10];
      for (int i = 0; i < mib * 16; i++) {
        random.nextBytes(block);
        long h = memory.allocate(block.length);
        memory.write(h, 0, block, 0, block.length);
        memory.spill(h);
      }
      Path dir = spillway.tierDirectories().getFirst();
      System.out.println("ready " + dir + " " + FileTrees.bytesUnder(dir));
      System.out.flush();
      while (System.in.read() >= 0) {
        // wait for the end of standard input, or a signal
      }
    }
    System.out.println("closed");
  }
}
