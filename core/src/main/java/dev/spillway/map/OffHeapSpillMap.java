package dev.spillway.map;

import dev.spillway.config.MapSettings;
import dev.spillway.map.MapSegment.Removal;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.spi.PreparedSpill;
import dev.spillway.memory.spi.SpillReport;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.lang.System.Logger.Level;

/**
 * The {@link SpillMap} over a {@link BlockAllocator}: keys are encoded into a per-thread buffer and
 * hashed, the hash's low bits pick a {@link MapSegment}, and the whole call runs under that segment's
 * lock. Removal notifications are collected under the lock and delivered after it is released.
 */
final class OffHeapSpillMap<K, V> extends AbstractMap<K, V> implements SpillMap<K, V> {
  private static final System.Logger LOG = System.getLogger(OffHeapSpillMap.class.getName());
  /** Buffers up to this size stay with their thread; larger ones are made for one call. */
  private static final int KEEP_BUFFER = 1 << 20;
  private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

  private final String name;
  private final MapSettings settings;
  private final BlockAllocator memory;
  private final MapCodec<K> keys;
  private final MapCodec<V> values;
  private final boolean byteArrayValues;
  private final MapSegment<K, V>[] segments;
  private final int segmentMask;
  private final RemovalListener<K, V> listener;
  private final LongSupplier ticker;
  private volatile boolean closed;
  /** The durable side (its log); null when the map is not durable. */
  private final MapDurability<K, V> durability;
  /** The segment the next {@link #demote} starts at. */
  private final AtomicInteger demoteStart = new AtomicInteger();

