package dev.spillway.map;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import dev.spillway.config.SpillwaySettings;
import dev.spillway.memory.BlockAllocator;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/** Allocators for map tests, and the check that a closed map left no block behind. */
final class MapTestSupport {
  private MapTestSupport() {}

  /** An allocator spilling to {@code dir} (durability none, as spill logs are). */
  static BlockAllocator tiered(Path dir) {
    SpillwaySettings s = SpillwaySettings.from(ConfigFactory.parseString(
        "spillway.tier { directories = [\"" + dir.toAbsolutePath() + "\"] }"));
    try {
      return BlockAllocator.open(s);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Closes the map and then the allocator, failing when a block or a spilled record is left. */
  static void closeAndCheck(SpillMap<?, ?> map, BlockAllocator memory) {
    map.close();
    try {
      assertThat(memory.stats().blocksInUse()).as("blocks left by the map").isZero();
      assertThat(memory.stats().spill().spilledBlocks()).as("spilled blocks left by the map").isZero();
    } finally {
      memory.close();
    }
  }
}
