package dev.spillway.map;

import dev.spillway.config.MapSettings;
import dev.spillway.map.policy.ReplacementPolicies;
import dev.spillway.map.policy.ReplacementPolicy;
import dev.spillway.core.tier.MapLog;
import dev.spillway.memory.BlockAllocator;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntPredicate;

/**
 * One segment of a {@link SpillMap}: a lock, an {@link OffHeapIndex}, the blocks of its entries, its
 * policies and its counters. Each entry's block holds its key (when longer than {@link
 * OffHeapIndex#INLINE_KEY} bytes) followed by its value. Every method that touches state expects the
 * caller to hold {@link #lock}; the map does that around each call.
 *
 * <p>A replaced value gets a new block, written before the old one is freed, so that a failure to
 * allocate leaves the entry as it was, and a replaced entry that had gone to NVMe is never read back
 * just to be overwritten.
 */
final class MapSegment<K, V> implements OffHeapIndex.BlockKeys {
  /** Minimum block size the map demotes: a record and its index entry would cost more than it frees. */
  static final long MIN_DEMOTE_BYTES = 1024;
  /** Rows the expiry sweep looks at per write. */
  private static final int SWEEP_PER_WRITE = 8;
  /** The weight the demotion policy is sized for, per segment. */
  private static final long DEMOTION_MAXIMUM = 1 << 16;

  final ReentrantLock lock = new ReentrantLock();
  /** Demotions written to NVMe whose bookkeeping waits for the next holder of the lock. */
  final ConcurrentLinkedQueue<Demoted> pendingDemotions = new ConcurrentLinkedQueue<>();
  private final OffHeapSpillMap<K, V> map;
  private final BlockAllocator memory;
  final OffHeapIndex index;
  /** A cache's eviction order (null in a store); it also orders a cache's demotion. */
  private final ReplacementPolicy eviction;
  /** A store's demotion order over its resident entries (null in a cache, which demotes by {@link #eviction}). */
  private final ReplacementPolicy demotion;
  private final ReplacementPolicy l1;
  private final boolean byteWeights;
  private final long expireAfterWriteNanos;
  private final long expireAfterAccessNanos;
  private Object[] l1Values;
  /** Durable maps: the log's locations of the entries, and the log (both null otherwise). */
  private final LogColumn column;
  private MapLog mapLog;
  private int sweepCursor;
  boolean closed;

  long l1Hits;
  long l2Hits;
  long l3Hits;
  long misses;
  long puts;
  long removals;
  long evictions;
  long expirations;
  long promotions;
  long demotions;
  long loads;
  long loadNanos;

  MapSegment(OffHeapSpillMap<K, V> map, BlockAllocator memory, MapSettings settings, int segments) {
    this.map = map;
    this.memory = memory;
    this.index = new OffHeapIndex(memory, this);
    this.column = settings.durable() ? new LogColumn(memory) : null;
    if (settings.mode() == MapSettings.Mode.CACHE) {
      eviction = ReplacementPolicies.create(settings.evictionPolicy());
      byteWeights = settings.maximumBytes() > 0;
      long total = byteWeights ? settings.maximumBytes() : settings.maximumEntries();
      eviction.setMaximum(Math.max(1, ceilDiv(total, segments)));
    } else {
      eviction = null;
      byteWeights = false;
    }
    if (eviction == null) {
      demotion = ReplacementPolicies.create(settings.demotionPolicy());
      demotion.setMaximum(DEMOTION_MAXIMUM);
    } else {
      demotion = null; // one policy, one set of per-row arrays: a cache demotes in the order it would evict
    }
    if (settings.l1Entries() > 0) {
      l1 = ReplacementPolicies.create(settings.l1Policy());
      l1.setMaximum(Math.max(1, ceilDiv(settings.l1Entries(), segments)));
      l1Values = new Object[0];
    } else {
      l1 = null;
    }
    expireAfterWriteNanos = settings.expireAfterWrite().toNanos();
    expireAfterAccessNanos = settings.expireAfterAccess().toNanos();
  }

