package dev.spillway.map;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * The entry set of an {@link OffHeapSpillMap}, and through {@code AbstractMap} its key set and
 * values. Weakly consistent: the iterator takes one segment's keys at a time under its lock, then
 * reads each value as it is reached (skipping keys removed meanwhile), without restoring blocks that
 * are on NVMe; {@code remove} and an entry's {@code setValue} write through to the map.
 */
final class EntryView<K, V> extends AbstractSet<Map.Entry<K, V>> {
  private final OffHeapSpillMap<K, V> map;

  EntryView(OffHeapSpillMap<K, V> map) {
    this.map = map;
  }

  @Override
  public Iterator<Map.Entry<K, V>> iterator() {
    return new EntryIterator();
  }

  @Override
  public int size() {
    return map.size();
  }

  @Override
  public boolean isEmpty() {
    return map.isEmpty();
  }

  @Override
  public void clear() {
    map.clear();
  }

  @Override
  public boolean contains(Object o) {
    MapCodec<K> keys = map.keyCodec();
    MapCodec<V> values = map.valueCodec();
    if (!(o instanceof Map.Entry<?, ?> e) || e.getKey() == null || !keys.type().isInstance(e.getKey())) {
      return false;
    }
    V v = map.peekValue(keys.type().cast(e.getKey()));
    return v != null && e.getValue() != null && values.type().isInstance(e.getValue())
        && sameBytes(values, v, values.type().cast(e.getValue()));
  }

  @Override
  public boolean remove(Object o) {
    return o instanceof Map.Entry<?, ?> e && e.getKey() != null && e.getValue() != null
        && map.remove(e.getKey(), e.getValue());
  }

  /** Values compare by their encodings, as the map's do. */
  private static <V> boolean sameBytes(MapCodec<V> values, V a, V b) {
    byte[] first = values.encode(a).toArray(ValueLayout.JAVA_BYTE);
    MemorySegment second = values.encode(b);
    return MemorySegment.mismatch(MemorySegment.ofArray(first), 0, first.length, second, 0, second.byteSize()) == -1;
  }

  private final class EntryIterator implements Iterator<Map.Entry<K, V>> {
    private int nextSegment;
    private List<K> batch = List.of();
    private int position;
    private Map.Entry<K, V> next;
    private K lastKey;

    @Override
    public boolean hasNext() {
      while (next == null) {
        if (position < batch.size()) {
          K k = batch.get(position++);
          V v = map.peekValue(k);
          if (v != null) {
            next = new MapEntry(k, v);
          }
        } else if (nextSegment < map.segmentCount()) {
          batch = map.keysOf(nextSegment++);
          position = 0;
        } else {
          return false;
        }
      }
      return true;
    }

    @Override
    public Map.Entry<K, V> next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      Map.Entry<K, V> e = next;
      next = null;
      lastKey = e.getKey();
      return e;
    }

    @Override
    public void remove() {
      if (lastKey == null) {
        throw new IllegalStateException("next() was not called, or remove() was called already");
      }
      map.delete(lastKey);
      lastKey = null;
    }
  }

  /** An entry of the iteration; {@code setValue} writes through to the map. */
  private final class MapEntry extends AbstractMap.SimpleEntry<K, V> {
    private static final long serialVersionUID = 1L;

    MapEntry(K key, V value) {
      super(key, value);
    }

    @Override
    public V setValue(V value) {
      V old = super.setValue(value);
      map.set(getKey(), value);
      return old;
    }
  }
}
