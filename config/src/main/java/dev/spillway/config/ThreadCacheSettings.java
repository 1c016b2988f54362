package dev.spillway.config;

/**
 * Bounds of the per-thread magazines ({@code spillway.memory.thread-cache}).
 *
 * @param enabled whether small-class allocations go through per-thread magazines
 * @param maxBlocksPerClass most blocks one magazine holds
 * @param maxBytesPerClass most bytes one magazine holds; the smaller bound wins, never under 2 blocks
 */
public record ThreadCacheSettings(boolean enabled, int maxBlocksPerClass, long maxBytesPerClass) {

  static ThreadCacheSettings read(ConfigReader cache) {
    return new ThreadCacheSettings(
        cache.flag("enabled"),
        (int) cache.count("max-blocks-per-class", 2, 1024),
        cache.bytes("max-bytes-per-class", 1L << 10, 16L << 20));
  }

  /** Magazine capacity for blocks of {@code blockSize} bytes. */
  public int capacityFor(long blockSize) {
    long byBytes = maxBytesPerClass / blockSize;
    return (int) Math.max(2, Math.min(maxBlocksPerClass, byBytes));
  }
}
