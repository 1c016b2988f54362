package dev.spillway.core.tier;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The in-memory index: key to its latest record (data or tombstone), and per segment the bytes of the
 * records the index points into. Mutated only under the log's write lock (or by recovery before the
 * log is published); read concurrently by readers and {@code stats()}. A record with a higher sequence
 * number supersedes; an older or equal one is ignored, so replaying duplicates (a compaction copy and
 * its original) resolves by sequence.
 */
final class LogIndex {
  /** The latest record of a key. */
  record Entry(long key, int generation, long sequence, int codec, int rawLength, boolean tombstone,
      RecordLocation location, int crc) {
    RecordInfo info() {
      return new RecordInfo(key, generation, sequence, codec, rawLength, location);
    }
  }

  /** Live bytes of one segment, split so compaction can discount droppable tombstones. */
  static final class Usage {
    final AtomicLong dataBytes = new AtomicLong();
    final AtomicLong tombstoneBytes = new AtomicLong();
  }

  private final EntryTable entries = new EntryTable();
  private final Map<Long, Usage> usage = new ConcurrentHashMap<>();
  private final AtomicLong tombstones = new AtomicLong();

  /** {@link EntryTable#locate}: where the key's data record is, into {@code out}; false when none. */
  boolean locate(long key, long[] out) {
    return entries.locate(key, out);
  }

  Entry get(long key) {
    return entries.get(key);
  }

  /** Applies a record; returns false when an equal or newer record of the key is already indexed. */
  // Identity on purpose: putIfNewer answers the argument itself when it did not take it.
  @SuppressWarnings("ReferenceEquality")
  boolean apply(Entry e) {
    Entry old = entries.putIfNewer(e);
    if (old == e) {
      return false;
    }
    if (old != null) {
      account(old, -1);
    }
    account(e, +1);
    return true;
  }

  /**
   * {@link #apply(Entry)} from the record's fields, building no entry (the writer's path, once per
   * record appended).
   */
  // Identity on purpose: REFUSED is a sentinel instance, not a value.
  @SuppressWarnings("ReferenceEquality")
  boolean apply(long key, int generation, long sequence, int codec, int rawLength, boolean tombstone,
      RecordLocation location, int crc) {
    Entry old = entries.putIfNewer(key, generation, sequence, codec, rawLength, tombstone, location, crc);
    if (old == EntryTable.REFUSED) {
      return false;
    }
    if (old != null) {
      account(old, -1);
    }
    account(location.segmentId(), location.length(), tombstone, +1);
    return true;
  }

  /** Removes {@code e} if it is still the key's entry (a tombstone compaction dropped). */
  boolean remove(Entry e) {
    if (entries.remove(e)) {
      account(e, -1);
      return true;
    }
    return false;
  }

  /**
   * Removes the key's entry, whatever record it names (the spill log forgetting a block that came
   * back); builds no entry object. {@code scratch} has {@link EntryTable#LOC_FIELDS} longs.
   */
  boolean removeKey(long key, long[] scratch) {
    int removed = entries.removeKey(key, scratch);
    if (removed == EntryTable.REMOVED_NONE) {
      return false;
    }
    account(scratch[EntryTable.LOC_SEGMENT], (int) scratch[EntryTable.LOC_LENGTH],
        removed == EntryTable.REMOVED_TOMBSTONE, -1);
    return true;
  }

  private void account(Entry e, int sign) {
    account(e.location().segmentId(), e.location().length(), e.tombstone(), sign);
  }

  private void account(long segmentId, int length, boolean tombstone, int sign) {
    Usage u = usage.computeIfAbsent(segmentId, id -> new Usage());
    if (tombstone) {
      u.tombstoneBytes.addAndGet(sign * (long) length);
      tombstones.addAndGet(sign);
    } else {
      u.dataBytes.addAndGet(sign * (long) length);
    }
  }

  Usage usage(long segmentId) {
    return usage.computeIfAbsent(segmentId, id -> new Usage());
  }

  void forgetSegment(long segmentId) {
    usage.remove(segmentId);
  }

  long liveBytes() {
    long sum = 0;
    for (Usage u : usage.values()) {
      sum += u.dataBytes.get() + u.tombstoneBytes.get();
    }
    return sum;
  }

  long keys() {
    return entries.size();
  }

  long tombstones() {
    return tombstones.get();
  }

  /** Hands {@code sink} every entry whose record lies in one of {@code segments} (one walk, no other entry built). */
  void forEachIn(long[] segments, java.util.function.Consumer<Entry> sink) {
    entries.forEachIn(segments, sink);
  }

  /** A snapshot of every entry (recovery walks it once). */
  Iterable<Entry> entries() {
    return entries.snapshot();
  }
}