  private static long ceilDiv(long a, long b) {
    return (a + b - 1) / b;
  }

  // ---- lookups -------------------------------------------------------------------------------

  /** The live row of the key, or -1; an expired entry met here is removed (EXPIRED). */
  int lookup(long hash, MemorySegment key, int keyLength, long now, List<Removal<K, V>> removed) {
    int row = index.find(hash, key, keyLength);
    if (row >= 0 && isExpired(row, now)) {
      remove(row, RemovalCause.EXPIRED, removed);
      return -1;
    }
    return row;
  }

  @Override
  public boolean keyEquals(int row, MemorySegment key, int keyLength) {
    // Keys longer than the inline room lead the block: read just them, without restoring a spilled block.
    MemorySegment stored = map.keyPrefix(index.handle(row), keyLength);
    return MemorySegment.mismatch(stored, 0, keyLength, key, 0, keyLength) == -1;
  }

  private boolean isExpired(int row, long now) {
    return (expireAfterWriteNanos > 0 && now - index.writeTime(row) >= expireAfterWriteNanos)
        || (expireAfterAccessNanos > 0 && now - index.accessTime(row) >= expireAfterAccessNanos);
  }

  /**
   * The value of {@code row} for a read: from the on-heap level when it is there, else decoded from
   * its block (restoring it when it had gone to NVMe); counts the hit and feeds the policies.
   */
  V read(int row, long now) {
    if (expireAfterAccessNanos > 0) {
      index.setAccessTime(row, now);
    }
    long hash = index.hash(row);
    if (eviction != null) {
      eviction.onAccess(row, hash);
    }
    if (l1 != null && row < l1Values.length && l1Values[row] != null) {
      l1Hits++;
      l1.onAccess(row, hash);
      @SuppressWarnings("unchecked")
      V v = (V) l1Values[row];
      return v;
    }
    long handle = index.handle(row);
    if (index.inLog(row)) {
      handle = loadFromLog(row);
      l3Hits++;
      promotions++;
    } else if (memory.isResident(handle)) {
      l2Hits++;
      touchResident(row, hash, handle);
    } else {
      l3Hits++;
      promotions++;
    }
    V value = map.decodeValue(handle, valueOffset(row), index.valueLength(row), true);
    if (demotion != null && !demotion.contains(row)) {
      demotion.onInsert(row, hash, 1);
    }
    if (l1 != null) {
      putL1(row, hash, value);
      promotions++;
    }
    return value;
  }

  /**
   * {@link #read} as bytes: copies the value's encoded bytes into {@code dst} (restoring the block
   * when it had gone to NVMe) and returns their length; a {@code dst} too small gets nothing, and
   * nothing is counted, so that the caller's retry counts once.
   */
  long readBytes(int row, long now, MemorySegment dst) {
    int length = index.valueLength(row);
    if (length > dst.byteSize()) {
      return length;
    }
    if (expireAfterAccessNanos > 0) {
      index.setAccessTime(row, now);
    }
    long hash = index.hash(row);
    if (eviction != null) {
      eviction.onAccess(row, hash);
    }
    long handle = index.handle(row);
    if (index.inLog(row)) {
      handle = loadFromLog(row);
      l3Hits++;
      promotions++;
    } else if (memory.isResident(handle)) {
      l2Hits++;
      touchResident(row, hash, handle);
    } else {
      l3Hits++;
      promotions++;
    }
    memory.read(handle, valueOffset(row), dst, 0, length);
    if (demotion != null && !demotion.contains(row)) {
      demotion.onInsert(row, hash, 1);
    }
    return length;
  }

