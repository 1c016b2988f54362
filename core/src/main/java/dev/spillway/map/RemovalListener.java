package dev.spillway.map;

/**
 * Told of every entry that leaves a map or has its value replaced, with the cause. Called on the
 * thread whose call caused the removal, after the map's locks are released and in the order the
 * removals happened on that thread; an exception it throws is logged and swallowed, never undoing the
 * removal. The value is decoded from storage for the call, even when it had gone to NVMe.
 *
 * @param <K> key type
 * @param <V> value type
 */
@FunctionalInterface
public interface RemovalListener<K, V> {
  void onRemoval(K key, V value, RemovalCause cause);
}
