package dev.spillway.map.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** W-TinyLFU's sketch: the doorkeeper in front, saturation at 15, aging by halves, growth keeping counts aged. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class FrequencySketchTest {
  private static final int KEY = FrequencySketch.keyOf(42);

  @Test
  void aFirstOccurrenceOnlySetsTheDoorkeeper() {
    FrequencySketch sketch = new FrequencySketch(1024);
    assertThat(sketch.frequency(KEY)).isZero();
    sketch.increment(KEY);
    assertThat(sketch.doorkeeperContains(KEY)).isTrue();
    assertThat(sketch.sketchEstimate(KEY)).isZero();
    assertThat(sketch.frequency(KEY)).isEqualTo(1);
    assertThat(sketch.additions()).as("a doorkeeper-only increment does not count towards the sample").isZero();
    sketch.increment(KEY);
    assertThat(sketch.sketchEstimate(KEY)).isEqualTo(1);
    assertThat(sketch.frequency(KEY)).isEqualTo(2);
    assertThat(sketch.additions()).isEqualTo(1);
  }

  @Test
  void countersSaturateAt15() {
    FrequencySketch sketch = new FrequencySketch(1024);
    for (int i = 0; i < 100; i++) {
      sketch.increment(KEY);
    }
    assertThat(sketch.sketchEstimate(KEY)).isEqualTo(FrequencySketch.MAX_COUNT);
    assertThat(sketch.frequency(KEY)).isEqualTo(FrequencySketch.MAX_COUNT + 1);
    assertThat(sketch.additions()).as("saturated increments change nothing and count nothing").isEqualTo(15);
  }

  @Test
  void agingHalvesTheCountersAndClearsTheDoorkeeper() {
    FrequencySketch sketch = new FrequencySketch(1024);
    int other = FrequencySketch.keyOf(7);
    for (int i = 0; i < 11; i++) {
      sketch.increment(KEY); // 1 for the doorkeeper, 10 for the counters
    }
    for (int i = 0; i < 4; i++) {
      sketch.increment(other);
    }
    assertThat(sketch.sketchEstimate(KEY)).isEqualTo(10);
    assertThat(sketch.sketchEstimate(other)).isEqualTo(3);
    sketch.age();
    assertThat(sketch.sketchEstimate(KEY)).isEqualTo(5);
    assertThat(sketch.sketchEstimate(other)).isEqualTo(1);
    assertThat(sketch.doorkeeperContains(KEY)).isFalse();
    assertThat(sketch.frequency(KEY)).isEqualTo(5);
  }

  @Test
  void agingComesAfterASampleOfTenIncrementsPerEntry() {
    FrequencySketch sketch = new FrequencySketch(1024);
    assertThat(sketch.sampleSize()).isEqualTo(10 * 1024);
    for (int i = 0; i < 16; i++) {
      sketch.increment(KEY);
    }
    assertThat(sketch.sketchEstimate(KEY)).isEqualTo(15);
    int raises = 15;
    for (int i = 0; ; i++) {
      int before = sketch.additions();
      assertThat(before).isLessThan(sketch.sampleSize());
      sketch.increment(FrequencySketch.keyOf(1_000 + i / 2)); // each key twice: the second one counts
      if (sketch.additions() < before) {
        break; // aged
      }
      raises += sketch.additions() - before;
      assertThat(i).as("no aging after far more than a sample").isLessThan(200_000);
    }
    assertThat(raises).as("counted increments before the aging").isEqualTo(sketch.sampleSize() - 1);
    assertThat(sketch.sketchEstimate(KEY)).as("15 halved").isEqualTo(7);
    assertThat(sketch.doorkeeperContains(KEY)).isFalse();
    assertThat(sketch.additions()).as("the count restarts from about half").isLessThanOrEqualTo(sketch.sampleSize() / 2);
  }

  @Test
  void growingKeepsEveryEstimateHalvedAndEmptiesTheDoorkeeper() {
    FrequencySketch sketch = new FrequencySketch(64);
    int[] keys = new int[200];
    for (int k = 0; k < keys.length; k++) {
      keys[k] = FrequencySketch.keyOf(k * 1_000_003L);
      for (int i = 0; i < k % 9; i++) {
        sketch.increment(keys[k]);
      }
    }
    int[] before = new int[keys.length];
    for (int k = 0; k < keys.length; k++) {
      before[k] = sketch.sketchEstimate(keys[k]);
    }
    sketch.ensureCapacity(1 << 14);
    assertThat(sketch.sampleSize()).isEqualTo(10 << 14);
    for (int k = 0; k < keys.length; k++) {
      assertThat(sketch.sketchEstimate(keys[k])).as("key %d", k).isEqualTo(before[k] / 2);
      assertThat(sketch.doorkeeperContains(keys[k])).as("key %d", k).isFalse();
    }
    sketch.ensureCapacity(64); // never shrinks, and a smaller sample ages nothing
    assertThat(sketch.sampleSize()).isEqualTo(10 * 64);
    for (int k = 0; k < keys.length; k++) {
      assertThat(sketch.sketchEstimate(keys[k])).as("key %d", k).isEqualTo(before[k] / 2);
    }
  }

  @Test
  void clearForgetsEverything() {
    FrequencySketch sketch = new FrequencySketch(256);
    for (int i = 0; i < 5; i++) {
      sketch.increment(KEY);
    }
    sketch.clear();
    assertThat(sketch.frequency(KEY)).isZero();
    assertThat(sketch.additions()).isZero();
  }
}