  private void touchResident(int row, long hash, long handle) {
    if (demotion == null) {
      return;
    }
    if (demotion.contains(row)) {
      demotion.onAccess(row, hash);
    } else if (memory.isResident(handle)) {
      demotion.onInsert(row, hash, 1);
    }
  }

  /** The value of {@code row} without counting a read or restoring its block (for old values and listeners). */
  V peek(int row) {
    if (l1 != null && row < l1Values.length && l1Values[row] != null) {
      @SuppressWarnings("unchecked")
      V v = (V) l1Values[row];
      return v;
    }
    if (index.inLog(row)) {
      return map.decodeValueBytes(logValue(row));
    }
    return map.decodeValue(index.handle(row), valueOffset(row), index.valueLength(row), false);
  }

  /** The stored key of {@code row}, decoded. */
  K key(int row) {
    int length = index.keyLength(row);
    if (length <= OffHeapIndex.INLINE_KEY) {
      return map.decodeInlineKey(index, row, length);
    }
    return map.decodeKey(map.keyPrefix(index.handle(row), length), length);
  }

  /** Whether the value bytes of {@code row} equal {@code value[0, length)}. */
  boolean valueEquals(int row, MemorySegment value, long length) {
    if (index.valueLength(row) != length) {
      return false;
    }
    if (index.inLog(row)) {
      return MemorySegment.mismatch(logValue(row), 0, length, value, 0, length) == -1;
    }
    MemorySegment stored = map.peekBlock(index.handle(row));
    long off = valueOffset(row);
    return MemorySegment.mismatch(stored, off, off + length, value, 0, length) == -1;
  }

  boolean isResident(int row) {
    return (l1 != null && row < l1Values.length && l1Values[row] != null)
        || (!index.inLog(row) && memory.isResident(index.handle(row)));
  }

  private long valueOffset(int row) {
    int k = index.keyLength(row);
    return k > OffHeapIndex.INLINE_KEY ? k : 0;
  }

  // ---- writes --------------------------------------------------------------------------------

  /**
   * A new entry. Its block is allocated and written first and the index grown after, so that when
   * either fails nothing is left behind.
   */
  int insert(long hash, MemorySegment key, int keyLength, MemorySegment value, long valueLength, long now,
      List<Removal<K, V>> removed) {
    return insert(hash, key, keyLength, value, valueLength, now, removed, 0);
  }

  /**
   * {@link #insert}, with the entry's block already written by {@link #prepareBlock} (0: written here).
   * The block is this call's from then on: freed when the insert fails.
   */
  int insert(long hash, MemorySegment key, int keyLength, MemorySegment value, long valueLength, long now,
      List<Removal<K, V>> removed, long prepared) {
    long handle = prepared != 0 ? prepared : writeBlock(key, keyLength, value, valueLength);
    int row;
    try {
      row = index.insert(hash, key, keyLength);
    } catch (RuntimeException | Error e) {
      memory.free(handle);
      throw e;
    }
    index.setHandle(row, handle);
    index.setValueLength(row, (int) valueLength);
    index.setWriteTime(row, now);
    index.setAccessTime(row, now);
    try {
      ensureRows(index.rowLimit());
      if (column != null) {
        logEntry(row, hash, key, keyLength, value, valueLength);
      }
    } catch (RuntimeException | Error e) {
      index.remove(row);
      memory.free(handle);
      throw e;
    }
    if (demotion != null) {
      demotion.onInsert(row, hash, 1);
    }
    puts++;
    if (eviction != null) {
      eviction.onInsert(row, hash, weight(keyLength, valueLength));
      evictOverMaximum(removed);
    }
    sweep(now, removed);
    return row;
  }

  /** A new value for the entry of {@code row}; {@code old} is the value reported as REPLACED, if any. */
  void replace(int row, MemorySegment value, long valueLength, long now, List<Removal<K, V>> removed,
      boolean report) {
    replace(row, value, valueLength, now, removed, report, 0);
  }

