package dev.spillway.streams.spill;

import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.spi.PreparedSpill;
import java.util.List;

/**
 * The pipeline's write step: {@link dev.spillway.memory.spi.AllocatorControl#writeSpills}. Tests put a slow or failing step
 * around it to drive backpressure and restarts.
 */
@FunctionalInterface
interface BatchWriter {
  BatchWriter ALLOCATOR = (allocator, batch) -> allocator.control().writeSpills(batch);

  void write(BlockAllocator allocator, List<PreparedSpill> batch);
}
