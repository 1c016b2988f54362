package dev.spillway.actors.pressure;

import dev.spillway.actors.pressure.DirectMemory.LimitOrigin;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Reads this JVM's direct memory: use from the {@code direct} {@link BufferPoolMXBean}, limit from the
 * last {@code -XX:MaxDirectMemorySize} among the input arguments or else {@link Runtime#maxMemory()}
 * (see {@link DirectMemory} for why the limit has to be reconstructed).
 */
final class JvmDirectMemory {
  static final String FLAG = "-XX:MaxDirectMemorySize=";

  private JvmDirectMemory() {}

  /** This JVM's direct memory, or why it cannot be read. */
  static Reading<DirectMemory> read() {
    Optional<BufferPoolMXBean> pool = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
        .filter(p -> p.getName().equals("direct"))
        .findFirst();
    if (pool.isEmpty()) {
      return Reading.absent("the JVM has no \"direct\" BufferPoolMXBean");
    }
    return of(pool.get().getMemoryUsed(), ManagementFactory.getRuntimeMXBean().getInputArguments(),
        Runtime.getRuntime().maxMemory());
  }

  /** The reading for a pool using {@code usedBytes}, given the JVM's arguments and maximum heap. */
  static Reading<DirectMemory> of(long usedBytes, List<String> inputArguments, long heapMaxBytes) {
    if (usedBytes < 0) {
      return Reading.absent("the direct buffer pool does not report its use (" + usedBytes + ")");
    }
    long flag;
    try {
      flag = maxDirectMemoryFlag(inputArguments);
    } catch (SourceException e) {
      return Reading.absent(e.getMessage());
    }
    // 0, like no flag at all, makes the JVM fall back to the maximum heap size.
    if (flag > 0) {
      return Reading.present(new DirectMemory(usedBytes, flag, LimitOrigin.COMMAND_LINE));
    }
    if (heapMaxBytes <= 0) {
      return Reading.absent("no -XX:MaxDirectMemorySize and Runtime.maxMemory() is " + heapMaxBytes);
    }
    return Reading.present(new DirectMemory(usedBytes, heapMaxBytes, LimitOrigin.HEAP_MAX));
  }

  /** The value of the last {@code -XX:MaxDirectMemorySize}, in bytes; 0 when there is none. */
  static long maxDirectMemoryFlag(List<String> inputArguments) throws SourceException {
    String value = null;
    for (String argument : inputArguments) {
      if (argument.startsWith(FLAG)) {
        value = argument.substring(FLAG.length()); // the JVM applies the last one
      }
    }
    return value == null ? 0 : size(value);
  }

  /**
   * A size in HotSpot's syntax: decimal, or hexadecimal after {@code 0x}, then optionally one of
   * {@code k m g t} in either case. The JVM refused to start on anything else, so a value this parser
   * cannot read means the syntax grew; the reading is then absent rather than guessed.
   */
  static long size(String value) throws SourceException {
    String digits = value;
    long unit = 1;
    if (!digits.isEmpty()) {
      unit = switch (Character.toLowerCase(digits.charAt(digits.length() - 1))) {
        case 'k' -> 1L << 10;
        case 'm' -> 1L << 20;
        case 'g' -> 1L << 30;
        case 't' -> 1L << 40;
        default -> 1;
      };
      if (unit > 1) {
        digits = digits.substring(0, digits.length() - 1);
      }
    }
    int radix = 10;
    if (digits.toLowerCase(Locale.ROOT).startsWith("0x")) {
      radix = 16;
      digits = digits.substring(2);
    }
    if (digits.isEmpty() || !inRadix(digits, radix)) {
      throw new SourceException("cannot read " + FLAG + value + ": not a size");
    }
    try {
      return Math.multiplyExact(Long.parseLong(digits, radix), unit);
    } catch (NumberFormatException | ArithmeticException e) {
      throw new SourceException(FLAG + value + " is beyond " + Long.MAX_VALUE + " bytes");
    }
  }

  private static boolean inRadix(String digits, int radix) {
    for (int i = 0; i < digits.length(); i++) {
      char c = digits.charAt(i);
      // ASCII only: Character.digit would also accept digits of other scripts.
      boolean ok = (c >= '0' && c <= '9') || (radix == 16 && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));
      if (!ok) {
        return false;
      }
    }
    return true;
  }
}