  @SuppressWarnings("unchecked")
  OffHeapSpillMap(BlockAllocator memory, MapSettings settings, MapCodec<K> keys, MapCodec<V> values,
      RemovalListener<K, V> listener, LongSupplier ticker) {
    this.name = settings.name();
    this.settings = settings;
    this.memory = memory;
    this.keys = keys;
    this.values = values;
    this.byteArrayValues = values instanceof MapCodecs.BytesCodec;
    this.listener = listener;
    this.ticker = ticker;
    int n = settings.segmentCount(Runtime.getRuntime().availableProcessors());
    @SuppressWarnings("rawtypes")
    MapSegment[] made = new MapSegment[n];
    this.segments = made;
    this.segmentMask = n - 1;
    try {
      for (int i = 0; i < n; i++) {
        segments[i] = new MapSegment<>(this, memory, settings, n);
      }
      durability = settings.durable() ? MapDurability.open(this, segments, settings.persistence()) : null;
      if (durability != null) {
        for (MapSegment<K, V> s : segments) {
          s.attach(durability.log());
        }
      }
    } catch (RuntimeException | Error e) {
      for (MapSegment<K, V> s : segments) {
        if (s != null) {
          s.freeAll();
        }
      }
      throw e;
    }
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public MapSettings settings() {
    return settings;
  }

  boolean hasListener() {
    return listener != null;
  }

  // ---- the per-call context --------------------------------------------------------------------

  /** Per-thread buffers: the encoded key of the current call and a buffer for block bytes. */
  static final class Scratch {
    byte[] key = new byte[64];
    MemorySegment keySegment = MemorySegment.ofArray(key);
    int keyLength;
    long hash;
    byte[] buffer = new byte[4096];
    MemorySegment bufferSegment = MemorySegment.ofArray(buffer);
    boolean inUse;
  }

  /** Encodes {@code key} into a scratch buffer (a fresh one if this thread's is in use) and hashes it. */
  private Scratch encodeKey(Object key) {
    Objects.requireNonNull(key, () -> "map '" + name + "': null keys are not allowed");
    K k = checkType(keys.type(), key, "key");
    MemorySegment encoded = keys.encode(k);
    long length = encoded.byteSize();
    if (length > memory.maxBlockSize()) {
      throw new IllegalArgumentException("map '" + name + "': key " + describe(key) + " encodes to " + length
          + " bytes; allowed at most max-block-size = " + memory.maxBlockSize());
    }
    Scratch s = SCRATCH.get();
    if (s.inUse) {
      s = new Scratch();
    }
    if (s.key.length < length) {
      s.key = new byte[(int) Math.max(length, s.key.length * 2L)];
      s.keySegment = MemorySegment.ofArray(s.key);
    }
    MemorySegment.copy(encoded, 0, s.keySegment, 0, length);
    s.keyLength = (int) length;
    s.hash = KeyHash.of(s.keySegment, length);
    s.inUse = true;
    return s;
  }

  private MapSegment<K, V> segmentOf(Scratch s) {
    return segments[(int) s.hash & segmentMask];
  }

  /** The segment of a key's hash. */
  int segmentIndex(long hash) {
    return (int) hash & segmentMask;
  }

  /** The map's clock (nanoseconds). */
  long now() {
    return ticker.getAsLong();
  }

  /** A record of this thread's call went to the log at {@code location}. */
  void appended(long location) {
    if (durability != null) {
      durability.appended(location);
    }
  }

  /** An I/O failure of the log, as the caller sees it. */
  java.io.UncheckedIOException logFailure(String doing, java.io.IOException e) {
    return durability != null ? durability.failure(doing, e)
        : new java.io.UncheckedIOException("map '" + name + "': " + doing + " failed: " + e.getMessage(), e);
  }

  /** The durable side, or null (tests). */
  MapDurability<K, V> durabilityForTests() {
    return durability;
  }

  /** A key for messages: quoted and cut to 80 characters. */
  String describeKey(K key) {
    return describe(key);
  }

  /** Decodes a value from its encoded bytes. */
  V decodeValueBytes(MemorySegment bytes) {
    return values.decode(bytes);
  }

  /** Locks {@code segment}; fails when the map is closed or the thread is inside a function of this segment. */
  private void lock(MapSegment<K, V> segment) {
    if (segment.lock.isHeldByCurrentThread()) {
      throw new IllegalStateException("map '" + name + "': a function passed to compute, merge or"
          + " computeIfAbsent called back into the map (not allowed: it runs under the map's lock)");
    }
    segment.lock.lock();
    if (segment.closed) {
      segment.lock.unlock();
      throw new MapClosedException(name);
    }
    segment.applyDemotions();
  }

  /** Unlocks, gives the scratch back (when the call had one) and tells the listener. */
  private void finish(MapSegment<K, V> segment, Scratch s, List<Removal<K, V>> removed) {
    segment.lock.unlock();
    if (s != null) {
      s.inUse = false;
    }
    if (durability != null) {
      durability.acknowledge(); // durability = always: the record is on the device before the call returns
    }
    if (removed != null && !removed.isEmpty()) {
      for (Removal<K, V> r : removed) {
        try {
          listener.onRemoval(r.key(), r.value(), r.cause());
        } catch (RuntimeException e) {
          LOG.log(Level.WARNING, "map '" + name + "': the removal listener failed (" + r.cause() + ")", e);
        }
      }
    }
  }

  private List<Removal<K, V>> removals() {
    return listener == null ? null : new ArrayList<>(2);
  }

  private MemorySegment encodeValue(Object value, Scratch s) {
    Objects.requireNonNull(value, () -> "map '" + name + "': null values are not allowed");
    V v = checkType(values.type(), value, "value");
    MemorySegment encoded = values.encode(v);
    long total = (s.keyLength > OffHeapIndex.INLINE_KEY ? s.keyLength : 0) + encoded.byteSize();
    if (encoded.byteSize() > Integer.MAX_VALUE || total > memory.maxBlockSize()) {
      throw new IllegalArgumentException("map '" + name + "': the value of key " + describeKey(s)
          + " encodes to " + encoded.byteSize() + " bytes, " + total + " with the key; allowed at most"
          + " max-block-size = " + memory.maxBlockSize() + " bytes per entry");
    }
    return encoded;
  }

  private <T> T checkType(Class<T> type, Object o, String what) {
    if (!type.isInstance(o)) {
      throw new ClassCastException("map '" + name + "': a " + what + " must be a " + type.getName() + ", found a "
          + o.getClass().getName());
    }
    return type.cast(o);
  }

  private String describeKey(Scratch s) {
    try {
      return describe(keys.decode(s.keySegment.asSlice(0, s.keyLength)));
    } catch (RuntimeException e) {
      return "(" + s.keyLength + " bytes)";
    }
  }

  private static String describe(Object o) {
    String text = o instanceof byte[] b ? "byte[" + b.length + "]" : String.valueOf(o);
    return text.length() > 80 ? "\"" + text.substring(0, 77) + "...\"" : "\"" + text + "\"";
  }

  // ---- block bytes ----------------------------------------------------------------------------

  private static MemorySegment buffer(Scratch s, long length) {
    if (length > s.buffer.length) {
      if (length > KEEP_BUFFER) {
        return MemorySegment.ofArray(new byte[(int) length]);
      }
      s.buffer = new byte[(int) Math.max(length, s.buffer.length * 2L)];
      s.bufferSegment = MemorySegment.ofArray(s.buffer);
    }
    return s.bufferSegment;
  }

  /** The whole block, copied out without restoring it when it is on NVMe. */
  MemorySegment peekBlock(long handle) {
    Scratch s = SCRATCH.get();
    MemorySegment dst = buffer(s, memory.size(handle));
    memory.control().copyOut(handle, dst);
    return dst;
  }

  /** The first {@code length} bytes of a block (a long key), read without restoring a spilled block. */
  MemorySegment keyPrefix(long handle, int length) {
    if (memory.isResident(handle)) {
      MemorySegment dst = buffer(SCRATCH.get(), length);
      memory.read(handle, 0, dst, 0, length);
      return dst;
    }
    return peekBlock(handle);
  }

  V decodeValue(long handle, long offset, int length, boolean restore) {
    if (!restore) {
      MemorySegment block = peekBlock(handle);
      return values.decode(block.asSlice(offset, length));
    }
    if (byteArrayValues) {
      byte[] out = new byte[length];
      memory.read(handle, offset, out, 0, length);
      @SuppressWarnings("unchecked")
      V v = (V) out;
      return v;
    }
    MemorySegment dst = buffer(SCRATCH.get(), length);
    memory.read(handle, offset, dst, 0, length);
    return values.decode(dst.asSlice(0, length));
  }

  K decodeInlineKey(OffHeapIndex index, int row, int length) {
    MemorySegment dst = buffer(SCRATCH.get(), OffHeapIndex.INLINE_KEY);
    index.copyInlineKey(row, dst);
    return keys.decode(dst.asSlice(0, length));
  }

  K decodeKey(MemorySegment bytes, int length) {
    return keys.decode(bytes.asSlice(0, length));
  }

  // ---- ConcurrentMap ----------------------------------------------------------------------------

  @Override
  public V get(Object key) {
    if (!keys.type().isInstance(key)) {
      Objects.requireNonNull(key, () -> "map '" + name + "': null keys are not allowed");
      return null;
    }
    Scratch s = encodeKey(key);
    MapSegment<K, V> seg = segmentOf(s);
    List<Removal<K, V>> removed = removals();
    lock(seg);
    try {
      long now = ticker.getAsLong();
      int row = seg.lookup(s.hash, s.keySegment, s.keyLength, now, removed);
      if (row < 0) {
        seg.misses++;
        return null;
      }
      return seg.read(row, now);
    } finally {
      finish(seg, s, removed);
    }
  }

  @Override
  public long getBytes(K key, MemorySegment dst) {
    Objects.requireNonNull(dst, "dst");
    Scratch s = encodeKey(key);
    MapSegment<K, V> seg = segmentOf(s);
    List<Removal<K, V>> removed = removals();
    lock(seg);
    try {
      long now = ticker.getAsLong();
      int row = seg.lookup(s.hash, s.keySegment, s.keyLength, now, removed);
      if (row < 0) {
        seg.misses++;
        return -1;
      }
      return seg.readBytes(row, now, dst);
    } finally {
      finish(seg, s, removed);
    }
  }

  @Override
  public boolean containsKey(Object key) {
    if (!keys.type().isInstance(key)) {
      Objects.requireNonNull(key, () -> "map '" + name + "': null keys are not allowed");
      return false;
    }
    Scratch s = encodeKey(key);
    MapSegment<K, V> seg = segmentOf(s);
    List<Removal<K, V>> removed = removals();
    lock(seg);
    try {
      return seg.lookup(s.hash, s.keySegment, s.keyLength, ticker.getAsLong(), removed) >= 0;
    } finally {
      finish(seg, s, removed);
    }
  }

  @Override
  public boolean isResident(K key) {
    Scratch s = encodeKey(key);
    MapSegment<K, V> seg = segmentOf(s);
    lock(seg);
    try {
      int row = seg.index.find(s.hash, s.keySegment, s.keyLength);
      return row >= 0 && seg.isResident(row);
    } finally {
      finish(seg, s, null);
    }
  }

  @Override
  public V put(K key, V value) {
    return write(key, value, Write.PUT, null);
  }

  @Override
  public void set(K key, V value) {
    write(key, value, Write.SET, null);
  }

  @Override
  public V putIfAbsent(K key, V value) {
    return write(key, value, Write.IF_ABSENT, null);
  }

  @Override
  public V replace(K key, V value) {
    return write(key, value, Write.IF_PRESENT, null);
  }

  @Override
  public boolean replace(K key, V oldValue, V newValue) {
    Objects.requireNonNull(oldValue, () -> "map '" + name + "': null values are not allowed");
    return write(key, newValue, Write.IF_EQUAL, oldValue) != null;
  }

  private enum Write { PUT, SET, IF_ABSENT, IF_PRESENT, IF_EQUAL }

  /**
   * The writes without a function. Returns the previous value for PUT, IF_ABSENT (the present value)
   * and IF_PRESENT; for IF_EQUAL the old value when it matched, else null; null for SET.
   */
  private V write(K key, V value, Write mode, V expected) {
    Scratch s = encodeKey(key);
    MapSegment<K, V> seg = segmentOf(s);
    List<Removal<K, V>> removed = removals();
    MemorySegment encodedExpected = null;
    MemorySegment encoded;
    try {
      if (mode == Write.IF_EQUAL) {
        // A copy: the codec may reuse its buffer for the new value.
        encodedExpected = MemorySegment.ofArray(encodeValue(expected, s).toArray(ValueLayout.JAVA_BYTE));
      }
      encoded = encodeValue(value, s);
    } catch (RuntimeException | Error e) {
      s.inUse = false;
      throw e;
    }
    // The block is written before the lock: see MapSegment.prepareBlock.
    long[] prepared = {0};
    try {
      prepared[0] = seg.prepareBlock(s.keySegment, s.keyLength, encoded, encoded.byteSize());
      lock(seg);
    } catch (RuntimeException | Error e) {
      if (prepared[0] != 0) {
        memory.free(prepared[0]);
      }
      s.inUse = false;
      throw e;
    }
    try {
      long now = ticker.getAsLong();
      int row = seg.lookup(s.hash, s.keySegment, s.keyLength, now, removed);
      if (row < 0) {
        if (mode == Write.IF_PRESENT || mode == Write.IF_EQUAL) {
          return null;
        }
        long handle = take(prepared);
        seg.insert(s.hash, s.keySegment, s.keyLength, encoded, encoded.byteSize(), now, removed, handle);
        return null;
      }
      V old;
      switch (mode) {
        case IF_ABSENT -> {
          return seg.read(row, now);
        }
        case IF_EQUAL -> {
          if (!seg.valueEquals(row, encodedExpected, encodedExpected.byteSize())) {
            return null;
          }
          old = expected;
        }
        case SET -> old = null;
        default -> old = seg.peek(row);
      }
      seg.replace(row, encoded, encoded.byteSize(), now, removed, listener != null, take(prepared));
      return old;
    } finally {
      if (prepared[0] != 0) {
        memory.free(prepared[0]); // not used: the key was absent, or present, as the mode needed it not to be
      }
      finish(seg, s, removed);
    }
  }

  /** The prepared block, handed over (the caller owns it now; nothing is left to free). */
  private static long take(long[] prepared) {
    long h = prepared[0];
    prepared[0] = 0;
    return h;
  }

  @Override
  public V remove(Object key) {
    return removeKey(key, true, null);
  }

  @Override
  public boolean delete(K key) {
    Objects.requireNonNull(key, () -> "map '" + name + "': null keys are not allowed");
    return removeKey(key, false, null) != null;
  }

  @Override
  public boolean remove(Object key, Object value) {
    Objects.requireNonNull(value, () -> "map '" + name + "': null values are not allowed");
    if (!values.type().isInstance(value)) {
      return false;
    }
    return removeKey(key, false, values.type().cast(value)) != null;
  }

  /**
   * Removes the key's entry (only when its value encodes as {@code expected}, if given). Returns the
   * old value when {@code wantValue}, else a non-null marker for "removed", or null when nothing was.
   */
  @SuppressWarnings("unchecked")
  private V removeKey(Object key, boolean wantValue, V expected) {
    if (!keys.type().isInstance(key)) {
      Objects.requireNonNull(key, () -> "map '" + name + "': null keys are not allowed");
      return null;
    }
    Scratch s = encodeKey(key);
    MapSegment<K, V> seg = segmentOf(s);
    List<Removal<K, V>> removed = removals();
    MemorySegment encodedExpected;
    try {
      encodedExpected = expected == null ? null : encodeValue(expected, s);
      lock(seg);
    } catch (RuntimeException | Error e) {
      s.inUse = false;
      throw e;
    }
    try {
      int row = seg.lookup(s.hash, s.keySegment, s.keyLength, ticker.getAsLong(), removed);
      if (row < 0 || (encodedExpected != null && !seg.valueEquals(row, encodedExpected, encodedExpected.byteSize()))) {
        return null;
      }
      V old = wantValue ? seg.peek(row) : (V) Boolean.TRUE;
      seg.remove(row, RemovalCause.EXPLICIT, removed);
      return old;
    } finally {
      finish(seg, s, removed);
    }
  }

  @Override
  public V computeIfAbsent(K key, Function<? super K, ? extends V> mapping) {
    Objects.requireNonNull(mapping, "mapping");
    return compute(key, null, mapping, true);
  }

  @Override
  public V computeIfPresent(K key, BiFunction<? super K, ? super V, ? extends V> remapping) {
    Objects.requireNonNull(remapping, "remapping");
    return compute(key, remapping, null, false);
  }

  @Override
  public V compute(K key, BiFunction<? super K, ? super V, ? extends V> remapping) {
    Objects.requireNonNull(remapping, "remapping");
    return compute(key, remapping, k -> remapping.apply(k, null), false);
  }

  @Override
  public V merge(K key, V value, BiFunction<? super V, ? super V, ? extends V> remapping) {
    Objects.requireNonNull(value, () -> "map '" + name + "': null values are not allowed");
    Objects.requireNonNull(remapping, "remapping");
    return compute(key, (k, old) -> remapping.apply(old, value), k -> value, false);
  }

  /**
   * The compute family under one lock: {@code present} maps a present value (returning null removes
   * the entry; a null function keeps it, for computeIfAbsent),
   * {@code absent} makes a value for an absent key (null: none; null function: leave it absent).
   * {@code load} marks computeIfAbsent, whose absent case is a miss and a load.
   */
  private V compute(K key, BiFunction<? super K, ? super V, ? extends V> present, Function<? super K, ? extends V> absent,
      boolean load) {
    Scratch s = encodeKey(key);
    MapSegment<K, V> seg = segmentOf(s);
    List<Removal<K, V>> removed = removals();
    try {
      lock(seg);
    } catch (RuntimeException | Error e) {
      s.inUse = false;
      throw e;
    }
    try {
      long now = ticker.getAsLong();
      int row = seg.lookup(s.hash, s.keySegment, s.keyLength, now, removed);
      if (row < 0) {
        if (absent == null) {
          return null;
        }
        long start = load ? System.nanoTime() : 0;
        V made = absent.apply(key);
        if (load) {
          seg.loads++;
          seg.loadNanos += System.nanoTime() - start;
          seg.misses++;
        }
        if (made == null) {
          return null;
        }
        MemorySegment encoded = encodeValue(made, s);
        seg.insert(s.hash, s.keySegment, s.keyLength, encoded, encoded.byteSize(), now, removed);
        return made;
      }
      V old = seg.read(row, now);
      if (present == null) {
        return old; // computeIfAbsent of a present key
      }
      V next = present.apply(key, old);
      if (next == null) {
        seg.remove(row, RemovalCause.EXPLICIT, removed);
        return null;
      }
      // Written even when the function returned the instance it was given: it may have changed it.
      MemorySegment encoded = encodeValue(next, s);
      seg.replace(row, encoded, encoded.byteSize(), now, removed, listener != null);
      return next;
    } finally {
      finish(seg, s, removed);
    }
  }

  @Override
  public Map<K, V> getAll(Iterable<? extends K> keysToRead) {
    Objects.requireNonNull(keysToRead, "keys");
    Map<K, V> out = new LinkedHashMap<>();
    for (K k : keysToRead) {
      V v = get(k);
      if (v != null) {
        out.put(k, v);
      }
    }
    return out;
  }

  @Override
  public void putAll(Map<? extends K, ? extends V> entries) {
    for (Map.Entry<? extends K, ? extends V> e : entries.entrySet()) {
      set(e.getKey(), e.getValue());
    }
  }

  @Override
  public int size() {
    long n = 0;
    for (MapSegment<K, V> seg : segments) {
      n += seg.index.size();
    }
    return (int) Math.min(Integer.MAX_VALUE, n);
  }

  @Override
  public boolean isEmpty() {
    for (MapSegment<K, V> seg : segments) {
      if (seg.index.size() > 0) {
        return false;
      }
    }
    return true;
  }

  @Override
  public void clear() {
    for (MapSegment<K, V> seg : segments) {
      List<Removal<K, V>> removed = removals();
      lock(seg);
      try {
        for (int row : seg.liveRows()) {
          seg.remove(row, RemovalCause.EXPLICIT, removed);
        }
      } finally {
        finish(seg, null, removed);
      }
    }
  }

  /** The value of {@code key} without counting a read or restoring its block; null when absent. */
  V peekValue(K key) {
    Scratch s = encodeKey(key);
    MapSegment<K, V> seg = segmentOf(s);
    lock(seg);
    try {
      int row = seg.index.find(s.hash, s.keySegment, s.keyLength);
      return row < 0 ? null : seg.peek(row);
    } finally {
      finish(seg, s, null);
    }
  }

  @Override
  public Set<Map.Entry<K, V>> entrySet() {
    return new EntryView<>(this);
  }

  /** The codec of keys (for the views). */
  MapCodec<K> keyCodec() {
    return keys;
  }

  /** The codec of values (for the views). */
  MapCodec<V> valueCodec() {
    return values;
  }

  /** How many segments (for the views). */
  int segmentCount() {
    return segments.length;
  }

  /** The keys of segment {@code index}, decoded under its lock (for the views). */
  List<K> keysOf(int index) {
    MapSegment<K, V> seg = segments[index];
    lock(seg);
    try {
      int[] rows = seg.liveRows();
      List<K> out = new ArrayList<>(rows.length);
      for (int row : rows) {
        out.add(seg.key(row));
      }
      return out;
    } finally {
      seg.lock.unlock();
    }
  }

  // ---- the rest of SpillMap ---------------------------------------------------------------------

  @Override
  public long demote(long bytes) {
    if (bytes < 0) {
      throw new IllegalArgumentException("map '" + name + "': demote(" + bytes + "): allowed bytes >= 0");
    }
    if (durability == null && memory.control().tierDirectories().isEmpty()) {
      throw new IllegalStateException("map '" + name + "': its allocator has no tier to demote to");
    }
    // Each segment gives its share first, starting one segment further on every call, then a second
    // round takes what is still wanted from whichever segments have it: asking segment 0 for everything
    // first would empty it, hot entries included, while colder entries of other segments stayed.
    int n = segments.length;
    int start = demoteStart.getAndIncrement();
    long share = Math.max(1, (bytes + n - 1) / n);
    long done = 0;
    for (int round = 0; round < 2 && done < bytes; round++) {
      for (int i = 0; i < n && done < bytes; i++) {
        long want = round == 0 ? Math.min(share, bytes - done) : bytes - done;
        done += demote(segments[(start + i) & segmentMask], want);
      }
    }
    if (durability != null && done > 0) {
      // A durable map's demotion frees blocks on this thread: left in its cache they would keep their
      // slabs mapped, and the budget would see nothing freed.
      memory.control().trimCurrentThreadCache();
    }
    return done;
  }

  /**
   * One segment's part of {@link #demote}: its candidates are picked under its lock, but spilled
   * after it is released, so that readers and writers of the segment never wait for the tier's write.
   * A candidate freed meanwhile fails only its own request (its handle is stale: a reused slot has a
   * new generation), and one read or written meanwhile stays resident: the allocator's spill
   * protocol sees to both.
   */
  private long demote(MapSegment<K, V> seg, long bytes) {
    long[][] candidates;
    if (!seg.lock.tryLock()) {
      return 0;
    }
    if (durability != null) {
      // The entries are in the log already: leaving RAM costs no write, so it happens under the lock.
      try {
        if (seg.closed) {
          throw new MapClosedException(name);
        }
        seg.applyDemotions();
        return seg.dropToLog(bytes);
      } finally {
        seg.lock.unlock();
      }
    }
    try {
      if (seg.closed) {
        throw new MapClosedException(name);
      }
      candidates = seg.demotionCandidates(bytes);
    } finally {
      seg.lock.unlock();
    }
    if (candidates == null) {
      return 0;
    }
    PreparedSpill group = memory.control().prepareSpill(candidates[1], 0, candidates[1].length);
    try {
      memory.control().writeSpills(List.of(group));
    } finally {
      group.abandon(); // a no-op once written; gives the blocks back if the write never happened
    }
    SpillReport report = group.report();
    if (report.spilled() == 0) {
      return 0;
    }
    // The order is brought up to date under the lock, but never by waiting for it: its holder may be
    // a writer waiting for the budget, which this very spill is making room in (the budget is freed
    // only when the control plane's round, which runs this, has ended). Whoever locks next does it.
    seg.pendingDemotions.add(new MapSegment.Demoted(candidates, report.spilled()));
    if (seg.lock.tryLock()) {
      try {
        seg.applyDemotions();
      } finally {
        seg.lock.unlock();
      }
    }
    return report.rawBytes();
  }

  @Override
  public SnapshotInfo snapshot(java.nio.file.Path dest) {
    Objects.requireNonNull(dest, "dest");
    if (durability == null) {
      throw new UnsupportedOperationException("map '" + name + "' is not durable: only a durable map (spillway.maps."
          + name + ".durable = true) has files to snapshot");
    }
    if (closed) {
      throw new MapClosedException(name);
    }
    return durability.snapshot(dest);
  }

  @Override
  public void sync() {
    if (closed) {
      throw new MapClosedException(name);
    }
    if (durability != null && !durability.log().readOnly()) {
      durability.sync();
    }
  }

  @Override
  public void cleanUp() {
    for (MapSegment<K, V> seg : segments) {
      List<Removal<K, V>> removed = removals();
      lock(seg);
      try {
        seg.expireAll(ticker.getAsLong(), removed);
      } finally {
        finish(seg, null, removed);
      }
    }
  }

  @Override
  public MapStats stats() {
    long entries = 0;
    long l1Entries = 0;
    long[] c = new long[12];
    long indexBytes = 0;
    for (MapSegment<K, V> seg : segments) {
      lock(seg);
      try {
        entries += seg.index.size();
        l1Entries += seg.l1Size();
        indexBytes += seg.index.offHeapBytes();
        long[] mine = {seg.l1Hits, seg.l2Hits, seg.l3Hits, seg.misses, seg.puts, seg.removals, seg.evictions,
            seg.expirations, seg.promotions, seg.demotions, seg.loads, seg.loadNanos};
        for (int i = 0; i < c.length; i++) {
          c[i] += mine[i];
        }
      } finally {
        seg.lock.unlock();
      }
    }
    return new MapStats(name, entries, l1Entries, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10],
        c[11], indexBytes);
  }

  @Override
  public boolean isClosed() {
    return closed;
  }

  /** Closes the map as a crash would leave a durable map's directory: no last sync or checkpoint (tests). */
  synchronized void crashForTests() throws java.io.IOException {
    closed = true;
    forEachSegmentLocked(seg -> seg.closed = true);
    try {
      durability.crashForTests();
    } finally {
      forEachSegmentLocked(MapSegment::freeAll);
    }
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    // First no call gets in any more, then a durable map's last checkpoint, then the memory goes.
    forEachSegmentLocked(seg -> seg.closed = true);
    try {
      if (durability != null) {
        durability.close();
      }
    } finally {
      forEachSegmentLocked(MapSegment::freeAll);
    }
  }

  private void forEachSegmentLocked(java.util.function.Consumer<MapSegment<K, V>> action) {
    for (MapSegment<K, V> seg : segments) {
      seg.lock.lock();
      try {
        action.accept(seg);
      } finally {
        seg.lock.unlock();
      }
    }
  }

  @Override
  public String toString() {
    return "SpillMap[" + name + ", " + size() + " entries]";
  }
}
