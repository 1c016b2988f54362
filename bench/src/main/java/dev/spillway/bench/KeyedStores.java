package dev.spillway.bench;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.typesafe.config.ConfigFactory;
import dev.spillway.Spillway;
import dev.spillway.map.MapStats;
import dev.spillway.map.SpillMap;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import java.util.zip.CRC32C;
import org.caffinitas.ohc.CacheSerializer;
import org.caffinitas.ohc.OHCache;
import org.caffinitas.ohc.OHCacheBuilder;
import org.mapdb.DB;
import org.mapdb.DBMaker;
import org.mapdb.HTreeMap;
import org.mapdb.Serializer;

/**
 * The keyed sides of {@link TieredWorkload}: Spillway's {@link SpillMap} and the keyed peers, each
 * holding {@code Long} keys to 4 KiB {@code byte[]} values within the same memory budget.
 *
 * <p>{@code spillmap} and {@code mapdb} are stores: every value stays, in RAM or on disk. {@code
 * ohc} (off-heap) and {@code caffeine} (heap) are caches without a disk tier: a value they evicted is
 * made again ({@link TieredValues#fill}, the way a cache in front of a slower source reloads it) and
 * put back inside the timed read, and their misses are reported.
 */
final class KeyedStores {
  private KeyedStores() {}

  /**
   * {@code SpillMap<Long, byte[]>} in store mode, opened by the facade ({@code Spillway#map}): within
   * its budget, spilling to its tier, demoted first (in LRU order) when RAM must be freed. Side
   * {@code spillmap} reads with {@link SpillMap#getBytes} into the reader's buffer (no garbage); side
   * {@code spillmap-get} with {@link SpillMap#get}, a new array per read, as {@code Map} users do.
   */
  static final class SpillMapStore implements TieredStore {
    private final Spillway spillway;
    private final SpillMap<Long, byte[]> map;
    private final boolean intoBuffer;
    /** Per reader: its buffer and the segment over it (the reader passes the same buffer every time). */
    private final ThreadLocal<Object[]> views = ThreadLocal.withInitial(() -> new Object[2]);
    private volatile MapStats atReads;

    SpillMapStore(long budgetBytes, Path dir, boolean intoBuffer) {
      this.intoBuffer = intoBuffer;
      this.spillway = Spillway.create(ConfigFactory.parseString("spillway { control.budget = " + budgetBytes
          + " B, tier.directories = [\"" + dir.toAbsolutePath() + "\"], tier.durability = none }"));
      this.map = spillway.map("tiered", Long.class, byte[].class); // the control plane demotes it first
    }

    @Override
    public void put(int key, byte[] value) {
      map.set((long) key, value); // copied into the map's block
    }

    @Override
    public byte[] get(int key, byte[] scratch) {
      if (!intoBuffer) {
        return map.get((long) key);
      }
      Object[] view = views.get();
      if (!scratch.equals(view[0])) { // arrays compare by identity
        view[0] = scratch;
        view[1] = MemorySegment.ofArray(scratch);
      }
      return map.getBytes((long) key, (MemorySegment) view[1]) < 0 ? null : scratch;
    }

    @Override
    public void readsStart() {
      atReads = map.stats();
    }

    @Override
    public Map<String, String> figures() {
      MapStats now = map.stats();
      MapStats b = atReads;
      Map<String, String> f = new LinkedHashMap<>();
      f.put("entries", Long.toString(now.entries()));
      f.put("l2Hits", Long.toString(now.l2Hits() - b.l2Hits()));
      f.put("l3Hits", Long.toString(now.l3Hits() - b.l3Hits()));
      f.put("misses", Long.toString(now.misses() - b.misses()));
      f.put("indexMiB", Long.toString(now.offHeapIndexBytes() >> 20));
      return f;
    }

    @Override
    public void close() {
      map.close();
      spillway.close();
    }
  }

  /**
   * MapDB 3.1's two-level layout: an off-heap ({@code memoryDirectDB}) hash map bounded by its store
   * size (the budget), whose evicted entries overflow into a memory-mapped file map; a read of an
   * overflowed key loads it back. Entries queue by creation and by read, so eviction is in order of
   * last use. Eviction runs in the caller's thread, as MapDB does without an executor.
   */
  static final class MapDbStore implements TieredStore {
    private final DB disk;
    private final DB memory;
    private final HTreeMap<Long, byte[]> onDisk;
    private final HTreeMap<Long, byte[]> inMemory;

