package dev.spillway.memory;

/**
 * A snapshot of a segment log.
 *
 * @param segments segment files on disk
 * @param bytesOnDisk bytes of all segment files
 * @param liveBytes bytes (header + payload) of the records the index points to, tombstones included
 * @param liveRecords keys with a readable record
 * @param tombstones keys whose latest record is a tombstone still kept on disk
 * @param nextSequence the sequence number the next record will get
 */
public record TierStats(
    int segments, long bytesOnDisk, long liveBytes, long liveRecords, long tombstones, long nextSequence) {}
