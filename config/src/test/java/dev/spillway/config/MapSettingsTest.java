package dev.spillway.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** {@code spillway.maps}: each map over the default, the builder, and every refusal naming its key. */
class MapSettingsTest {

  private static SpillwaySettings load(String hocon) {
    return SpillwaySettings.from(ConfigFactory.parseString(hocon));
  }

  @Test
  void aMapWithoutASectionTakesTheDefaultsUnderItsName() {
    MapSettings s = SpillwaySettings.defaults().mapSettings("users");
    assertThat(s.name()).isEqualTo("users");
    assertThat(s.mode()).isEqualTo(MapSettings.Mode.STORE);
    assertThat(s.demotionPolicy()).isEqualTo("lru");
    assertThat(s.evictionPolicy()).isEqualTo("w-tinylfu");
    assertThat(s.expireAfterWrite()).isZero();
    assertThat(s.segmentCount(2)).isEqualTo(16);
    assertThat(s.segmentCount(64)).isEqualTo(256);
  }

  @Test
  void aMapsSectionOverridesTheDefaultKeyByKey() {
    SpillwaySettings all = load("spillway.maps { default { l1-entries = 10 }, sessions { mode = cache,"
        + " maximum-bytes = 64 MiB, eviction-policy = lru, expire-after-access = 30 s, segments = 4 } }");
    MapSettings s = all.mapSettings("sessions");
    assertThat(s.mode()).isEqualTo(MapSettings.Mode.CACHE);
    assertThat(s.maximumBytes()).isEqualTo(64L << 20);
    assertThat(s.evictionPolicy()).isEqualTo("lru");
    assertThat(s.expireAfterAccess()).isEqualTo(Duration.ofSeconds(30));
    assertThat(s.segments()).isEqualTo(4);
    assertThat(s.l1Entries()).as("from the default").isEqualTo(10);
    assertThat(all.mapSettings("other").l1Entries()).isEqualTo(10);
  }

  @Test
  void everyBadValueIsRefusedWithItsKey() {
    assertThatThrownBy(() -> load("spillway.maps.x { mode = bounded }")).isInstanceOf(SettingsException.class)
        .hasMessageContaining("spillway.maps.x.mode").hasMessageContaining("allowed store, cache");
    assertThatThrownBy(() -> load("spillway.maps.x { eviction-policy = lfu }"))
        .hasMessageContaining("spillway.maps.x.eviction-policy").hasMessageContaining("lru, mru, fifo, clock, w-tinylfu");
    assertThatThrownBy(() -> load("spillway.maps.x { maximum-entries = 10 }"))
        .hasMessageContaining("spillway.maps.x.maximum-entries").hasMessageContaining("mode = store never drops");
    assertThatThrownBy(() -> load("spillway.maps.x { mode = cache }"))
        .hasMessageContaining("must be set (above 0) when mode = cache");
    assertThatThrownBy(() -> load("spillway.maps.x { mode = cache, maximum-entries = 5, maximum-bytes = 5 MiB }"))
        .hasMessageContaining("both set");
    assertThatThrownBy(() -> load("spillway.maps.x { segments = 3 }"))
        .hasMessageContaining("spillway.maps.x.segments").hasMessageContaining("a power of two from 1 to 1024");
    assertThatThrownBy(() -> load("spillway.maps.x { expire-after-write = -1 s }"))
        .hasMessageContaining("spillway.maps.x.expire-after-write");
    assertThatThrownBy(() -> load("spillway.maps { \"bad name!\" { mode = store } }"))
        .hasMessageContaining("is not allowed: 1 to 64 characters");
    assertThatThrownBy(() -> load("spillway.maps.x = 5")).hasMessageContaining("must be a section");
  }

  @Test
  void aMisspeltKeyInAMapIsRefusedWithTheClosestOne() {
    assertThatThrownBy(() -> load("spillway.maps.x { evicton-policy = lru }")).isInstanceOf(SettingsException.class)
        .hasMessageContaining("did you mean spillway.maps.x.eviction-policy?");
  }

  @Test
  void theBuilderChecksWhatItBuilds() {
    MapSettings s = MapSettings.builder("c").maximumEntries(100).evictionPolicy("clock").l1(8, "fifo")
        .expireAfterWrite(Duration.ofMinutes(1)).segments(2).build();
    assertThat(s.mode()).isEqualTo(MapSettings.Mode.CACHE);
    assertThat(s.l1Policy()).isEqualTo("fifo");
    assertThat(MapSettings.builder("c").maximumEntries(100).store().build().maximumEntries()).isZero();
    assertThatThrownBy(() -> MapSettings.builder("c").demotionPolicy("random").build())
        .hasMessageContaining("spillway.maps.c.demotion-policy");
    assertThatThrownBy(() -> MapSettings.builder("")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("map name \"\" is not allowed");
    assertThatThrownBy(() -> SpillwaySettings.defaults().mapSettings(null)).hasMessageContaining("map name null");
  }

  @Test
  void aDurableMapReadsItsDirectoryDurabilityAndCodecAndRefusesWhatIsNotAllowed() {
    MapSettings s = load("spillway.maps.orders { durable = true, directory = \"/var/lib/app/orders\","
        + " durability = always, codec = raw, segment-size = 8 MiB, checkpoint-interval = 16 MiB,"
        + " sync-interval = 20 ms }").mapSettings("orders");
    assertThat(s.durable()).isTrue();
    assertThat(s.persistence().directory()).isEqualTo(java.nio.file.Path.of("/var/lib/app/orders"));
    assertThat(s.persistence().durability()).isEqualTo(TierSettings.Durability.ALWAYS);
    assertThat(s.persistence().codec()).isEqualTo("raw");
    assertThat(s.persistence().segmentSize()).isEqualTo(8L << 20);
    assertThat(s.persistence().checkpointInterval()).isEqualTo(16L << 20);
    assertThat(s.persistence().syncInterval()).isEqualTo(Duration.ofMillis(20));
    assertThat(SpillwaySettings.defaults().mapSettings("x").durable()).as("off by default").isFalse();

    assertThatThrownBy(() -> load("spillway.maps.orders.durable = true"))
        .hasMessageContaining("spillway.maps.orders.directory").hasMessageContaining("durable = true");
    assertThatThrownBy(() -> load("spillway.maps.orders { durable = true, directory = /d, durability = sometimes }"))
        .hasMessageContaining("spillway.maps.orders.durability").hasMessageContaining("none, batch or always");
    assertThatThrownBy(() -> load("spillway.maps.orders { durable = true, directory = /d, codec = gzip }"))
        .hasMessageContaining("spillway.maps.orders.codec").hasMessageContaining("raw, lz4, zstd");
    assertThatThrownBy(() -> load("spillway.maps.orders { segment-size = 1 KiB }"))
        .hasMessageContaining("spillway.maps.orders.segment-size");
    assertThatThrownBy(() -> load("spillway.maps.orders { durabel = true }"))
        .hasMessageContaining("durabel");
  }
}
