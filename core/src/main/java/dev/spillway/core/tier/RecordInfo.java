package dev.spillway.core.tier;

/**
 * What the index knows about a key's current record, without reading it.
 *
 * @param codec the id of the codec the payload is stored with (0 raw, 1 LZ4, 2 Kryo)
 * @param rawLength bytes the record decodes to
 */
public record RecordInfo(long key, int generation, long sequence, int codec, int rawLength, RecordLocation location) {}
