package dev.spillway.config;

import java.time.Duration;
import java.util.Locale;
import java.util.Objects;

/**
 * How blocks spill to the NVMe tier ({@code spillway.spill}), including the batched spill pipeline
 * of the streams module ({@code spillway.spill.pipeline}).
 *
 * @param codec how a spilled block's bytes are stored
 * @param queueSize most spill requests in flight in the pipeline (queued, encoding, batching or being
 *     written); an offer beyond it is answered "full" at once
 * @param encodeParallelism groups of requests copied and encoded at the same time
 * @param batchBytes a write batch holds at most this many stored payload bytes (each record adds a
 *     48-byte header); a single larger record makes a batch of its own
 * @param batchDelay ... or once its first record has waited this long
 * @param minBackoff first pause of the writer after a failed batch
 * @param maxBackoff longest pause; the pause doubles per consecutive failure up to it
 */
public record SpillSettings(SpillCodec codec, int queueSize, int encodeParallelism, long batchBytes,
    Duration batchDelay, Duration minBackoff, Duration maxBackoff) {

  /** The codec of spilled blocks. */
  public enum SpillCodec {
    /** LZ4, kept only when it saves at least {@code spillway.codec.lz4.min-gain}; raw otherwise. */
    LZ4,
    /** The bytes as they are. */
    RAW,
    /**
     * Zstd at {@code spillway.codec.zstd.level}, kept only when it saves at least {@code
     * spillway.codec.zstd.min-gain}; raw otherwise. Slower than LZ4, smaller records.
     */
    ZSTD;

    /** The value's name in configuration ({@code lz4}, {@code raw}, {@code zstd}), also a codec's name. */
    public String configName() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** What {@code spillway.spill.codec} allows, for messages. */
  public static final String CODECS_ALLOWED = "lz4, zstd, raw";

  /** Bounds of {@code pipeline.queue-size}. */
  public static final int MAX_QUEUE_SIZE = 1 << 20;
  /** Bounds of {@code pipeline.encode-parallelism}. */
  public static final int MAX_ENCODE_PARALLELISM = 64;
  /** Bounds of {@code pipeline.batch-bytes}. */
  public static final long MIN_BATCH_BYTES = 4 << 10;
  public static final long MAX_BATCH_BYTES = 1L << 30;

  public SpillSettings {
    Objects.requireNonNull(codec, "codec");
    Objects.requireNonNull(batchDelay, "batchDelay");
    Objects.requireNonNull(minBackoff, "minBackoff");
    Objects.requireNonNull(maxBackoff, "maxBackoff");
    check(queueSize >= 1 && queueSize <= MAX_QUEUE_SIZE, "queueSize", queueSize + ": allowed 1 to " + MAX_QUEUE_SIZE);
    check(encodeParallelism >= 1 && encodeParallelism <= MAX_ENCODE_PARALLELISM, "encodeParallelism",
        encodeParallelism + ": allowed 1 to " + MAX_ENCODE_PARALLELISM);
    check(batchBytes >= MIN_BATCH_BYTES && batchBytes <= MAX_BATCH_BYTES, "batchBytes",
        batchBytes + ": allowed " + Sizes.format(MIN_BATCH_BYTES) + " to " + Sizes.format(MAX_BATCH_BYTES));
    check(!batchDelay.isNegative() && !batchDelay.isZero(), "batchDelay", batchDelay + ": must be positive");
    check(!minBackoff.isNegative() && !minBackoff.isZero(), "minBackoff", minBackoff + ": must be positive");
    check(maxBackoff.compareTo(minBackoff) >= 0, "maxBackoff", maxBackoff + ": must be at least minBackoff "
        + minBackoff);
  }

  private static void check(boolean ok, String name, String message) {
    if (!ok) {
      throw new IllegalArgumentException(name + " = " + message);
    }
  }

  /** A copy with another codec. */
  public SpillSettings withCodec(SpillCodec value) {
    return new SpillSettings(value, queueSize, encodeParallelism, batchBytes, batchDelay, minBackoff, maxBackoff);
  }

  /** A copy with other pipeline bounds. */
  public SpillSettings withPipeline(int queue, int parallelism, long bytes, Duration delay) {
    return new SpillSettings(codec, queue, parallelism, bytes, delay, minBackoff, maxBackoff);
  }

  /** A copy with another restart backoff. */
  public SpillSettings withBackoff(Duration min, Duration max) {
    return new SpillSettings(codec, queueSize, encodeParallelism, batchBytes, batchDelay, min, max);
  }

  static SpillSettings read(ConfigReader spill) {
    String key = spill.key("codec");
    String value = spill.string("codec");
    SpillCodec codec;
    try {
      codec = SpillCodec.valueOf(value.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new SettingsException(key, "= \"" + value + "\" is not allowed: allowed " + CODECS_ALLOWED, e);
    }
    ConfigReader p = spill.child("pipeline");
    int queue = (int) p.count("queue-size", 1, MAX_QUEUE_SIZE);
    int parallelism = (int) p.count("encode-parallelism", 1, MAX_ENCODE_PARALLELISM);
    long bytes = p.bytes("batch-bytes", MIN_BATCH_BYTES, MAX_BATCH_BYTES);
    Duration delay = p.duration("batch-delay", Duration.ofNanos(1_000), Duration.ofSeconds(60));
    Duration min = p.duration("restart.min-backoff", Duration.ofMillis(1), Duration.ofMinutes(10));
    Duration max = p.duration("restart.max-backoff", Duration.ofMillis(1), Duration.ofHours(1));
    if (max.compareTo(min) < 0) {
      throw new SettingsException(p.key("restart.max-backoff"), "= " + max + " is less than restart.min-backoff = "
          + min + ": allowed min-backoff <= max-backoff");
    }
    return new SpillSettings(codec, queue, parallelism, bytes, delay, min, max);
  }
}