  /** {@link #replace}, with the new block already written by {@link #prepareBlock} (0: written here). */
  void replace(int row, MemorySegment value, long valueLength, long now, List<Removal<K, V>> removed,
      boolean report, long prepared) {
    long hash = index.hash(row);
    int keyLength = index.keyLength(row);
    MemorySegment key = keyLength > OffHeapIndex.INLINE_KEY ? map.keyPrefix(index.handle(row), keyLength) : null;
    long handle;
    if (prepared != 0) {
      handle = prepared;
      if (key != null) {
        // a copy: the scratch view above is overwritten by the next read through it
        key = MemorySegment.ofArray(key.asSlice(0, keyLength).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
      }
    } else {
      handle = writeBlock(key, keyLength, value, valueLength);
    }
    Removal<K, V> replaced = null;
    try {
      MemorySegment keyBytes = column == null ? null : key != null
          ? MemorySegment.ofArray(key.asSlice(0, keyLength).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE))
          : inlineKey(row);
      if (report) {
        replaced = new Removal<>(key(row), peek(row), RemovalCause.REPLACED);
      }
      if (column != null) {
        long oldLocation = column.location(row);
        int oldLength = column.recordLength(row);
        logEntry(row, hash, keyBytes, keyLength, value, valueLength);
        mapLog.obsolete(oldLocation, oldLength);
      }
    } catch (RuntimeException | Error e) {
      memory.free(handle);
      throw e;
    }
    if (replaced != null) {
      removed.add(replaced);
    }
    long old = index.handle(row);
    index.setHandle(row, handle);
    index.setInLog(row, false);
    index.setValueLength(row, (int) valueLength);
    index.setWriteTime(row, now);
    index.setAccessTime(row, now);
    if (old != 0) {
      memory.free(old);
    }
    dropL1(row);
    if (demotion != null) {
      if (demotion.contains(row)) {
        demotion.onUpdate(row, hash, 1);
      } else {
        demotion.onInsert(row, hash, 1);
      }
    }
    puts++;
    if (eviction != null) {
      eviction.onUpdate(row, hash, weight(keyLength, valueLength));
      evictOverMaximum(removed);
    }
    sweep(now, removed);
  }

  /**
   * The block of an entry, written before the segment's lock is taken: an allocation that waits for
   * the budget then holds no lock, so the control plane can take RAM back from every segment meanwhile
   * (a writer waiting under the lock kept its segment from being demoted: with as many writers as
   * segments, nothing could be demoted at all). Needs no lock; the caller owns the block until it
   * passes it to {@link #insert} or {@link #replace}.
   */
  long prepareBlock(MemorySegment key, int keyLength, MemorySegment value, long valueLength) {
    return writeBlock(key, keyLength, value, valueLength);
  }

  private long writeBlock(MemorySegment key, int keyLength, MemorySegment value, long valueLength) {
    long keyBytes = keyLength > OffHeapIndex.INLINE_KEY ? keyLength : 0;
    long handle = memory.allocate(Math.max(1, keyBytes + valueLength));
    try {
      if (keyBytes > 0) {
        memory.write(handle, 0, key, 0, keyBytes);
      }
      if (valueLength > 0) {
        memory.write(handle, keyBytes, value, 0, valueLength);
      }
    } catch (RuntimeException | Error e) {
      memory.free(handle);
      throw e;
    }
    return handle;
  }

  private long weight(int keyLength, long valueLength) {
    return byteWeights ? Math.max(1, keyLength + valueLength) : 1;
  }

  /** Removes the entry of {@code row}, reporting it with {@code cause} when there is a listener. */
  void remove(int row, RemovalCause cause, List<Removal<K, V>> removed) {
    if (removed != null && map.hasListener()) {
      removed.add(new Removal<>(key(row), peek(row), cause));
    }
    if (column != null) {
      logRemove(row);
    }
    long handle = index.handle(row);
    dropL1(row);
    if (demotion != null) {
      demotion.onRemove(row);
    }
    if (eviction != null) {
      eviction.onRemove(row);
    }
    index.remove(row);
    if (handle != 0) {
      memory.free(handle);
    }
    switch (cause) {
      case EXPIRED -> expirations++;
      case EVICTED -> evictions++;
      default -> removals++;
    }
  }

