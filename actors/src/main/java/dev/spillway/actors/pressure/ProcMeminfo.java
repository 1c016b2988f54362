package dev.spillway.actors.pressure;

import java.nio.file.Path;

/**
 * Reads {@code MemTotal} and {@code MemAvailable} from {@code <root>/proc/meminfo}. Both lines must
 * be present exactly once, in the kernel's form {@code Key:<spaces><decimal> kB}; the reading is absent
 * otherwise, and when the figures are inconsistent (a zero total, more available than total).
 */
final class ProcMeminfo {
  /** A real meminfo is about 1.5 KiB; anything far larger is not one. */
  static final int MAX_BYTES = 64 * 1024;

  private static final String TOTAL = "MemTotal";
  private static final String AVAILABLE = "MemAvailable";

  private ProcMeminfo() {}

  /** The host's RAM, or why it cannot be read. */
  static Reading<SystemMemory> read(Path root) {
    Path file = root.resolve("proc/meminfo");
    try {
      return Reading.present(parse(KernelFiles.read(file, MAX_BYTES), file));
    } catch (SourceException e) {
      return Reading.absent(e.getMessage());
    }
  }

  /** Parses the content of {@code file}. */
  static SystemMemory parse(String content, Path file) throws SourceException {
    long total = -1;
    long available = -1;
    for (String line : content.split("\n", -1)) {
      if (line.startsWith(TOTAL + ":")) {
        total = once(total, kibibytes(line, TOTAL, file), TOTAL, file);
      } else if (line.startsWith(AVAILABLE + ":")) {
        available = once(available, kibibytes(line, AVAILABLE, file), AVAILABLE, file);
      }
    }
    if (total < 0) {
      throw new SourceException("no " + TOTAL + " in " + file);
    }
    if (available < 0) {
      throw new SourceException("no " + AVAILABLE + " in " + file + " (Linux before 3.14 does not report it)");
    }
    if (total == 0) {
      throw new SourceException(TOTAL + " is 0 in " + file);
    }
    if (available > total) {
      throw new SourceException(AVAILABLE + " (" + available + " bytes) exceeds " + TOTAL + " (" + total
          + " bytes) in " + file);
    }
    return new SystemMemory(total, available);
  }

  private static long once(long previous, long value, String key, Path file) throws SourceException {
    if (previous >= 0) {
      throw new SourceException(key + " appears more than once in " + file);
    }
    return value;
  }

  /** The value of a {@code Key:   123 kB} line, in bytes. */
  private static long kibibytes(String line, String key, Path file) throws SourceException {
    String value = line.substring(key.length() + 1);
    int start = 0;
    while (start < value.length() && value.charAt(start) == ' ') {
      start++;
    }
    value = value.substring(start);
    if (!value.endsWith(" kB")) {
      throw new SourceException(key + " in " + file + " is not in kB: " + KernelFiles.quote(line));
    }
    long kib = KernelFiles.byteCount(value.substring(0, value.length() - 3), key + " in " + file);
    try {
      return Math.multiplyExact(kib, 1024L);
    } catch (ArithmeticException e) {
      throw new SourceException(key + " in " + file + " (" + kib + " kB) overflows a byte count");
    }
  }
}
