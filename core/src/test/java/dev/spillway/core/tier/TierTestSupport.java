package dev.spillway.core.tier;

import dev.spillway.config.CodecSettings;
import dev.spillway.config.TierSettings;
import dev.spillway.config.TierSettings.Durability;
import dev.spillway.codec.Codecs;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

/** Settings, codecs and payloads shared by the tier tests. */
final class TierTestSupport {
  static final Codecs CODECS = Codecs.from(new CodecSettings(0.10, List.of()));

  private TierTestSupport() {}

  static TierSettings settings(Path dir) {
    return new TierSettings(List.of(dir), 1L << 20, Durability.BATCH, 0.5);
  }

  static TierSettings settings(Path dir, long segmentSize, Durability durability) {
    return new TierSettings(List.of(dir), segmentSize, durability, 0.5);
  }

  /** Deterministic payload for {@code key}: random bytes, or text-like bytes when {@code compressible}. */
  static byte[] payload(long key, int size, boolean compressible) {
    byte[] b = new byte[size];
    Random r = new Random(key * 31 + size);
    if (compressible) {
      String text = "key " + key + " spills to the NVMe tier; ";
      for (int i = 0; i < size; i++) {
        b[i] = (byte) text.charAt(i % text.length());
      }
      if (size > 0) {
        b[r.nextInt(size)] = (byte) r.nextInt();
      }
    } else {
      r.nextBytes(b);
    }
    return b;
  }
}
