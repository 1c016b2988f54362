package dev.spillway.map;

import static org.assertj.core.api.Assertions.assertThat;

import dev.spillway.config.MapSettings;
import dev.spillway.memory.BlockAllocator;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A randomized model test: every operation of {@code ConcurrentMap} applied to a {@link SpillMap}
 * and to a {@link ConcurrentHashMap} alike, on one thread, with demotions to NVMe mixed in, must give
 * the same answers and leave the same contents. Keys are strings of 1 to 40 bytes, so both inline
 * keys and keys stored in the entry's block are exercised; values are 0 B to 6 KiB.
 */
class SpillMapModelTest {
  @TempDir Path dir;

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8})
  void everyOperationAgreesWithConcurrentHashMap(long seed) {
    BlockAllocator memory = MapTestSupport.tiered(dir);
    SpillMap<String, byte[]> map = SpillMaps.builder(memory, "model", String.class, byte[].class)
        .settings(MapSettings.builder("model").segments(seed % 2 == 0 ? 1 : 8).build())
        .build();
    Map<String, byte[]> model = new ConcurrentHashMap<>();
    SplittableRandom r = new SplittableRandom(seed);
    try {
      for (int op = 0; op < 6000; op++) {
        String k = key(r);
        byte[] v = value(r);
        switch (r.nextInt(16)) {
          case 0 -> assertSame(map.put(k, v), model.put(k, v), op, "put");
          case 1 -> {
            map.set(k, v);
            model.put(k, v);
          }
          case 2, 3 -> assertSame(map.get(k), model.get(k), op, "get");
          case 4 -> assertSame(map.remove(k), model.remove(k), op, "remove");
          case 5 -> assertThat(map.delete(k)).as("op %d delete", op).isEqualTo(model.remove(k) != null);
          case 6 -> assertSame(map.putIfAbsent(k, v), model.putIfAbsent(k, v), op, "putIfAbsent");
          case 7 -> assertSame(map.replace(k, v), model.replace(k, v), op, "replace");
          case 8 -> {
            byte[] expected = r.nextBoolean() && model.containsKey(k) ? model.get(k).clone() : value(r);
            boolean fromModel = replaceByContent(model, k, expected, v);
            assertThat(map.replace(k, expected, v)).as("op %d replace(k, old, new)", op).isEqualTo(fromModel);
          }
          case 9 -> {
            byte[] expected = r.nextBoolean() && model.containsKey(k) ? model.get(k).clone() : value(r);
            boolean fromModel = model.containsKey(k) && Arrays.equals(model.get(k), expected) && model.remove(k) != null;
            assertThat(map.remove(k, expected)).as("op %d remove(k, v)", op).isEqualTo(fromModel);
          }
          case 10 -> {
            boolean drop = r.nextInt(4) == 0;
            assertSame(map.compute(k, (key, old) -> drop ? null : concat(old, v)),
                model.compute(k, (key, old) -> drop ? null : concat(old, v)), op, "compute");
          }
          case 11 -> assertSame(map.computeIfAbsent(k, key -> v), model.computeIfAbsent(k, key -> v), op,
              "computeIfAbsent");
          case 12 -> {
            boolean drop = r.nextInt(3) == 0;
            assertSame(map.computeIfPresent(k, (key, old) -> drop ? null : concat(old, v)),
                model.computeIfPresent(k, (key, old) -> drop ? null : concat(old, v)), op, "computeIfPresent");
          }
          case 13 -> assertSame(map.merge(k, v, SpillMapModelTest::concat), model.merge(k, v, SpillMapModelTest::concat),
              op, "merge");
          case 14 -> assertThat(map.containsKey(k)).as("op %d containsKey", op).isEqualTo(model.containsKey(k));
          default -> map.demote(r.nextInt(64 * 1024));
        }
        if (op % 500 == 0) {
          assertContents(map, model, op);
        }
      }
      assertContents(map, model, -1);
      MapStats stats = map.stats();
      assertThat(stats.demotions()).as("entries sent to NVMe: %s", stats).isPositive();
      assertThat(stats.l3Hits()).as("reads that came back from NVMe: %s", stats).isPositive();
      assertThat(stats.entries()).isEqualTo(model.size());
      map.clear();
      assertThat(map).isEmpty();
    } finally {
      MapTestSupport.closeAndCheck(map, memory);
    }
  }

  private static boolean replaceByContent(Map<String, byte[]> model, String k, byte[] expected, byte[] v) {
    byte[] now = model.get(k);
    if (now != null && Arrays.equals(now, expected)) {
      model.put(k, v);
      return true;
    }
    return false;
  }

  private static void assertContents(SpillMap<String, byte[]> map, Map<String, byte[]> model, int op) {
    assertThat(map.size()).as("op %d size", op).isEqualTo(model.size());
    Map<String, byte[]> seen = new HashMap<>();
    for (Map.Entry<String, byte[]> e : map.entrySet()) {
      assertThat(seen.put(e.getKey(), e.getValue())).as("op %d: key %s iterated twice", op, e.getKey()).isNull();
    }
    assertThat(seen.keySet()).as("op %d keys", op).isEqualTo(model.keySet());
    for (Map.Entry<String, byte[]> e : model.entrySet()) {
      assertThat(seen.get(e.getKey())).as("op %d value of %s", op, e.getKey()).isEqualTo(e.getValue());
    }
  }

  private static void assertSame(byte[] actual, byte[] expected, int op, String what) {
    assertThat(actual).as("op %d %s", op, what).isEqualTo(expected);
  }

  static byte[] concat(byte[] a, byte[] b) {
    if (a == null) {
      return b.clone();
    }
    byte[] out = Arrays.copyOf(a, Math.min(a.length + b.length, 8000));
    System.arraycopy(b, 0, out, a.length, out.length - a.length);
    return out;
  }

  private static String key(SplittableRandom r) {
    int id = r.nextInt(300);
    return id % 3 == 0 ? "k" + id : id % 3 == 1 ? "a-long-key-that-lives-in-its-block-" + id : "key" + id + "-x";
  }

  private static byte[] value(SplittableRandom r) {
    int n = switch (r.nextInt(4)) {
      case 0 -> r.nextInt(16);
      case 1 -> r.nextInt(512);
      default -> 1024 + r.nextInt(5 * 1024);
    };
    byte[] b = new byte[n];
    r.nextBytes(b);
    return b;
  }
}
