package dev.spillway.streams.map;

import static org.assertj.core.api.Assertions.assertThat;

import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import dev.spillway.config.SpillwaySettings;
import dev.spillway.map.MapClosedException;
import dev.spillway.map.SpillMap;
import dev.spillway.map.SpillMaps;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.streams.StreamsTestBase;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Bulk loading into a map keeps each key's last write; export gives every entry back without restoring. */
class MapStreamsTest extends StreamsTestBase {

  @Test
  void aSinkKeepsEachKeysLastWriteAndAnExportGivesEverythingBack() throws Exception {
    SpillwaySettings s = settings(tmp, "tier.durability = none");
    BlockAllocator a = allocator(s);
    SpillMap<Long, byte[]> map = closeAfter(SpillMaps.builder(a, "bulk", Long.class, byte[].class).build());
    SplittableRandom r = new SplittableRandom(3);
    List<Map.Entry<Long, byte[]>> input = new ArrayList<>();
    Map<Long, byte[]> last = new HashMap<>();
    for (int i = 0; i < 5000; i++) {
      long key = r.nextInt(700); // many keys written several times: order per key matters
      byte[] value = pattern(i, 1 + r.nextInt(3000), r.nextBoolean());
      input.add(new AbstractMap.SimpleEntry<>(key, value));
      last.put(key, value);
    }
    long written = await(Source.from(input).runWith(MapStreams.sink(map, s.streams(), system()), system()));
    assertThat(written).isEqualTo(5000);
    assertThat(map).hasSize(last.size());
    last.forEach((k, v) -> assertThat(map.get(k)).as("key %d", k).isEqualTo(v));
    map.demote(Long.MAX_VALUE);
    long restores = a.stats().spill().restores();
    List<Map.Entry<Long, byte[]>> back = await(MapStreams.source(map, system()).runWith(Sink.seq(), system()));
    assertThat(back).hasSize(last.size());
    back.forEach(e -> assertThat(e.getValue()).as("key %d", e.getKey()).isEqualTo(last.get(e.getKey())));
    assertThat(a.stats().spill().restores()).as("export restores nothing").isEqualTo(restores);
  }

  @Test
  void aNullValueOrAClosedMapFailsTheStreamAndKeepsWhatWasWritten() throws Exception {
    SpillwaySettings s = settings(tmp, "tier.durability = none");
    BlockAllocator a = allocator(s);
    SpillMap<String, String> map = closeAfter(SpillMaps.builder(a, "bad", String.class, String.class).build());
    List<Map.Entry<String, String>> input = new ArrayList<>();
    input.add(new AbstractMap.SimpleEntry<>("a", "1"));
    input.add(new AbstractMap.SimpleEntry<>("b", null));
    Throwable failure = failureOf(Source.from(input).runWith(MapStreams.sink(map, s.streams(), system()), system()));
    assertThat(failure).isInstanceOf(NullPointerException.class).hasMessageContaining("map 'bad': null values");
    assertThat(map.keySet()).as("nothing but what was sent").isSubsetOf("a");
    map.close();
    Throwable closed = failureOf(Source.single(Map.entry("c", "2")).runWith(MapStreams.sink(map, s.streams(),
        system()), system()));
    assertThat(closed).isInstanceOf(MapClosedException.class);
  }
}
