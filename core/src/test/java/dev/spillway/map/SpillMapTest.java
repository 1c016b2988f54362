package dev.spillway.map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spillway.codec.Codecs;
import dev.spillway.codec.KryoCodec;
import dev.spillway.config.MapSettings;
import dev.spillway.config.SpillwaySettings;
import dev.spillway.memory.BlockAllocator;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The contract of {@link SpillMap} call by call: bad input, codecs, listeners, expiry, bounds, levels. */
class SpillMapTest {
  @TempDir Path dir;
  private BlockAllocator memory;
  private final List<SpillMap<?, ?>> maps = new ArrayList<>();

  @BeforeEach
  void open() {
    memory = MapTestSupport.tiered(dir);
  }

  @AfterEach
  void close() {
    for (SpillMap<?, ?> m : maps) {
      m.close();
    }
    try {
      assertThat(memory.stats().blocksInUse()).as("blocks left by the maps").isZero();
      assertThat(memory.stats().spill().spilledBlocks()).as("spilled blocks left by the maps").isZero();
    } finally {
      memory.close();
    }
  }

  private <K, V> SpillMap<K, V> map(String name, Class<K> k, Class<V> v, MapSettings settings) {
    SpillMaps.Builder<K, V> b = SpillMaps.builder(memory, name, k, v);
    if (settings != null) {
      b.settings(settings);
    }
    SpillMap<K, V> m = b.build();
    maps.add(m);
    return m;
  }

  private static final class Recorder<K, V> implements RemovalListener<K, V> {
    final List<String> events = new ArrayList<>();

    @Override
    public void onRemoval(K key, V value, RemovalCause cause) {
      events.add(cause + ":" + key + "=" + (value instanceof byte[] b ? new String(b, StandardCharsets.UTF_8) : value));
    }
  }

