package dev.spillway.map;

import java.nio.file.Path;

/**
 * What {@link SpillMap#snapshot} wrote.
 *
 * @param directory the snapshot's directory
 * @param files the segment and checkpoint files in it (the manifest not counted)
 * @param linked how many of them are hard links to the map's sealed segments (the rest are copies)
 * @param bytes their bytes
 */
public record SnapshotInfo(Path directory, int files, int linked, long bytes) {}
