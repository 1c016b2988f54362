package dev.spillway.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code spillway.spill.pipeline} and {@code spillway.streams}: defaults, overrides, every bad value named. */
class PipelineAndStreamSettingsTest {

  private static SpillwaySettings load(String hocon) {
    return SpillwaySettings.from(ConfigFactory.parseString("spillway { " + hocon + " }"));
  }

  @Test
  void embeddedDefaults() {
    SpillwaySettings s = SpillwaySettings.defaults();
    assertThat(s.spill().queueSize()).isEqualTo(4096);
    assertThat(s.spill().encodeParallelism()).isEqualTo(2);
    assertThat(s.spill().batchBytes()).isEqualTo(4L << 20);
    assertThat(s.spill().batchDelay()).isEqualTo(Duration.ofMillis(5));
    assertThat(s.spill().minBackoff()).isEqualTo(Duration.ofMillis(100));
    assertThat(s.spill().maxBackoff()).isEqualTo(Duration.ofSeconds(10));
    assertThat(s.streams().ingestResidentBytes()).isEqualTo(64L << 20);
    assertThat(s.streams().restoreParallelism()).isEqualTo(4);
  }

  @Test
  void overrides() {
    SpillwaySettings s = load("spill.pipeline { queue-size = 16, encode-parallelism = 8, batch-bytes = 64 KiB,"
        + " batch-delay = 250 us, restart { min-backoff = 5 ms, max-backoff = 5 ms } },"
        + " streams { ingest-resident-bytes = 1 MiB, restore-parallelism = 1 }");
    assertThat(s.spill().queueSize()).isEqualTo(16);
    assertThat(s.spill().encodeParallelism()).isEqualTo(8);
    assertThat(s.spill().batchBytes()).isEqualTo(64L << 10);
    assertThat(s.spill().batchDelay()).isEqualTo(Duration.ofNanos(250_000));
    assertThat(s.spill().minBackoff()).isEqualTo(s.spill().maxBackoff()).isEqualTo(Duration.ofMillis(5));
    assertThat(s.streams().ingestResidentBytes()).isEqualTo(1L << 20);
    assertThat(s.streams().restoreParallelism()).isEqualTo(1);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
    "spill.pipeline.queue-size = 0                | spillway.spill.pipeline.queue-size | allowed 1 to 1048576",
    "spill.pipeline.queue-size = many             | spillway.spill.pipeline.queue-size | must be a whole number",
    "spill.pipeline.encode-parallelism = 65       | spillway.spill.pipeline.encode-parallelism | allowed 1 to 64",
    "spill.pipeline.batch-bytes = 1 KiB           | spillway.spill.pipeline.batch-bytes | allowed 4 KiB to 1 GiB",
    "spill.pipeline.batch-delay = 0 ms            | spillway.spill.pipeline.batch-delay | out of range",
    "spill.pipeline.batch-delay = soon            | spillway.spill.pipeline.batch-delay | cannot be parsed as a duration",
    "spill.pipeline.restart.min-backoff = 0 s     | spillway.spill.pipeline.restart.min-backoff | out of range",
    "spill.pipeline.restart.max-backoff = 50 ms   | spillway.spill.pipeline.restart.max-backoff | min-backoff <= max-backoff",
    "streams.ingest-resident-bytes = 0            | spillway.streams.ingest-resident-bytes | allowed 1 B to 1 TiB",
    "streams.restore-parallelism = 257            | spillway.streams.restore-parallelism | allowed 1 to 256",
  })
  void badValuesAreNamed(String hocon, String key, String allowed) {
    assertThatThrownBy(() -> load(hocon))
        .isInstanceOf(SettingsException.class)
        .hasMessageContaining(key.strip())
        .hasMessageContaining(allowed.strip());
  }

  @Test
  void recordsRejectWhatTheConfigRejects() {
    SpillSettings spill = SpillwaySettings.defaults().spill();
    assertThatThrownBy(() -> spill.withPipeline(0, 1, 1 << 20, Duration.ofMillis(1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("queueSize = 0: allowed 1 to");
    assertThatThrownBy(() -> spill.withBackoff(Duration.ofSeconds(2), Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("must be at least minBackoff");
    assertThatThrownBy(() -> SpillwaySettings.defaults().streams().withIngestResidentBytes(0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ingestResidentBytes = 0");
  }
}
