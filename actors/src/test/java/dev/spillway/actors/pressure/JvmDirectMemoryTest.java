package dev.spillway.actors.pressure;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spillway.actors.pressure.DirectMemory.LimitOrigin;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The direct-memory limit reconstructed from the JVM's arguments, and the live reading. */
class JvmDirectMemoryTest {
  private static final long HEAP = 512L << 20;

  @ParameterizedTest
  @CsvSource({
      "1048576, 1048576", "512k, 524288", "512K, 524288", "64m, 67108864", "64M, 67108864",
      "2g, 2147483648", "1T, 1099511627776", "0x1000000, 16777216", "0X10k, 16384", "0xFFm, 267386880",
      "9223372036854775807, 9223372036854775807", "0, 0"})
  void sizesInHotSpotSyntax(String value, long bytes) throws SourceException {
    assertThat(JvmDirectMemory.size(value)).isEqualTo(bytes);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "k", "0x", "-1", "+1", "1.5g", "1mb", "1 m", "abc", "0xg", "1p", "\u0661\u0662"})
  void garbageIsNotASize(String value) {
    assertThatThrownBy(() -> JvmDirectMemory.size(value)).isInstanceOf(SourceException.class)
        .hasMessageContaining("not a size");
  }

  @ParameterizedTest
  @ValueSource(strings = {"9223372036854775808", "99999999999999999999", "8388608t", "0x8000000000000000"})
  void sizesBeyondALongAreRefused(String value) {
    assertThatThrownBy(() -> JvmDirectMemory.size(value)).isInstanceOf(SourceException.class)
        .hasMessageContaining("beyond");
  }

  @Test
  void theFlagSetsTheLimit() {
    Reading<DirectMemory> r = JvmDirectMemory.of(1000, List.of("-Xmx1g", "-XX:MaxDirectMemorySize=64m"), HEAP);
    assertThat(r.optional()).contains(new DirectMemory(1000, 64L << 20, LimitOrigin.COMMAND_LINE));
  }

  @Test
  void theLastFlagWinsAsInTheJvm() {
    List<String> args = List.of("-XX:MaxDirectMemorySize=64m", "-XX:MaxDirectMemorySize=0x1000000");
    assertThat(JvmDirectMemory.of(0, args, HEAP).optional().orElseThrow().limitBytes()).isEqualTo(16L << 20);
  }

  @Test
  void withoutTheFlagTheLimitIsTheMaximumHeap() {
    Reading<DirectMemory> r = JvmDirectMemory.of(1000, List.of("-Xmx512m", "-XX:MaxDirectMemorySizeX=1"), HEAP);
    assertThat(r.optional()).contains(new DirectMemory(1000, HEAP, LimitOrigin.HEAP_MAX));
  }

  @Test
  void aZeroFlagIsTheJvmsDefault() {
    assertThat(JvmDirectMemory.of(0, List.of("-XX:MaxDirectMemorySize=0"), HEAP).optional().orElseThrow().limitOrigin())
        .isEqualTo(LimitOrigin.HEAP_MAX);
  }

  @Test
  void anUnreadableFlagIsAbsentNotGuessed() {
    Reading<DirectMemory> r = JvmDirectMemory.of(0, List.of("-XX:MaxDirectMemorySize=lots"), HEAP);
    assertThat(r).isEqualTo(Reading.absent("cannot read -XX:MaxDirectMemorySize=lots: not a size"));
  }

  @Test
  void anUnreportedUseIsAbsent() {
    assertThat(JvmDirectMemory.of(-1, List.of(), HEAP).isPresent()).isFalse();
  }

  @Test
  void noFlagAndNoHeapLimitIsAbsent() {
    assertThat(JvmDirectMemory.of(0, List.of(), 0).isPresent()).isFalse();
  }

  @Test
  void thisJvmsDirectMemoryIsRead() {
    DirectMemory d = MemorySources.host().directMemory().optional().orElseThrow();
    assertThat(d.usedBytes()).isNotNegative();
    assertThat(d.limitBytes()).isPositive();
    if (d.limitOrigin() == LimitOrigin.HEAP_MAX) {
      assertThat(d.limitBytes()).isEqualTo(Runtime.getRuntime().maxMemory());
    }
  }
}
