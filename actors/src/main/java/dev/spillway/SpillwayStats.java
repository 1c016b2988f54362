package dev.spillway;

import dev.spillway.PressureState;
import dev.spillway.memory.AllocatorStats;
import dev.spillway.streams.spill.PipelineStats;
import java.util.List;

/**
 * A snapshot of the whole service.
 *
 * @param allocator pools, huge blocks and spill figures
 * @param pipeline the spill pipeline's counters, added up over every pipeline since the start
 * @param pipelineRestarts spill pipelines started after a stream failed (the first one not counted)
 * @param pressure the last pressure state (per signal)
 * @param budgetBytes the memory budget
 * @param mappedBytes memory mapped now (slabs and huge blocks), which the budget caps
 * @param tiers the last status of each tier directory
 */
public record SpillwayStats(AllocatorStats allocator, PipelineStats pipeline, long pipelineRestarts,
    PressureState pressure, long budgetBytes, long mappedBytes, List<TierStatus> tiers) {
  public SpillwayStats {
    tiers = List.copyOf(tiers);
  }
}