    MapDbStore(long budgetBytes, Path dir) {
      this.disk = DBMaker.fileDB(dir.resolve("mapdb.db").toFile()).fileMmapEnableIfSupported()
          .fileDeleteAfterClose().make();
      this.onDisk = disk.hashMap("disk", Serializer.LONG, Serializer.BYTE_ARRAY).createOrOpen();
      this.memory = DBMaker.memoryDirectDB().make();
      this.inMemory = memory.hashMap("memory", Serializer.LONG, Serializer.BYTE_ARRAY)
          .expireStoreSize(budgetBytes)
          .expireAfterCreate()
          .expireAfterGet()
          .expireOverflow(onDisk)
          .createOrOpen();
    }

    @Override
    public void put(int key, byte[] value) {
      inMemory.put((long) key, value.clone());
    }

    @Override
    public byte[] get(int key, byte[] scratch) {
      return inMemory.get((long) key);
    }

    @Override
    public Map<String, String> figures() {
      Map<String, String> f = new LinkedHashMap<>();
      f.put("inMemory", Integer.toString(inMemory.size()));
      f.put("onDisk", Integer.toString(onDisk.size()));
      return f;
    }

    @Override
    public void close() {
      memory.close();
      disk.close();
    }
  }

  /** What a cache does on a miss: make the value again and put it back. */
  abstract static class ReloadingCache implements TieredStore {
    private final TieredValues.Kind kind;
    private final LongAdder misses = new LongAdder();
    private final ThreadLocal<CRC32C> crc = ThreadLocal.withInitial(CRC32C::new);

    ReloadingCache(TieredValues.Kind kind) {
      this.kind = kind;
    }

    abstract byte[] lookup(long key);

    abstract void store(long key, byte[] value);

    @Override
    public final void put(int key, byte[] value) {
      store(key, value.clone());
    }

    @Override
    public final byte[] get(int key, byte[] scratch) {
      byte[] v = lookup(key);
      if (v == null) {
        misses.increment();
        v = new byte[TieredValues.SIZE];
        TieredValues.fill(key, kind, v, crc.get());
        store(key, v);
      }
      return v;
    }

    @Override
    public void readsStart() {
      misses.reset();
    }

    @Override
    public Map<String, String> figures() {
      Map<String, String> f = new LinkedHashMap<>();
      f.put("misses", Long.toString(misses.sum()));
      return f;
    }
  }

  /** OHC 0.7.4: an off-heap cache bounded by the budget (segmented, LRU), no disk tier. */
  static final class OhcStore extends ReloadingCache {
    private final OHCache<Long, byte[]> cache;

    OhcStore(long budgetBytes, TieredValues.Kind kind) {
      super(kind);
      this.cache = OHCacheBuilder.<Long, byte[]>newBuilder()
          .keySerializer(new LongSerializer())
          .valueSerializer(new BytesSerializer())
          .capacity(budgetBytes)
          .build();
    }

    @Override
    byte[] lookup(long key) {
      return cache.get(key);
    }

    @Override
    void store(long key, byte[] value) {
      cache.put(key, value);
    }

    @Override
    public void close() {
      try {
        cache.close();
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
  }

  /** Caffeine 3.3.1 on the heap: bounded by the budget in value bytes (W-TinyLFU), no disk tier. */
  static final class CaffeineStore extends ReloadingCache {
    private final Cache<Long, byte[]> cache;

    CaffeineStore(long budgetBytes, TieredValues.Kind kind) {
      super(kind);
      this.cache = Caffeine.newBuilder()
          .maximumWeight(budgetBytes)
          .weigher((Long k, byte[] v) -> v.length)
          .executor(Runnable::run)
          .build();
    }

    @Override
    byte[] lookup(long key) {
      return cache.getIfPresent(key);
    }

    @Override
    void store(long key, byte[] value) {
      cache.put(key, value);
    }

    @Override
    public void close() {
      cache.invalidateAll();
    }
  }

  private static final class LongSerializer implements CacheSerializer<Long> {
    @Override
    public void serialize(Long value, ByteBuffer buf) {
      buf.putLong(value);
    }

    @Override
    public Long deserialize(ByteBuffer buf) {
      return buf.getLong();
    }

    @Override
    public int serializedSize(Long value) {
      return Long.BYTES;
    }
  }

  private static final class BytesSerializer implements CacheSerializer<byte[]> {
    @Override
    public void serialize(byte[] value, ByteBuffer buf) {
      buf.putInt(value.length);
      buf.put(value);
    }

    @Override
    public byte[] deserialize(ByteBuffer buf) {
      byte[] out = new byte[buf.getInt()];
      buf.get(out);
      return out;
    }

    @Override
    public int serializedSize(byte[] value) {
      return Integer.BYTES + value.length;
    }
  }
}
