package dev.spillway.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SpillwaySettingsTest {

  private static SpillwaySettings load(String memory) {
    return SpillwaySettings.from(ConfigFactory.parseString("spillway.memory { " + memory + " }"));
  }

  @Test
  void embeddedDefaultsAreValid() {
    MemorySettings m = SpillwaySettings.defaults().memory();
    assertThat(m.maxBlockSize()).isEqualTo(1L << 30);
    assertThat(m.smallSlabSize()).isEqualTo(256 << 10);
    assertThat(m.largeSlabSize()).isEqualTo(4 << 20);
    assertThat(m.pools().initialBytes()).isZero();
    assertThat(m.pools().maxBytes()).isEqualTo(1L << 30);
    assertThat(m.pools().growWhenUsed()).isEqualTo(0.8);
    assertThat(m.pools().growStep()).isEqualTo(0.1);
    assertThat(m.pools().shrinkWhenFree()).isEqualTo(0.5);
    assertThat(m.pools().shrinkStep()).isEqualTo(0.1);
    assertThat(m.pools().classes()).isEmpty();
    assertThat(m.threadCache().enabled()).isTrue();
    assertThat(m.threadCache().capacityFor(64)).isEqualTo(64);
    assertThat(m.threadCache().capacityFor(32 << 10)).isEqualTo(2);
  }

  @Test
  void overridesAreReadWithUnits() {
    MemorySettings m = load("max-block-size = 64M, small-slab-size = 128KiB,"
        + " pools.classes { \"4KiB\" { initial-blocks = 10, max-blocks = 100 }, \"64B\" { max-blocks = 5 } }").memory();
    assertThat(m.maxBlockSize()).isEqualTo(64L << 20);
    assertThat(m.smallSlabSize()).isEqualTo(128 << 10);
    assertThat(m.pools().classes()).containsOnlyKeys(4096L, 64L);
    assertThat(m.pools().classes().get(4096L).initialBlocks()).contains(10L);
    assertThat(m.pools().classes().get(64L).initialBlocks()).isEmpty();
    assertThat(m.pools().classes().get(64L).maxBlocks()).contains(5L);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
    "max-block-size = 0            | spillway.memory.max-block-size | allowed 8 B to 1 GiB",
    "max-block-size = 2 GiB        | spillway.memory.max-block-size | allowed 8 B to 1 GiB",
    "max-block-size = lots         | spillway.memory.max-block-size | cannot be parsed as a size",
    "max-block-size = -4 KiB       | spillway.memory.max-block-size | ",
    "small-slab-size = 100000      | spillway.memory.small-slab-size | multiple of 4 KiB",
    "small-slab-size = 4 KiB       | spillway.memory.small-slab-size | allowed 64 KiB to 64 MiB",
    "large-slab-size = 2 GiB       | spillway.memory.large-slab-size | allowed 1 MiB to 1 GiB",
    "pools.default.initial-bytes = -1     | spillway.memory.pools.default.initial-bytes | ",
    "pools.default.max-bytes = 0          | spillway.memory.pools.default.max-bytes | allowed 1 B to 1 TiB",
    "pools.default.max-bytes = 12 parsecs | spillway.memory.pools.default.max-bytes | cannot be parsed as a size",
    "pools.default { initial-bytes = 2 GiB, max-bytes = 1 GiB } | spillway.memory.pools.default.initial-bytes | exceeds",
    "pools.grow-when-used = 0      | spillway.memory.pools.grow-when-used | allowed 0 < value <= 1",
    "pools.grow-step = 1.5         | spillway.memory.pools.grow-step | allowed 0 < value <= 1",
    "pools.shrink-when-free = 1    | spillway.memory.pools.shrink-when-free | allowed 0 <= value < 1",
    "pools.shrink-step = often     | spillway.memory.pools.shrink-step | must be a number",
    "thread-cache.enabled = maybe  | spillway.memory.thread-cache.enabled | true or false",
    "thread-cache.max-blocks-per-class = 1    | spillway.memory.thread-cache.max-blocks-per-class | allowed 2 to 1024",
    "thread-cache.max-blocks-per-class = -3   | spillway.memory.thread-cache.max-blocks-per-class | allowed 2 to 1024",
    "thread-cache.max-bytes-per-class = 1 TiB | spillway.memory.thread-cache.max-bytes-per-class | allowed 1 KiB to 16 MiB",
    "pools.classes { \"4KiB\" { initial-blocks = -1 } }  | spillway.memory.pools.classes.4KiB.initial-blocks | allowed 0 to",
    "pools.classes { \"4KiB\" { max-blocks = 0 } }       | spillway.memory.pools.classes.4KiB.max-blocks | allowed 1 to",
    "pools.classes { \"4KiB\" { max-blocks = ten } }     | spillway.memory.pools.classes.4KiB.max-blocks | whole number",
    "pools.classes { \"4KiB\" { initial-blocks = 9, max-blocks = 3 } } | spillway.memory.pools.classes.4KiB.initial-blocks | exceeds max-blocks = 3",
    "pools.classes { \"4KiB\" { maximum = 3 } }          | spillway.memory.pools.classes.4KiB.maximum | allowed in spillway.memory.pools.classes.4KiB: initial-blocks, max-blocks",
    "pools.classes { \"huge-ish\" { max-blocks = 3 } }   | spillway.memory.pools.classes.huge-ish | cannot be parsed as a size",
    "pools.classes { \"4KiB\" = 7 }                      | spillway.memory.pools.classes.4KiB | must be a section",
  })
  void everyBadValueNamesTheKeyTheValueAndWhatIsAllowed(String hocon, String key, String allowed) {
    assertThatThrownBy(() -> load(hocon))
        .isInstanceOfSatisfying(SettingsException.class, e -> assertThat(e.key()).isEqualTo(key))
        .hasMessageStartingWith(key)
        .hasMessageContaining(allowed == null ? "" : allowed);
  }

  @Test
  void aNonNumericSizeReportsTheValueFound() {
    assertThatThrownBy(() -> load("max-block-size = lots")).hasMessageContaining("\"lots\"");
    assertThatThrownBy(() -> load("max-block-size = 3 GiB")).hasMessageContaining("3 GiB");
  }

  @Test
  void slabSizesFitTheBudgetNeverUnderTheirMinimum() {
    MemorySettings m = SpillwaySettings.defaults().memory(); // 256 KiB and 4 MiB
    assertThat(m.forBudget(1L << 30)).isEqualTo(m);
    assertThat(m.forBudget(128L << 20)).as("small 1/256, large 1/32 of the budget").isEqualTo(m);
    MemorySettings at64 = m.forBudget(64L << 20);
    assertThat(at64.smallSlabSize()).isEqualTo(256L << 10);
    assertThat(at64.largeSlabSize()).isEqualTo(2L << 20);
    MemorySettings at32 = m.forBudget(32L << 20);
    assertThat(at32.smallSlabSize()).isEqualTo(128L << 10);
    MemorySettings at16 = m.forBudget(16L << 20);
    assertThat(at16.smallSlabSize()).isEqualTo(64L << 10);
    assertThat(at16.largeSlabSize()).isEqualTo(1L << 20);
    MemorySettings at4 = m.forBudget(4L << 20);
    assertThat(at4.smallSlabSize()).isEqualTo(64L << 10);
    assertThat(at4.largeSlabSize()).as("a 1 MiB block needs a 1 MiB slab").isEqualTo(1L << 20);
    MemorySettings tiny = m.forBudget(1);
    assertThat(tiny.smallSlabSize()).isEqualTo(MemorySettings.MIN_SMALL_SLAB);
    assertThat(tiny.largeSlabSize()).isEqualTo(MemorySettings.MIN_LARGE_SLAB);
    MemorySettings odd = m.forBudget((100L << 20) + 12345);
    assertThat(odd.largeSlabSize() % MemorySettings.PAGE).as("a page multiple").isZero();
    assertThat(odd.largeSlabSize()).isEqualTo(((100L << 20) + 12345) / 32 / 4096 * 4096);
    assertThat(odd.smallSlabSize()).isEqualTo(256L << 10);
    assertThat(m.forBudget((40L << 20) + 12345).smallSlabSize()).as("a page multiple").isEqualTo(160L << 10);
    assertThat(at64.pools()).isEqualTo(m.pools());
    assertThat(at64.maxBlockSize()).isEqualTo(m.maxBlockSize());
  }

  @Test
  void sizesFormatAsConfigurationWritesThem() {
    assertThat(Sizes.format(8)).isEqualTo("8 B");
    assertThat(Sizes.format(4096)).isEqualTo("4 KiB");
    assertThat(Sizes.format(1536)).isEqualTo("1.5 KiB");
    assertThat(Sizes.format(1L << 30)).isEqualTo("1 GiB");
    assertThat(Sizes.classKey(64)).isEqualTo("64B");
    assertThat(Sizes.classKey(2560)).isEqualTo("2560B");
    assertThat(Sizes.classKey(40 << 10)).isEqualTo("40KiB");
    assertThat(Sizes.classKey(1 << 20)).isEqualTo("1MiB");
  }
}
