package dev.spillway.core.tier;

import static dev.spillway.core.tier.TierTestSupport.*;

import dev.spillway.config.TierSettings.Durability;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The child JVM of {@link CrashConsistencyTest}: appends batches forever with durability {@code batch}
 * and prints {@code ACK <key>} for every record of a batch once {@code append} has returned (the batch
 * is forced), until the parent kills it. Arguments: directory, first key.
 */
public final class CrashWriterMain {
  private CrashWriterMain() {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    long key = Long.parseLong(args[1]);
    Random r = new Random(key);
    try (SegmentLog log = SegmentLog.open(settings(dir, 1L << 20, Durability.BATCH), CODECS)) {
      System.out.println("OPEN " + log.recoveryReport().corrupt().size());
      System.out.flush();
      while (true) {
        List<Write> batch = new ArrayList<>();
        List<Long> keys = new ArrayList<>();
        for (int i = 1 + r.nextInt(8); i > 0; i--) {
          batch.add(Write.of(key, 0, key % 2 == 0 ? CODECS.lz4() : CODECS.raw(), crashPayload(key)));
          keys.add(key++);
        }
        log.append(batch);
        StringBuilder acks = new StringBuilder();
        for (long k : keys) {
          acks.append("ACK ").append(k).append('\n');
        }
        System.out.print(acks);
        System.out.flush();
      }
    }
  }

  /** The payload of {@code key}: sizes up to 64 KiB, so a kill often lands inside a write. */
  static byte[] crashPayload(long key) {
    return payload(key, (int) ((key * 7919) % (64 << 10)), key % 2 == 0);
  }
}
