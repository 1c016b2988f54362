package dev.spillway.map;

import dev.spillway.config.MapSettings;
import java.util.Collection;
import java.util.Map;
import java.util.concurrent.ConcurrentMap;

/**
 * A {@link ConcurrentMap} whose entries live off the Java heap: an optional on-heap level of decoded
 * values (L1), off-heap blocks within the memory budget (L2) and the NVMe segment log (L3). Reads
 * promote, pressure and idleness demote; its index is off-heap too, so a map of millions of entries
 * costs the garbage collector a few arrays.
 *
 * <p><b>Semantics.</b> Every method of {@code ConcurrentMap} is atomic per key, including {@code
 * putIfAbsent}, {@code replace}, the {@code compute*} family and {@code merge}, whose functions run
 * at most once per call, under the key's segment lock: they must be short and must not touch this map
 * (doing so fails with {@link IllegalStateException}). Iteration is weakly consistent, as {@code
 * ConcurrentHashMap}'s: it never fails with a concurrent modification, sees every entry present
 * throughout, and may or may not see entries added or removed meanwhile. {@code size()} is exact when
 * nothing is being written.
 *
 * <p><b>Keys and values are bytes.</b> They are encoded by a {@link MapCodec}; keys are equal when
 * their encodings are, and {@code remove(key, value)} and {@code replace(key, old, new)} compare
 * values by their encodings too (for {@code byte[]} values: by content, not identity). Every read
 * decodes a new value, except from the on-heap level, whose values are shared: do not modify them.
 *
 * <p><b>Bad input.</b> Null keys or values fail with {@link NullPointerException}; an entry whose key
 * and value together exceed the allocator's largest block, or a value its codec cannot encode (a
 * class not registered with Kryo), with {@link IllegalArgumentException} naming the map, the key and
 * the limit; any call after {@link #close()} with {@link MapClosedException}. A failed call changes
 * nothing.
 *
 * <p><b>Modes.</b> In {@code store} mode nothing is ever dropped; in {@code cache} mode the map stays
 * within its maximum (entries, or bytes of key and value) by evicting per its eviction policy, each
 * segment holding an equal share. See {@link MapSettings}.
 *
 * @param <K> key type
 * @param <V> value type
 */
public interface SpillMap<K, V> extends ConcurrentMap<K, V>, AutoCloseable {

  /** The map's name, as in {@code spillway.maps.<name>}. */
  String name();

  /** The settings it was opened with. */
  MapSettings settings();

  /**
   * Stores {@code value} under {@code key} without reading the previous value ({@link #put} must
   * return it, which may mean reading it back from NVMe).
   */
  void set(K key, V value);

  /**
   * Reads the value of {@code key} as its encoded bytes (for {@code byte[]} values: the value itself)
   * into {@code dst} from offset 0, creating no garbage: the read path for callers that keep a buffer.
   * Returns the value's length; when that exceeds {@code dst}'s size nothing is copied or counted and
   * the caller may retry with a larger buffer. Returns -1 when the key is absent. A read like {@link
   * #get} otherwise (statistics, policies, restore from NVMe), except that it does not fill the
   * on-heap level.
   */
  long getBytes(K key, java.lang.foreign.MemorySegment dst);

  /** Removes {@code key} without reading its value; true when it was present. */
  boolean delete(K key);

  /**
   * The values of those of {@code keys} that are present, in the keys' iteration order; absent keys
   * are left out.
   */
  Map<K, V> getAll(Iterable<? extends K> keys);

  /** Whether the entry of {@code key} is in RAM (on-heap or a resident block); false when absent. */
  boolean isResident(K key);

  /**
   * Sends resident entries to NVMe in demotion-policy order, coldest first, until about {@code bytes}
   * of their blocks were spilled or nothing more can go (entries whose blocks are under 1 KiB stay in
   * RAM: their record would cost more than it frees). Each segment gives its share (starting one
   * segment further on every call), then segments that have more give the rest, so that no segment is
   * emptied of hot entries while another keeps cold ones. Segments busy with another call are skipped.
   * Returns the bytes of the blocks spilled.
   *
   * @throws IllegalStateException when the map's allocator has no tier
   * @throws IllegalArgumentException when {@code bytes < 0}
   */
  long demote(long bytes);

  /** Removes expired entries now (they are otherwise removed as they are met, a few per write). */
  void cleanUp();

  /**
   * A durable map's point-in-time copy in {@code dest} (a new or empty directory, made 0700), taken
   * while writes go on: an index checkpoint, the log up to the point right after it (sealed segments
   * hard-linked where the file system allows, the rest copied) and a {@code MANIFEST} listing every
   * file with its size and SHA-256. Open it read-only ({@code read-only = true}), check it with
   * {@code spillway inspect --verify}, or restore it into a new directory.
   *
   * @throws UnsupportedOperationException when the map is not durable
   * @throws java.io.UncheckedIOException naming what failed (a destination that is not empty, a full disk)
   */
  SnapshotInfo snapshot(java.nio.file.Path dest);

  /**
   * A durable map: forces every write made so far to the device (with durability {@code none} or
   * {@code batch}, the way to make a point durable on demand). A map that is not durable does nothing.
   */
  void sync();

  /** Whether {@link #close()} was called. */
  boolean isClosed();

  /** A snapshot of the map's figures. */
  MapStats stats();

  /** The values of present entries, in the map's (unspecified) order; a weakly consistent view. */
  @Override
  Collection<V> values();

  /**
   * Frees every entry's memory and the index. Entries are not reported to the removal listener. Later
   * calls fail with {@link MapClosedException}; a second close does nothing.
   */
  @Override
  void close();
}
