package dev.spillway.actors.pressure;

import java.util.Objects;

/**
 * JVM direct memory: bytes reserved by direct {@code ByteBuffer}s (the {@code direct} buffer pool)
 * against the limit the JVM enforces on them. Spillway's slabs are not in this figure on Linux (they
 * are mapped with {@code mmap}, and FFM arena memory is not counted by the pool either); it shows
 * the direct buffers of I/O code, Netty and the like, whose exhaustion fails their allocations with
 * {@code OutOfMemoryError}.
 *
 * <p>The JVM's own limit ({@code jdk.internal.misc.VM.maxDirectMemory()}) is not accessible, so it is
 * reconstructed: the last {@code -XX:MaxDirectMemorySize} among the JVM's input arguments (which
 * include {@code JAVA_TOOL_OPTIONS}), else {@link Runtime#maxMemory()}, which is the JVM's own default.
 * A limit set only through {@code -XX:Flags} or {@code -XX:VMOptionsFile} is not seen and reads as
 * the default.
 *
 * @param usedBytes bytes reserved by the {@code direct} pool
 * @param limitBytes the limit, always positive
 * @param limitOrigin where {@code limitBytes} came from
 */
public record DirectMemory(long usedBytes, long limitBytes, LimitOrigin limitOrigin) {

  /** Where the direct-memory limit was found. */
  public enum LimitOrigin {
    /** {@code -XX:MaxDirectMemorySize} among the JVM's input arguments. */
    COMMAND_LINE,
    /** No (or a zero) {@code -XX:MaxDirectMemorySize}: the JVM defaults to the maximum heap size. */
    HEAP_MAX
  }

  public DirectMemory {
    Objects.requireNonNull(limitOrigin, "limitOrigin");
    if (usedBytes < 0) {
      throw new IllegalArgumentException("usedBytes must not be negative: " + usedBytes);
    }
    if (limitBytes <= 0) {
      throw new IllegalArgumentException("limitBytes must be positive: " + limitBytes);
    }
  }

  /** {@code usedBytes / limitBytes}. */
  public double usedFraction() {
    return (double) usedBytes / limitBytes;
  }
}