  private void evictOverMaximum(List<Removal<K, V>> removed) {
    while (eviction.weightedSize() > eviction.maximum()) {
      int victim = eviction.victim();
      if (victim < 0) {
        return;
      }
      remove(victim, RemovalCause.EVICTED, removed);
    }
  }

  /** Looks at a few rows after the sweep cursor and removes those that expired. */
  private void sweep(long now, List<Removal<K, V>> removed) {
    if (expireAfterWriteNanos == 0 && expireAfterAccessNanos == 0) {
      return;
    }
    int limit = index.rowLimit();
    for (int i = 0; i < SWEEP_PER_WRITE && limit > 0; i++) {
      int row = sweepCursor++ % limit;
      if (sweepCursor >= limit) {
        sweepCursor = 0;
      }
      if (index.isUsed(row) && isExpired(row, now)) {
        remove(row, RemovalCause.EXPIRED, removed);
      }
    }
  }

  /** Removes every expired entry. */
  void expireAll(long now, List<Removal<K, V>> removed) {
    if (expireAfterWriteNanos == 0 && expireAfterAccessNanos == 0) {
      return;
    }
    for (int row = 0; row < index.rowLimit(); row++) {
      if (index.isUsed(row) && isExpired(row, now)) {
        remove(row, RemovalCause.EXPIRED, removed);
      }
    }
  }

  // ---- levels --------------------------------------------------------------------------------

  private void ensureRows(int rows) {
    if (column != null) {
      column.ensureRows(rows);
    }
    if (demotion != null) {
      demotion.ensureRows(rows);
    }
    if (eviction != null) {
      eviction.ensureRows(rows);
    }
    if (l1 != null) {
      l1.ensureRows(rows);
      if (l1Values.length < rows) {
        l1Values = Arrays.copyOf(l1Values, Math.max(rows, l1Values.length * 2));
      }
    }
  }

  private void putL1(int row, long hash, V value) {
    if (l1Values[row] != null) {
      return;
    }
    l1Values[row] = value;
    l1.onInsert(row, hash, 1);
    while (l1.weightedSize() > l1.maximum()) {
      int victim = l1.victim();
      if (victim < 0) {
        break;
      }
      l1.onRemove(victim);
      l1Values[victim] = null;
    }
  }

  private void dropL1(int row) {
    if (l1 != null && row < l1Values.length && l1Values[row] != null) {
      l1Values[row] = null;
      l1.onRemove(row);
    }
  }

  int l1Size() {
    return l1 == null ? 0 : l1.size();
  }

  /**
   * Under the lock: the rows and handles of resident entries, in demotion order, whose blocks add up
   * to about {@code bytes} (entries under {@link #MIN_DEMOTE_BYTES} are left); null when there are
   * none. The caller spills them after releasing the lock ({@link #applyDemotions} afterwards).
   */
  long[][] demotionCandidates(long bytes) {
    List<Integer> rows = new ArrayList<>();
    long[] want = {0};
    IntPredicate pick = row -> {
      long handle = index.handle(row);
      long capacity = memory.capacity(handle);
      if (capacity >= MIN_DEMOTE_BYTES && memory.isResident(handle)) {
        rows.add(row);
        want[0] += capacity;
      }
      return want[0] < bytes;
    };
    (demotion != null ? demotion : eviction).forEachColdest(pick);
    if (rows.isEmpty()) {
      return null;
    }
    long[][] out = new long[2][rows.size()];
    for (int i = 0; i < rows.size(); i++) {
      out[0][i] = rows.get(i);
      out[1][i] = index.handle(rows.get(i));
    }
    return out;
  }

