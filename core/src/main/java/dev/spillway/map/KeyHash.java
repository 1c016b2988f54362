package dev.spillway.map;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * A 64-bit hash of key bytes: eight bytes at a time through multiply-rotate rounds, finished by
 * MurmurHash3's 64-bit mixer, so that every input bit moves every output bit. The low bits pick a
 * map's segment, the high 32 its slot and tag in the segment's table, and policies with a frequency
 * sketch hash it again; all of them need well-spread bits, which a plain {@code Arrays.hashCode} of
 * small integer keys would not give. Not cryptographic: a map is not meant to face keys chosen to
 * collide (the index then degrades to longer probes, never to wrong answers).
 */
final class KeyHash {
  private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final long P1 = 0x9E3779B185EBCA87L;
  private static final long P2 = 0xC2B2AE3D27D4EB4FL;
  private static final long P3 = 0x165667B19E3779F9L;

  private KeyHash() {}

  /** The hash of {@code bytes[0, length)}. */
  static long of(MemorySegment bytes, long length) {
    long h = P3 ^ (length * P1);
    long i = 0;
    for (; i + 8 <= length; i += 8) {
      h = Long.rotateLeft(h ^ (bytes.get(LONG, i) * P2), 31) * P1;
    }
    if (i < length) {
      long tail = 0;
      for (int shift = 0; i < length; i++, shift += 8) {
        tail |= (bytes.get(ValueLayout.JAVA_BYTE, i) & 0xFFL) << shift;
      }
      h = Long.rotateLeft(h ^ (tail * P2), 27) * P1;
    }
    return mix(h);
  }

  /** MurmurHash3's fmix64. */
  static long mix(long h) {
    h ^= h >>> 33;
    h *= 0xFF51AFD7ED558CCDL;
    h ^= h >>> 33;
    h *= 0xC4CEB9FE1A85EC53L;
    h ^= h >>> 33;
    return h;
  }
}
