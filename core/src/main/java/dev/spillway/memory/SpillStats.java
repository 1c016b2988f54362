package dev.spillway.memory;

import dev.spillway.memory.TierStats;

/**
 * Figures of spilling and restoring since the allocator opened.
 *
 * @param spilledBlocks live blocks whose bytes are on the tier now
 * @param spilledBytes bytes those blocks were asked for
 * @param forwardedBlocks restored blocks living in a slot other than their handle's (reached through
 *     the forwarding table: one lookup more per access)
 * @param spills blocks spilled since start
 * @param restores blocks restored since start
 * @param restoresInPlace restores that went back to the block's own slot (its handle direct again)
 * @param busySpills spills given up because the block was touched or pinned meanwhile
 * @param failedSpills blocks whose spill failed on I/O (they stayed resident)
 * @param failedRestores restores that failed (the block stayed spilled)
 * @param rawBytesWritten bytes of blocks written to the tier
 * @param storedBytesWritten bytes their records took on the tier, headers included
 * @param tier the spill log's segments, records and tombstones; null without a tier
 */
public record SpillStats(
    long spilledBlocks,
    long spilledBytes,
    long forwardedBlocks,
    long spills,
    long restores,
    long restoresInPlace,
    long busySpills,
    long failedSpills,
    long failedRestores,
    long rawBytesWritten,
    long storedBytesWritten,
    TierStats tier) {}
