package dev.spillway.core.tier;

/**
 * What one {@link SegmentLog#compact()} pass did.
 *
 * @param segmentsRewritten segment files whose live records were copied and which were then deleted
 * @param recordsCopied live records (and still-needed tombstones) copied to the active segment
 * @param tombstonesDropped tombstones dropped because no older record of their key remains
 * @param bytesFreed file bytes deleted minus bytes written for the copies
 */
public record CompactionResult(int segmentsRewritten, long recordsCopied, long tombstonesDropped, long bytesFreed) {}
