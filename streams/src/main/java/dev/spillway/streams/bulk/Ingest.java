package dev.spillway.streams.bulk;

import akka.NotUsed;
import akka.stream.javadsl.Flow;
import akka.stream.javadsl.Keep;
import akka.stream.javadsl.Sink;
import akka.util.ByteString;
import dev.spillway.config.StreamSettings;
import dev.spillway.codec.KryoCodec;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.streams.spill.SpillRequests;
import java.util.Objects;
import java.util.concurrent.CompletionStage;

/**
 * Bulk ingestion: streams of {@link ByteString} chunks (or objects, through the Kryo codec) stored as
 * blocks, one block per element. An ingestion keeps at most {@code spillway.streams.ingest-resident-bytes}
 * of its blocks in RAM and spills the oldest through the spill pipeline ({@link SpillRequests}) as it
 * goes, so an input many times larger than RAM never runs out of memory and loses nothing; when even
 * that cannot make room (the pool is full of other blocks and the tier refuses writes) the stream
 * fails with a clear error and every block stored so far stays valid.
 *
 * <p>An invalid element (an empty chunk, or one over {@code spillway.memory.max-block-size}) fails the
 * stream naming the element and the allowed range. Akka Streams itself refuses null elements.
 */
public final class Ingest {
  private Ingest() {}

  /** A flow that stores each chunk as a block and emits its handle, in order. */
  public static Flow<ByteString, Long, NotUsed> flow(BlockAllocator allocator, SpillRequests pipeline,
      StreamSettings settings) {
    Objects.requireNonNull(allocator, "allocator");
    Objects.requireNonNull(pipeline, "pipeline");
    Objects.requireNonNull(settings, "settings");
    return Flow.<ByteString>create().via(Flow.fromMaterializer((mat, attributes) -> {
      IngestWindow window = new IngestWindow(allocator, pipeline, settings.ingestResidentBytes());
      return Flow.<ByteString>create().mapAsync(1, window::store);
    })).mapMaterializedValue(m -> NotUsed.getInstance());
  }

  /**
   * A sink that stores each chunk as a block and materializes the {@link IngestSummary} once the
   * stream completes and the spills it started are answered. On failure the stage fails with an
   * {@link IngestFailedException} whose summary lists the blocks stored before it.
   */
  public static Sink<ByteString, CompletionStage<IngestSummary>> sink(BlockAllocator allocator,
      SpillRequests pipeline, StreamSettings settings) {
    return summarize(allocator, flow(allocator, pipeline, settings));
  }

  /** {@link #flow} for objects: each is serialized with {@code kryo} (classes must be registered). */
  public static <T> Flow<T, Long, NotUsed> objects(BlockAllocator allocator, SpillRequests pipeline,
      StreamSettings settings, KryoCodec kryo) {
    Objects.requireNonNull(kryo, "kryo");
    return Flow.<T>create().map(o -> ByteString.fromArrayUnsafe(kryo.serialize(o))).via(flow(allocator, pipeline,
        settings));
  }

  /** {@link #sink} for objects serialized with {@code kryo}. */
  public static <T> Sink<T, CompletionStage<IngestSummary>> objectSink(BlockAllocator allocator,
      SpillRequests pipeline, StreamSettings settings, KryoCodec kryo) {
    return summarize(allocator, objects(allocator, pipeline, settings, kryo));
  }

  private static <T> Sink<T, CompletionStage<IngestSummary>> summarize(BlockAllocator allocator,
      Flow<T, Long, NotUsed> store) {
    return Sink.<T, CompletionStage<IngestSummary>>fromMaterializer((mat, attributes) -> {
      SummaryBuilder summary = new SummaryBuilder(allocator);
      return store.toMat(Sink.foreach(summary::add), Keep.right())
          .mapMaterializedValue(done -> done.handle((d, error) -> {
            if (error != null) {
              throw new IngestFailedException(summary.build(), unwrap(error));
            }
            return summary.build();
          }));
    }).mapMaterializedValue(stage -> stage.thenCompose(s -> s));
  }

  private static Throwable unwrap(Throwable e) {
    return e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
  }

  /** Collects handles as they are emitted (by one stage, in order). */
  private static final class SummaryBuilder {
    private long[] handles = new long[64];
    private int count;
    private long bytes;
    private final BlockAllocator allocator;

    SummaryBuilder(BlockAllocator allocator) {
      this.allocator = allocator;
    }

    void add(Long handle) {
      if (count == handles.length) {
        handles = java.util.Arrays.copyOf(handles, count * 2);
      }
      handles[count++] = handle;
      bytes += allocator.size(handle); // never restores: a spilled block's size is in its table entry
    }

    IngestSummary build() {
      return new IngestSummary(count, bytes, java.util.Arrays.copyOf(handles, count));
    }
  }
}
