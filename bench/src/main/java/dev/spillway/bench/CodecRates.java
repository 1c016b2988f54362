package dev.spillway.bench;

import static dev.spillway.bench.Figures.mibPerSecond;

import dev.spillway.codec.Codec;
import dev.spillway.codec.Codecs;
import dev.spillway.config.CodecSettings;
import dev.spillway.config.SpillSettings;
import dev.spillway.config.SpillSettings.SpillCodec;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.zip.CRC32C;

/**
 * The spill codec's own rate: the encode work a spill does per block, timed on the benchmark's own
 * blocks in the same round as the spills it bounds. MiB/s of raw input.
 *
 * <ul>
 *   <li>{@link SpillCodec#LZ4}: the product's own LZ4 codec ({@link Codecs#lz4()}: the
 *       {@code at.yawk.lz4} fork, {@code fastestInstance().fastCompressor()}, with the configured
 *       {@code spillway.codec.lz4.min-gain}) compresses the block into a direct buffer, then a CRC32C
 *       runs over the output: the compressed bytes, or the raw block when LZ4 declined
 *       ({@link Codec#STORE_RAW}). Every block tries LZ4; the allocator's compression probe tries only
 *       about one block in 32 once data stops compressing, so on incompressible data this rate is a
 *       pessimistic (low) bound for the spill's work.
 *   <li>{@link SpillCodec#RAW}: a copy of the block into a direct buffer ({@link Codecs#raw()}), then a
 *       CRC32C over the copy.
 * </ul>
 *
 * With {@code threads > 1} the blocks are cut into that many contiguous shares, each encoded on its
 * own pool thread; the time runs from handing out the shares to the last one done. One thread runs on
 * the caller, as the synchronous spill does. The 48-byte record header and its CRC are left out, and
 * so is where the product does each part of the work (the synchronous path writes RAW payloads
 * straight from their slots, without the copy; the record CRC is taken by the log's one writer).
 */
final class CodecRates implements AutoCloseable {
  private final Codecs codecs;
  private final ExecutorService pool;

  /** The codecs of {@code settings}, and a pool of {@code threads} threads for {@link #rate} on more than one. */
  CodecRates(CodecSettings settings, int threads) {
    this.codecs = Codecs.from(settings);
    this.pool = Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, "codec-rate");
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * The threads a pipeline may encode on: {@code spillway.spill.pipeline.encode-parallelism}, capped
   * by the available processors.
   */
  static int pipelineThreads(SpillSettings spill) {
    return Math.min(spill.encodeParallelism(), Runtime.getRuntime().availableProcessors());
  }

  /** The rate of encoding every block of {@code data} with {@code codec} on {@code threads} threads. */
  double rate(MemorySegment[] data, SpillCodec codec, int threads) {
    Codec with = codec == SpillCodec.LZ4 ? codecs.lz4() : codecs.raw();
    long total = 0;
    for (MemorySegment d : data) {
      total += d.byteSize();
    }
    long start = System.nanoTime();
    long check;
    if (threads == 1) {
      check = encode(with, data, 0, data.length);
    } else {
      List<Callable<Long>> shares = new ArrayList<>(threads);
      for (int t = 0; t < threads; t++) {
        int from = (int) ((long) data.length * t / threads);
        int to = (int) ((long) data.length * (t + 1) / threads);
        shares.add(() -> encode(with, data, from, to));
      }
      check = 0;
      try {
        for (Future<Long> f : pool.invokeAll(shares)) {
          check += f.get();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while timing the codec", e);
      } catch (ExecutionException e) {
        throw new IllegalStateException("the codec failed", e.getCause());
      }
    }
    double rate = mibPerSecond(total, System.nanoTime() - start);
    SpillRestoreBenchmark.sink += check;
    return rate;
  }

  /** Encodes {@code data[from, to)} and CRCs each output; returns the sum of the CRCs. */
  private static long encode(Codec codec, MemorySegment[] data, int from, int to) {
    long maxRaw = 0;
    for (int i = from; i < to; i++) {
      maxRaw = Math.max(maxRaw, data[i].byteSize());
    }
    ByteBuffer out = ByteBuffer.allocateDirect((int) codec.maxStoredLength(maxRaw));
    CRC32C crc = new CRC32C();
    long sum = 0;
    for (int i = from; i < to; i++) {
      ByteBuffer raw = data[i].asByteBuffer();
      int length = raw.remaining();
      int stored = codec.encode(raw, 0, length, out);
      crc.reset();
      if (stored == Codec.STORE_RAW) {
        crc.update(raw);
      } else {
        out.limit(stored).position(0);
        crc.update(out);
        out.clear();
      }
      sum += crc.getValue();
    }
    return sum;
  }

  @Override
  public void close() {
    pool.shutdownNow();
  }
}