  /** A spill of {@link #demotionCandidates} that ended: its candidates and how many went to NVMe. */
  static final class Demoted {
    final long[][] candidates;
    final int spilledCount;

    Demoted(long[][] candidates, int spilledCount) {
      this.candidates = candidates;
      this.spilledCount = spilledCount;
    }
  }

  /**
   * Applies the demotions that ended since (under the lock): rows still holding the same block that
   * is now on NVMe leave the demotion order and the on-heap level (a row removed or replaced
   * meanwhile holds another handle, or none).
   */
  void applyDemotions() {
    Demoted d;
    while ((d = pendingDemotions.poll()) != null) {
      if (closed) {
        continue;
      }
      long[][] candidates = d.candidates;
      for (int i = 0; i < candidates[0].length; i++) {
        int row = (int) candidates[0][i];
        long handle = candidates[1][i];
        if (index.isUsed(row) && index.handle(row) == handle && !memory.isResident(handle)) {
          if (demotion != null) {
            demotion.onRemove(row);
          }
          dropL1(row);
        }
      }
      demotions += d.spilledCount;
    }
  }

  /** Frees every entry and the index (close). */
  void freeAll() {
    for (int row = 0; row < index.rowLimit(); row++) {
      if (index.isUsed(row) && index.handle(row) != 0) {
        memory.free(index.handle(row));
      }
    }
    index.close();
    if (column != null) {
      column.close();
    }
    if (l1Values != null) {
      Arrays.fill(l1Values, null);
    }
    closed = true;
  }

  /** Every live row, for iteration and clear. */
  int[] liveRows() {
    int[] out = new int[index.size()];
    int n = 0;
    for (int row = 0; row < index.rowLimit() && n < out.length; row++) {
      if (index.isUsed(row)) {
        out[n++] = row;
      }
    }
    return n == out.length ? out : Arrays.copyOf(out, n);
  }

  // ---- durable maps --------------------------------------------------------------------------

  /** Entries of a durable map under this size stay in RAM when the map is asked to free some. */
  static final long MIN_DROP_BYTES = 256;

  /** The map's log, once it is open (recovery runs before). */
  void attach(MapLog log) {
    this.mapLog = log;
  }

  /** Counts every entry's record as live in {@code log} (after recovery). */
  void countLive(MapLog log) {
    for (int row = 0; row < index.rowLimit(); row++) {
      if (index.isUsed(row)) {
        log.live(column.location(row), column.recordLength(row));
      }
    }
  }

  /** Appends the ENTRY of {@code row} and points the row at it; on failure the row is unchanged. */
  private void logEntry(int row, long hash, MemorySegment key, int keyLength, MemorySegment value, long valueLength) {
    try {
      long location = mapLog.appendEntry(hash, key, keyLength, value, valueLength, System.currentTimeMillis());
      column.set(row, location, mapLog.lastRecordLength());
      map.appended(location);
    } catch (java.io.IOException e) {
      throw map.logFailure("writing to its log", e);
    }
  }

  /** Appends the REMOVE of {@code row}'s key; on failure nothing changes. */
  private void logRemove(int row) {
    int keyLength = index.keyLength(row);
    MemorySegment key = keyLength <= OffHeapIndex.INLINE_KEY ? inlineKey(row) : map.keyPrefix(index.handle(row), keyLength);
    try {
      long location = mapLog.appendRemove(index.hash(row), key, keyLength, System.currentTimeMillis());
      mapLog.obsolete(column.location(row), column.recordLength(row));
      map.appended(location);
    } catch (java.io.IOException e) {
      throw map.logFailure("writing to its log", e);
    }
  }

  /** An inline key's bytes (a fresh copy: at most 16 bytes). */
  private MemorySegment inlineKey(int row) {
    MemorySegment k = MemorySegment.ofArray(new byte[OffHeapIndex.INLINE_KEY]);
    index.copyInlineKey(row, k);
    return k;
  }

