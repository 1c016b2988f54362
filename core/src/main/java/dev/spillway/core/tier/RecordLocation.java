package dev.spillway.core.tier;

/**
 * Where one record lives: its segment, the offset of its header in the segment file and its whole
 * length (header + stored payload). A location stays valid until compaction moves the record;
 * reading by key always finds the current one.
 */
public record RecordLocation(long segmentId, long offset, int length) {}
