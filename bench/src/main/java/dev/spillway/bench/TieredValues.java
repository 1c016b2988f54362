package dev.spillway.bench;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Locale;
import java.util.zip.CRC32C;

/**
 * The values of {@link TieredWorkload}: 4 KiB, a function of the key alone, so every read can be
 * checked without keeping a copy. A value fails the check when it belongs to another key, or when
 * any byte of it is wrong (torn, stale slot, bad restore): the checksum covers every byte.
 *
 * <pre>
 *   offset 0     8            16                                        4092   4096
 *          +-----+------------+-----------------------------------------+------+
 *          | key | key * PHI  | payload: SplitMix64 stream seeded by key | CRC  |
 *          +-----+------------+-----------------------------------------+------+
 *   longs little-endian; CRC = CRC32C of bytes [0, 4092), little-endian int
 * </pre>
 *
 * {@link Kind#HALF_ZERO} payloads alternate 32 random and 32 zero bytes (the generator of
 * {@link SegmentLogWorkload}), which LZ4 stores in a little over half their size; {@link Kind#RANDOM}
 * payloads are random throughout (incompressible).
 */
final class TieredValues {
  /** Bytes of every value. */
  static final int SIZE = 4096;
  private static final int CRC_AT = SIZE - 4;
  private static final long PHI = 0x9E3779B97F4A7C15L;
  private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

  /** What the payload looks like. */
  enum Kind {
    /** 32 random bytes, 32 zero bytes, repeated: ~2:1 for LZ4. */
    HALF_ZERO("half-zero"),
    /** Random bytes throughout: incompressible. */
    RANDOM("random");

    final String option;

    Kind(String option) {
      this.option = option;
    }

    static Kind of(String option) {
      for (Kind k : values()) {
        if (k.option.equals(option)) {
          return k;
        }
      }
      throw new IllegalArgumentException("--values=" + option + ": allowed half-zero (~2:1 for LZ4), random");
    }
  }

  private TieredValues() {}

  /** Writes the value of {@code key} into {@code out[0, SIZE)}; {@code crc} is the caller's scratch. */
  static void fill(int key, Kind kind, byte[] out, CRC32C crc) {
    long state = (key + 1L) * PHI;
    for (int off = 0; off < SIZE; off += 8) {
      state += PHI;
      boolean zero = kind == Kind.HALF_ZERO && (off & 32) != 0;
      LONG.set(out, off, zero ? 0L : mix(state));
    }
    LONG.set(out, 0, (long) key);
    LONG.set(out, 8, key * PHI);
    crc.reset();
    crc.update(out, 0, CRC_AT);
    INT.set(out, CRC_AT, (int) crc.getValue());
  }

  /**
   * Checks that {@code value} is the value of {@code key}: the right length, the key in its header,
   * and a checksum that matches every byte. Throws, describing what is wrong, when it is not.
   */
  static void verify(int key, byte[] value, CRC32C crc) {
    if (value == null) {
      throw new IllegalStateException("key " + key + ": no value (the store lost it)");
    }
    if (value.length < SIZE) {
      throw new IllegalStateException("key " + key + ": value of " + value.length + " bytes, expected " + SIZE);
    }
    long header = (long) LONG.get(value, 0);
    long tie = (long) LONG.get(value, 8);
    crc.reset();
    crc.update(value, 0, CRC_AT);
    int stored = (int) INT.get(value, CRC_AT);
    if (header != key || tie != key * PHI || (int) crc.getValue() != stored) {
      throw new IllegalStateException(String.format(Locale.ROOT,
          "key %d read back wrong: header key %d (tie %s), crc32c of bytes [0, %d) %08x, stored %08x;"
              + " first 32 bytes %s", key, header, tie == header * PHI ? "consistent" : "inconsistent", CRC_AT,
          (int) crc.getValue(), stored, hex(value, 32)));
    }
  }

  /** SplitMix64's output function. */
  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  private static String hex(byte[] b, int n) {
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < Math.min(n, b.length); i++) {
      s.append(String.format(Locale.ROOT, "%02x", b[i]));
    }
    return s.toString();
  }
}