  /** The value bytes of an entry that is only in the log, read and checked (a view valid until this thread's next read). */
  private MemorySegment logValue(int row) {
    int keyLength = index.keyLength(row);
    int valueLength = index.valueLength(row);
    java.nio.ByteBuffer payload;
    try {
      payload = mapLog.readEntry(column.location(row), column.recordLength(row), index.hash(row));
    } catch (java.io.IOException e) {
      throw map.logFailure("reading the entry of key " + map.describeKey(key(row)) + " from its log", e);
    }
    long expected = dev.spillway.core.tier.MapLogFormat.TIME_BYTES_PUBLIC + (long) keyLength + valueLength;
    MemorySegment all = MemorySegment.ofBuffer(payload);
    MemorySegment storedKey = all.asSlice(dev.spillway.core.tier.MapLogFormat.TIME_BYTES_PUBLIC,
        Math.min(keyLength, all.byteSize() - dev.spillway.core.tier.MapLogFormat.TIME_BYTES_PUBLIC));
    MemorySegment ownKey = keyLength <= OffHeapIndex.INLINE_KEY ? inlineKey(row) : map.keyPrefix(index.handle(row), keyLength);
    if (all.byteSize() != expected || storedKey.byteSize() != keyLength
        || MemorySegment.mismatch(storedKey, 0, keyLength, ownKey, 0, keyLength) != -1) {
      throw map.logFailure("reading the entry of key " + map.describeKey(key(row)) + " from its log",
          new java.io.IOException("the record at "
          + dev.spillway.core.tier.MapLogFormat.describe(column.location(row)) + " holds " + all.byteSize()
          + " bytes of another key or length, not the " + expected + " the index expects: the log was changed"));
    }
    return all.asSlice(dev.spillway.core.tier.MapLogFormat.TIME_BYTES_PUBLIC + keyLength, valueLength);
  }

  /** Brings an entry that is only in the log back into a block of its own (a promotion); returns the handle. */
  private long loadFromLog(int row) {
    int keyLength = index.keyLength(row);
    MemorySegment value = logValue(row);
    long keyBytes = keyLength > OffHeapIndex.INLINE_KEY ? keyLength : 0;
    long old = index.handle(row);
    long handle = memory.allocate(Math.max(1, keyBytes + value.byteSize()));
    try {
      // The value is in the log's buffer, the key in the map's: neither overwrites the other.
      if (keyBytes > 0) {
        memory.write(handle, 0, map.keyPrefix(old, keyLength), 0, keyBytes);
      }
      if (value.byteSize() > 0) {
        memory.write(handle, keyBytes, value, 0, value.byteSize());
      }
    } catch (RuntimeException | Error e) {
      memory.free(handle);
      throw e;
    }
    index.setHandle(row, handle);
    index.setInLog(row, false);
    if (old != 0) {
      memory.free(old);
    }
    return handle;
  }

  /**
   * A durable map's demotion, under the lock: the coldest resident entries leave RAM, at no I/O cost
   * (their records are in the log already); a key longer than the row keeps a block of its own.
   * Returns the bytes freed.
   */
  long dropToLog(long bytes) {
    List<Integer> rows = new ArrayList<>();
    long[] want = {0};
    IntPredicate pick = row -> {
      long handle = index.handle(row);
      if (!index.inLog(row) && memory.isResident(handle) && memory.capacity(handle) >= MIN_DROP_BYTES) {
        rows.add(row);
        want[0] += memory.capacity(handle);
      }
      return want[0] < bytes;
    };
    (demotion != null ? demotion : eviction).forEachColdest(pick);
    long freed = 0;
    for (int row : rows) {
      int keyLength = index.keyLength(row);
      long handle = index.handle(row);
      long keyBlock = 0;
      if (keyLength > OffHeapIndex.INLINE_KEY) {
        keyBlock = memory.allocate(keyLength);
        memory.write(keyBlock, 0, map.keyPrefix(handle, keyLength), 0, keyLength);
        freed -= memory.capacity(keyBlock);
      }
      freed += memory.capacity(handle);
      memory.free(handle);
      index.setHandle(row, keyBlock);
      index.setInLog(row, true);
      if (demotion != null) {
        demotion.onRemove(row);
      }
      dropL1(row);
      demotions++;
    }
    return Math.max(0, freed);
  }

