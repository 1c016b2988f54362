package dev.spillway.config;

/** Formats byte counts the way the configuration writes them: {@code 8 B}, {@code 4 KiB}, {@code 1.5 MiB}. */
public final class Sizes {
  private static final String[] UNITS = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};

  private Sizes() {}

  /** A short human form: whole numbers when exact, one decimal otherwise. */
  public static String format(long bytes) {
    if (bytes < 0) {
      return "-" + format(-bytes);
    }
    int unit = 0;
    double value = bytes;
    while (value >= 1024 && unit < UNITS.length - 1) {
      value /= 1024;
      unit++;
    }
    if (value == Math.rint(value)) {
      return (long) value + " " + UNITS[unit];
    }
    return String.format(java.util.Locale.ROOT, "%.1f %s", value, UNITS[unit]);
  }

  /** The compact form used as a size-class key in configuration: {@code 64B}, {@code 4KiB}. */
  public static String classKey(long bytes) {
    if (bytes >= 1L << 20 && bytes % (1L << 20) == 0) {
      return (bytes >> 20) + "MiB";
    }
    if (bytes >= 1L << 10 && bytes % (1L << 10) == 0) {
      return (bytes >> 10) + "KiB";
    }
    return bytes + "B";
  }
}
