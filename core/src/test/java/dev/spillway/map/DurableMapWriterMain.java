package dev.spillway.map;

import dev.spillway.config.MapSettings;
import dev.spillway.config.TierSettings.Durability;
import dev.spillway.memory.BlockAllocator;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * The child of {@link DurableMapCrashTest}: writes through a durable map until it is killed, printing
 * {@code BEGIN} before each operation and {@code ACK} once it returned (acknowledged). Arguments: map
 * directory, tier directory, durability, first version, seed.
 */
public final class DurableMapWriterMain {
  private DurableMapWriterMain() {}

  static final int KEYS = 1500;

  /** The value of {@code key} at {@code version}: its length and bytes follow from both. */
  static byte[] value(int key, long version) {
    SplittableRandom r = new SplittableRandom(key * 1_000_003L + version);
    byte[] b = new byte[r.nextInt(4000) + 1];
    r.nextBytes(b);
    return b;
  }

  static String key(int k) {
    return k % 2 == 0 ? "k" + k : "a/longer/key/that/does/not/fit/inline/" + k;
  }

  static SpillMap<String, byte[]> open(BlockAllocator memory, Path dir, Durability durability) {
    MapSettings settings = MapSettings.builder("crash").segments(4).durable(dir).build();
    settings = settings.withPersistence(settings.persistence().withDurability(durability).withSegmentSize(1 << 20)
        .withCheckpointInterval(1 << 20));
    return SpillMaps.builder(memory, "crash", String.class, byte[].class).settings(settings).build();
  }

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    Path tier = Path.of(args[1]);
    Durability durability = Durability.valueOf(args[2]);
    long version = Long.parseLong(args[3]);
    SplittableRandom random = new SplittableRandom(Long.parseLong(args[4]));
    PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), false,
        StandardCharsets.UTF_8);
    BlockAllocator memory = MapTestSupport.tiered(tier);
    SpillMap<String, byte[]> map = open(memory, dir, durability);
    out.println("OPEN " + map.size());
    out.flush();
    for (long op = 0; ; op++) {
      int k = random.nextInt(KEYS);
      long v = version++;
      boolean remove = random.nextInt(5) == 0;
      out.println("BEGIN " + (remove ? "R " : "P ") + k + " " + v);
      out.flush();
      if (remove) {
        map.remove(key(k));
      } else {
        map.put(key(k), value(k, v));
      }
      byte[] back = map.get(key(k));
      if (remove ? back != null : !java.util.Arrays.equals(back, value(k, v))) {
        out.println("BAD " + k + " " + v + " " + (back == null ? "null" : back.length));
        out.flush();
      }
      out.println("ACK");
      out.flush();
      if (op % 200 == 199) {
        map.demote(4L << 20);
      }
    }
  }
}