  /** Recovery: an ENTRY puts the key in the log only, a REMOVE deletes it (no listener, no new record). */
  void recover(boolean remove, long hash, MemorySegment key, int keyLength, long location, int recordLength,
      int valueLength, long timeMillis) {
    int row = index.find(hash, key, keyLength);
    if (remove) {
      if (row >= 0) {
        long handle = index.handle(row);
        if (eviction != null) {
          eviction.onRemove(row);
        }
        index.remove(row);
        if (handle != 0) {
          memory.free(handle);
        }
      }
      return;
    }
    if (row < 0) {
      long keyBlock = 0;
      if (keyLength > OffHeapIndex.INLINE_KEY) {
        keyBlock = memory.allocate(keyLength);
        memory.write(keyBlock, 0, key, 0, keyLength);
      }
      try {
        row = index.insert(hash, key, keyLength);
        ensureRows(index.rowLimit());
      } catch (RuntimeException | Error e) {
        if (keyBlock != 0) {
          memory.free(keyBlock);
        }
        throw e;
      }
      index.setHandle(row, keyBlock);
      index.setInLog(row, true);
      if (eviction != null) {
        eviction.onInsert(row, hash, weight(keyLength, valueLength));
      }
    } else if (eviction != null) {
      eviction.onUpdate(row, hash, weight(keyLength, valueLength));
    }
    index.setValueLength(row, valueLength);
    column.set(row, location, recordLength);
    long now = map.now();
    long age = Math.max(0, System.currentTimeMillis() - timeMillis);
    index.setWriteTime(row, now - Math.min(age, Long.MAX_VALUE / 2_000_000) * 1_000_000);
    index.setAccessTime(row, now);
  }

  /** Checkpoint: every entry whose record lies before {@code end}. */
  void forEachEntry(long end, MapLog.EntrySink sink) throws java.io.IOException {
    long nowNanos = map.now();
    long nowMillis = System.currentTimeMillis();
    for (int row = 0; row < index.rowLimit(); row++) {
      if (!index.isUsed(row) || column.location(row) >= end) {
        continue;
      }
      int keyLength = index.keyLength(row);
      MemorySegment key = keyLength <= OffHeapIndex.INLINE_KEY ? inlineKey(row) : map.keyPrefix(index.handle(row), keyLength);
      long time = nowMillis - Math.max(0, nowNanos - index.writeTime(row)) / 1_000_000;
      sink.entry(index.hash(row), key, keyLength, column.location(row), column.recordLength(row),
          index.valueLength(row), time);
    }
  }

  /** Compaction: see {@link MapLog.Owner#moveIfCurrent}. */
  boolean moveIfCurrent(long hash, long location, MapLog.RecordCopy copy) throws java.io.IOException {
    if (closed) {
      // Not "gone": the compaction must stop before it deletes the segment this entry still lives in.
      throw new java.io.IOException("map '" + map.name() + "' is closing: compaction stopped");
    }
    int row = index.findRow(hash, r -> column.location(r) == location);
    if (row < 0) {
      return false;
    }
    int length = column.recordLength(row);
    column.set(row, copy.copy(), length);
    mapLog.obsolete(location, length);
    return true;
  }

  /** An entry that left, for the removal listener. */
  record Removal<K, V>(K key, V value, RemovalCause cause) {}
}
