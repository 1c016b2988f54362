package dev.spillway.map.lincheck;

import dev.spillway.map.SpillMap;
import dev.spillway.map.SpillMaps;

import dev.spillway.config.MapSettings;
import dev.spillway.memory.BlockAllocator;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.jetbrains.lincheck.datastructures.IntGen;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Param;
import org.jetbrains.lincheck.datastructures.StressOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link SpillMap} is linearizable against a {@link HashMap} ({@link Spec}) for the atomic
 * operations of {@code ConcurrentMap}, per Lincheck's stress strategy: real threads on both cores,
 * histories checked against every sequential order. Three keys over two segments, so that both the
 * per-segment lock and the independence of segments are covered. (The model checker does not finish
 * here: under its managed scheduling the allocator below the map, whose own primitives have model
 * checking tests of their own, stalls it; {@code SpillMapStressTest} adds NVMe to the races.)
 */
@Tag("lincheck")
@Timeout(value = 180, unit = TimeUnit.SECONDS)
@Param(name = "key", gen = IntGen.class, conf = "0:2")
@Param(name = "value", gen = IntGen.class, conf = "1:3")
public class SpillMapLincheckTest {
  private static final BlockAllocator MEMORY = BlockAllocator.create();
  /** Maps of earlier invocations, closed once two newer ones exist (Lincheck has no tear-down hook). */
  private static final ArrayDeque<SpillMap<Long, Long>> RECENT = new ArrayDeque<>();

  private final SpillMap<Long, Long> map;

  public SpillMapLincheckTest() {
    map = SpillMaps.builder(MEMORY, "lincheck", Long.class, Long.class)
        .settings(MapSettings.builder("lincheck").segments(2).build()).build();
    synchronized (RECENT) {
      RECENT.addLast(map);
      while (RECENT.size() > 2) {
        RECENT.removeFirst().close();
      }
    }
  }

  @AfterAll
  static void closeAll() {
    synchronized (RECENT) {
      RECENT.forEach(SpillMap::close);
      RECENT.clear();
    }
  }

  @Operation
  public Long put(@Param(name = "key") int key, @Param(name = "value") int value) {
    return map.put((long) key, (long) value);
  }

  @Operation
  public Long get(@Param(name = "key") int key) {
    return map.get((long) key);
  }

  @Operation
  public Long remove(@Param(name = "key") int key) {
    return map.remove((long) key);
  }

  @Operation
  public Long putIfAbsent(@Param(name = "key") int key, @Param(name = "value") int value) {
    return map.putIfAbsent((long) key, (long) value);
  }

  @Operation
  public boolean replace(@Param(name = "key") int key, @Param(name = "value") int expected) {
    return map.replace((long) key, (long) expected, (long) expected + 1);
  }

  @Operation
  public Long increment(@Param(name = "key") int key) {
    return map.merge((long) key, 1L, Long::sum);
  }

  @Operation
  public int size() {
    return map.size();
  }

  @Test
  void isLinearizableUnderStress() {
    new StressOptions()
        .iterations(10)
        .invocationsPerIteration(300)
        .threads(2)
        .actorsPerThread(4)
        .sequentialSpecification(Spec.class)
        .check(SpillMapLincheckTest.class);
  }

  /** The sequential specification. */
  public static final class Spec {
    private final Map<Long, Long> m = new HashMap<>();

    public Long put(int key, int value) {
      return m.put((long) key, (long) value);
    }

    public Long get(int key) {
      return m.get((long) key);
    }

    public Long remove(int key) {
      return m.remove((long) key);
    }

    public Long putIfAbsent(int key, int value) {
      return m.putIfAbsent((long) key, (long) value);
    }

    public boolean replace(int key, int expected) {
      return m.replace((long) key, (long) expected, (long) expected + 1);
    }

    public Long increment(int key) {
      return m.merge((long) key, 1L, Long::sum);
    }

    public int size() {
      return m.size();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Spec s && s.m.equals(m);
    }

    @Override
    public int hashCode() {
      return m.hashCode();
    }
  }
}
