package dev.spillway.streams.spill;

import dev.spillway.core.memory.BlockAllocator;
import dev.spillway.core.memory.PreparedSpill;
import java.util.List;

/**
 * The pipeline's write step: {@link BlockAllocator#writeSpills}. Tests put a slow or failing step
 * around it to drive backpressure and restarts.
 */
@FunctionalInterface
interface BatchWriter {
  BatchWriter ALLOCATOR = BlockAllocator::writeSpills;

  void write(BlockAllocator allocator, List<PreparedSpill> batch);
}