  @Test
  void nullsAreRefusedWithTheMapsName() {
    SpillMap<String, String> m = map("users", String.class, String.class, null);
    assertThatThrownBy(() -> m.put(null, "v")).isInstanceOf(NullPointerException.class)
        .hasMessage("map 'users': null keys are not allowed");
    assertThatThrownBy(() -> m.put("k", null)).isInstanceOf(NullPointerException.class)
        .hasMessage("map 'users': null values are not allowed");
    assertThatThrownBy(() -> m.get(null)).isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> m.merge("k", null, (a, b) -> a)).isInstanceOf(NullPointerException.class);
    assertThat(m).isEmpty();
  }

  @Test
  @SuppressWarnings({"unchecked", "rawtypes"})
  void aValueOfAnotherTypeIsRefusedAndAnotherKeyTypeIsAbsent() {
    SpillMap<String, String> m = map("typed", String.class, String.class, null);
    Map raw = m;
    assertThatThrownBy(() -> raw.put("k", 42)).isInstanceOf(ClassCastException.class)
        .hasMessageContaining("map 'typed': a value must be a java.lang.String, found a java.lang.Integer");
    Object other = 42;
    assertThat(raw.get(other)).isNull();
    assertThat(raw.containsKey(other)).isFalse();
    assertThat(raw.remove(other)).isNull();
    assertThat(m).isEmpty();
  }

  @Test
  void anEntryOverTheLargestBlockIsRefusedAndNothingIsWritten() {
    BlockAllocator small = BlockAllocator.create(SpillwaySettings.from(
        com.typesafe.config.ConfigFactory.parseString("spillway.memory.max-block-size = 64 KiB")).memory());
    SpillMap<String, byte[]> h = SpillMaps.builder(small, "huge", String.class, byte[].class).build();
    try {
      h.put("k", new byte[] {1});
      assertThatThrownBy(() -> h.put("key-1", new byte[64 * 1024 + 1])).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("map 'huge': the value of key \"key-1\" encodes to 65537 bytes")
          .hasMessageContaining("allowed at most max-block-size = 65536");
      String longKey = "k".repeat(40);
      assertThatThrownBy(() -> h.put(longKey, new byte[64 * 1024 - 20])).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining(65536 - 20 + 40 + " with the key");
      assertThatThrownBy(() -> h.replace("k", new byte[70_000])).isInstanceOf(IllegalArgumentException.class);
      assertThat(h).containsOnlyKeys("k");
      assertThat(h.get("k")).containsExactly(1);
    } finally {
      MapTestSupport.closeAndCheck(h, small);
    }
  }

  @Test
  void anUnregisteredClassIsRefusedAtBuildAndAtWrite() {
    KryoCodec kryo = Codecs.builder(SpillwaySettings.defaults().codec()).registerKryo(Point.class).build().kryo();
    assertThatThrownBy(() -> SpillMaps.builder(memory, "points", String.class, Thread.class).kryo(kryo).build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("java.lang.Thread is not registered with Kryo");
    assertThatThrownBy(() -> SpillMaps.builder(memory, "points", String.class, Point.class).build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("has no built-in codec");
    SpillMap<String, Point> m = SpillMaps.builder(memory, "points", String.class, Point.class).kryo(kryo).build();
    maps.add(m);
    m.put("a", new Point(1, 2));
    assertThat(m.get("a")).isEqualTo(new Point(1, 2));
    assertThatThrownBy(() -> m.put("b", new SubPoint(3, 4))).hasMessageContaining("SubPoint");
    assertThat(m).containsOnlyKeys("a");
  }

  /** A Kryo-registered class. */
  static class Point {
    int x;
    int y;

    Point() {}

    Point(int x, int y) {
      this.x = x;
      this.y = y;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Point p && p.x == x && p.y == y;
    }

    @Override
    public int hashCode() {
      return 31 * x + y;
    }
  }

  /** Not registered. */
  static final class SubPoint extends Point {
    SubPoint(int x, int y) {
      super(x, y);
    }
  }

  @Test
  void aClosedMapRefusesEveryCallAndFreesEverything() {
    SpillMap<Long, byte[]> m = map("closing", Long.class, byte[].class, null);
    for (long i = 0; i < 100; i++) {
      m.put(i, new byte[2000]);
    }
    m.demote(50_000);
    m.close();
    m.close(); // a second close does nothing
    assertThatThrownBy(() -> m.get(1L)).isInstanceOf(MapClosedException.class).hasMessage("map 'closing' is closed");
    assertThatThrownBy(() -> m.put(1L, new byte[1])).isInstanceOf(MapClosedException.class);
    assertThatThrownBy(m::stats).isInstanceOf(MapClosedException.class);
    assertThat(memory.stats().blocksInUse()).isZero();
  }

  @Test
  void everyBuiltInCodecRoundTrips() {
    SpillMap<Integer, Double> a = map("a", Integer.class, Double.class, null);
    a.put(-7, -0.0);
    a.put(8, Double.NaN);
    assertThat(a.get(-7)).isEqualTo(-0.0);
    assertThat(a.get(8)).isNaN();
    SpillMap<ByteBuffer, MemorySegment> b = map("b", ByteBuffer.class, MemorySegment.class, null);
    ByteBuffer key = ByteBuffer.wrap("xxkeyxx".getBytes(StandardCharsets.UTF_8)).position(2).limit(5);
    b.put(key, MemorySegment.ofArray(new byte[] {9, 8, 7}));
    assertThat(key.position()).as("encoding leaves the buffer's position").isEqualTo(2);
    assertThat(b.get(ByteBuffer.wrap("key".getBytes(StandardCharsets.UTF_8))).toArray(ValueLayout.JAVA_BYTE))
        .containsExactly(9, 8, 7);
    SpillMap<Character, Boolean> c = map("c", Character.class, Boolean.class, null);
    c.put('x', true);
    assertThat(c.get('x')).isTrue();
    SpillMap<Short, Float> d = map("d", Short.class, Float.class, null);
    d.put((short) 3, 1.5f);
    assertThat(d.get((short) 3)).isEqualTo(1.5f);
    SpillMap<Byte, String> e = map("e", Byte.class, String.class, null);
    e.put((byte) 1, "grüße");
    assertThat(e.get((byte) 1)).isEqualTo("grüße");
    assertThatThrownBy(() -> MapCodecs.of(Thread.class)).hasMessageContaining("java.lang.Thread has no built-in codec");
  }

  @Test
  void theListenerHearsEveryCauseAfterTheLockIsReleased() {
    Recorder<String, String> rec = new Recorder<>();
    SpillMap<String, String> m = SpillMaps.builder(memory, "heard", String.class, String.class)
        .removalListener((k, v, cause) -> {
          rec.onRemoval(k, v, cause);
          assertThat(k).isNotNull(); // runs outside the lock: it may use the map
        }).build();
    maps.add(m);
    m.put("a", "1");
    m.put("a", "2");
    m.replace("a", "2", "3");
    m.compute("a", (k, v) -> v + "4");
    m.merge("a", "5", (x, y) -> x + y);
    m.remove("a");
    m.put("b", "1");
    m.compute("b", (k, v) -> null);
    m.put("c", "1");
    m.clear();
    assertThat(rec.events).containsExactly("REPLACED:a=1", "REPLACED:a=2", "REPLACED:a=3", "REPLACED:a=34",
        "EXPLICIT:a=345", "EXPLICIT:b=1", "EXPLICIT:c=1");
  }

  @Test
  void aListenerThatCallsTheMapWorksAndOneThatThrowsLosesNothing() {
    AtomicLong calls = new AtomicLong();
    java.util.concurrent.atomic.AtomicReference<SpillMap<String, String>> self = new java.util.concurrent.atomic.AtomicReference<>();
    SpillMap<String, String> m = SpillMaps.builder(memory, "reentrant", String.class, String.class)
        .removalListener((k, v, cause) -> {
          calls.incrementAndGet();
          self.get().put("log-" + k, v);
          throw new IllegalStateException("listener failure, on purpose");
        }).build();
    self.set(m);
    maps.add(m);
    m.put("a", "1");
    assertThat(m.remove("a")).isEqualTo("1");
    assertThat(calls).hasValue(1);
    assertThat(m).containsOnlyKeys("log-a");
  }

  @Test
  void aFunctionThatCallsBackIntoItsSegmentIsRefusedAndChangesNothing() {
    SpillMap<String, String> m = map("recursive", String.class, String.class, MapSettings.builder("recursive").segments(1).build());
    m.put("a", "1");
    assertThatThrownBy(() -> m.compute("a", (k, v) -> m.get("b"))).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("called back into the map");
    assertThatThrownBy(() -> m.computeIfAbsent("z", k -> {
      throw new ArithmeticException("load failed");
    })).isInstanceOf(ArithmeticException.class);
    assertThat(m).containsExactly(Map.entry("a", "1"));
    assertThat(m.get("a")).isEqualTo("1");
  }

  @Test
  void entriesExpireAfterWriteAndAfterAccess() {
    long[] now = {0};
    Recorder<String, String> rec = new Recorder<>();
    SpillMap<String, String> w = SpillMaps.builder(memory, "w", String.class, String.class)
        .settings(MapSettings.builder("w").expireAfterWrite(Duration.ofSeconds(10)).build())
        .ticker(() -> now[0]).removalListener(rec).build();
    maps.add(w);
    SpillMap<String, String> a = SpillMaps.builder(memory, "a", String.class, String.class)
        .settings(MapSettings.builder("a").expireAfterAccess(Duration.ofSeconds(10)).build())
        .ticker(() -> now[0]).build();
    maps.add(a);
    w.put("k", "v");
    a.put("k", "v");
    now[0] = Duration.ofSeconds(9).toNanos();
    assertThat(w.get("k")).isEqualTo("v");
    assertThat(a.get("k")).isEqualTo("v"); // an access: ten more seconds
    now[0] = Duration.ofSeconds(10).toNanos();
    assertThat(w.get("k")).isNull();
    assertThat(a.get("k")).isEqualTo("v");
    assertThat(rec.events).containsExactly("EXPIRED:k=v");
    now[0] = Duration.ofSeconds(25).toNanos();
    a.put("other", "x");
    a.cleanUp();
    assertThat(a).containsOnlyKeys("other");
    assertThat(w.stats().expirations()).isEqualTo(1);
    assertThat(a.stats().expirations()).isEqualTo(1);
  }

  @Test
  void aCacheStaysWithinItsEntriesAndEvictsByPolicy() {
    Recorder<Long, String> rec = new Recorder<>();
    SpillMap<Long, String> m = SpillMaps.builder(memory, "lru", Long.class, String.class)
        .settings(MapSettings.builder("lru").maximumEntries(3).segments(1).evictionPolicy("lru").build())
        .removalListener(rec).build();
    maps.add(m);
    m.put(1L, "a");
    m.put(2L, "b");
    m.put(3L, "c");
    m.get(1L);
    m.put(4L, "d");
    assertThat(m).containsOnlyKeys(1L, 3L, 4L);
    assertThat(rec.events).containsExactly("EVICTED:2=b");
    assertThat(m.stats().evictions()).isEqualTo(1);
  }

  /**
   * Through the whole map (one segment), LRU, MRU and FIFO give exactly the hits of a plain reference
   * cache on the same Zipf-like trace: a miss loads the key with {@code computeIfAbsent}.
   */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {"lru", "mru", "fifo"})
  void aCacheGivesExactlyTheHitsOfAReferenceImplementation(String policy) {
    int capacity = 100;
    SpillMap<Long, Long> m = map("exact-" + policy, Long.class, Long.class,
        MapSettings.builder("exact-" + policy).maximumEntries(capacity).segments(1).evictionPolicy(policy).build());
    java.util.LinkedHashMap<Long, Long> reference = new java.util.LinkedHashMap<>(16, 0.75f, !policy.equals("fifo"));
    java.util.SplittableRandom r = new java.util.SplittableRandom(11);
    long hits = 0;
    long referenceHits = 0;
    for (int i = 0; i < 50_000; i++) {
      long key = (long) Math.floor(Math.pow(1000, r.nextDouble())); // skewed over 1..1000
      boolean[] loaded = {false};
      m.computeIfAbsent(key, k -> {
        loaded[0] = true;
        return k;
      });
      hits += loaded[0] ? 0 : 1;
      if (reference.get(key) != null) {
        referenceHits++;
      } else {
        if (reference.size() == capacity) {
          Long victim = null;
          for (Long k : reference.keySet()) {
            victim = k; // the last is the most recently used: MRU's victim
            if (!policy.equals("mru")) {
              break; // the first is the least recently used (or the oldest, for FIFO)
            }
          }
          reference.remove(victim);
        }
        reference.put(key, key);
      }
    }
    assertThat(hits).as("hits of %s", policy).isEqualTo(referenceHits).isPositive();
    assertThat(m.keySet()).isEqualTo(reference.keySet());
    assertThat(m.stats().hits()).isEqualTo(hits);
  }

  @Test
  void aCacheBoundedByBytesCountsKeyAndValueBytes() {
    SpillMap<Long, byte[]> m = map("bytes", Long.class, byte[].class,
        MapSettings.builder("bytes").maximumBytes(10_000).segments(1).evictionPolicy("fifo").build());
    for (long i = 0; i < 100; i++) {
      m.put(i, new byte[992]); // 1000 bytes with the key
    }
    assertThat(m).hasSize(10);
    assertThat(m.keySet()).containsExactlyInAnyOrder(90L, 91L, 92L, 93L, 94L, 95L, 96L, 97L, 98L, 99L);
  }

  @Test
  void theOnHeapLevelAnswersRepeatedReadsAndForgetsWrittenValues() {
    SpillMap<String, String> m = map("l1", String.class, String.class,
        MapSettings.builder("l1").l1(2, "lru").segments(1).build());
    m.put("a", "1");
    String first = m.get("a");
    assertThat(m.get("a")).isSameAs(first);
    m.put("a", "2");
    assertThat(m.get("a")).isEqualTo("2");
    m.put("b", "x");
    m.put("c", "y");
    m.get("b");
    m.get("c"); // "a" leaves the level (lru, 2 entries)
    MapStats s = m.stats();
    assertThat(s.l1Hits()).isEqualTo(1);
    assertThat(s.l2Hits()).isEqualTo(4);
    assertThat(s.l1Entries()).isEqualTo(2);
  }

  @Test
  void demotedEntriesComeBackOnReadAndAreCountedAsLevelThreeHits() {
    SpillMap<Long, byte[]> m = map("levels", Long.class, byte[].class, null);
    for (long i = 0; i < 64; i++) {
      byte[] v = new byte[4096];
      v[0] = (byte) i;
      m.put(i, v);
    }
    assertThat(m.demote(Long.MAX_VALUE)).isGreaterThanOrEqualTo(64 * 4096);
    assertThat(m.isResident(5L)).isFalse();
    assertThat(m.get(5L)[0]).isEqualTo((byte) 5);
    assertThat(m.isResident(5L)).isTrue();
    for (Map.Entry<Long, byte[]> e : m.entrySet()) {
      assertThat(e.getValue()[0]).isEqualTo(e.getKey().byteValue());
    }
    assertThat(m.isResident(6L)).as("iteration leaves spilled entries on NVMe").isFalse();
    MapStats s = m.stats();
    assertThat(s.demotions()).isEqualTo(64);
    assertThat(s.l3Hits()).isEqualTo(1);
    assertThat(s.promotions()).isEqualTo(1);
  }

  @Test
  void getBytesCopiesIntoTheCallersBufferAndSaysWhenItIsTooSmall() {
    SpillMap<Long, byte[]> m = map("bytes-read", Long.class, byte[].class, null);
    byte[] v = new byte[3000];
    new java.util.Random(5).nextBytes(v);
    m.put(1L, v);
    m.demote(Long.MAX_VALUE);
    byte[] small = new byte[100];
    assertThat(m.getBytes(1L, MemorySegment.ofArray(small))).isEqualTo(3000);
    assertThat(small).as("nothing copied").containsOnly(0);
    assertThat(m.stats().hits()).as("nothing counted").isZero();
    byte[] big = new byte[4096];
    assertThat(m.getBytes(1L, MemorySegment.ofArray(big))).isEqualTo(3000);
    assertThat(java.util.Arrays.copyOf(big, 3000)).isEqualTo(v);
    assertThat(m.getBytes(2L, MemorySegment.ofArray(big))).isEqualTo(-1);
    MapStats s = m.stats();
    assertThat(s.l3Hits()).isEqualTo(1);
    assertThat(s.misses()).isEqualTo(1);
    assertThat(m.isResident(1L)).isTrue();
  }

  @Test
  void smallEntriesStayInRamWhenDemoting() {
    SpillMap<Long, Long> m = map("small", Long.class, Long.class, null);
    m.put(1L, 2L);
    assertThat(m.demote(1 << 20)).isZero();
    assertThat(m.isResident(1L)).isTrue();
    assertThatThrownBy(() -> m.demote(-1)).hasMessageContaining("allowed bytes >= 0");
  }

  @Test
  void theIteratorRemovesAndWritesThrough() {
    SpillMap<String, String> m = map("iter", String.class, String.class, null);
    for (int i = 0; i < 50; i++) {
      m.put("k" + i, "v" + i);
    }
    Iterator<Map.Entry<String, String>> it = m.entrySet().iterator();
    assertThatThrownBy(it::remove).isInstanceOf(IllegalStateException.class);
    int n = 0;
    while (it.hasNext()) {
      Map.Entry<String, String> e = it.next();
      if (n++ % 2 == 0) {
        it.remove();
      } else {
        e.setValue(e.getValue() + "!");
      }
    }
    assertThat(m).hasSize(25);
    assertThat(m.values()).allMatch(v -> v.endsWith("!"));
    List<String> present = m.keySet().stream().limit(3).toList();
    List<String> asked = new ArrayList<>(present);
    asked.add(1, "nope");
    assertThat(m.getAll(asked).keySet()).containsExactlyElementsOf(present);
    m.putAll(Map.of("p", "q"));
    assertThat(m.get("p")).isEqualTo("q");
    assertThat(m.entrySet()).contains(Map.entry("p", "q"));
  }

  @Test
  void computeIfAbsentCountsALoadAndAMiss() {
    SpillMap<String, String> m = map("loads", String.class, String.class, null);
    assertThat(m.computeIfAbsent("a", k -> "made")).isEqualTo("made");
    assertThat(m.computeIfAbsent("a", k -> "again")).isEqualTo("made");
    assertThat(m.computeIfAbsent("b", k -> null)).isNull();
    assertThat(m).containsOnlyKeys("a");
    MapStats s = m.stats();
    assertThat(s.loads()).isEqualTo(2);
    assertThat(s.misses()).isEqualTo(2);
    assertThat(s.hits()).isEqualTo(1);
  }
}
