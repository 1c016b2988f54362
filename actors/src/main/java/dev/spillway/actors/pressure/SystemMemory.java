package dev.spillway.actors.pressure;

/**
 * Host memory as {@code /proc/meminfo} reports it, in bytes (the kernel's {@code kB} are KiB).
 * {@code MemAvailable} is the kernel's estimate of what new work can get without swapping, page cache
 * it can drop included; it is the figure to watch, not {@code MemFree}.
 *
 * @param totalBytes {@code MemTotal}: usable physical RAM, always positive
 * @param availableBytes {@code MemAvailable}, never more than {@code totalBytes}
 */
public record SystemMemory(long totalBytes, long availableBytes) {

  public SystemMemory {
    if (totalBytes <= 0) {
      throw new IllegalArgumentException("totalBytes must be positive: " + totalBytes);
    }
    if (availableBytes < 0 || availableBytes > totalBytes) {
      throw new IllegalArgumentException(
          "availableBytes must be in 0.." + totalBytes + " (totalBytes): " + availableBytes);
    }
  }

  /** {@code availableBytes / totalBytes}, in [0, 1]. */
  public double availableFraction() {
    return (double) availableBytes / totalBytes;
  }
}
