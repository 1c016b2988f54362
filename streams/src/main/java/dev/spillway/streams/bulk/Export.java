package dev.spillway.streams.bulk;

import akka.NotUsed;
import akka.actor.typed.ActorSystem;
import akka.stream.javadsl.Source;
import akka.util.ByteString;
import dev.spillway.config.StreamSettings;
import dev.spillway.codec.KryoCodec;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.streams.spill.IoDispatcher;
import java.lang.foreign.MemorySegment;
import java.util.Objects;
import java.util.concurrent.Executor;

/**
 * Export: stored blocks streamed back, in the order of their handles. A spilled block is decoded
 * straight from its record ({@link dev.spillway.memory.spi.AllocatorControl#copyOut}) and stays spilled, so exporting more than
 * RAM holds does not pull it all back in. Up to {@code spillway.streams.restore-parallelism} blocks
 * are read at once on the {@link IoDispatcher}; order is kept. A handle of no live block fails the
 * stream with {@link dev.spillway.memory.InvalidHandleException}, a record that cannot be read
 * with {@link dev.spillway.memory.RestoreFailedException}: never wrong bytes.
 */
public final class Export {
  private Export() {}

  /** The bytes of each block of {@code handles}, one element per block, in order. */
  public static Source<ByteString, NotUsed> source(BlockAllocator allocator, long[] handles, StreamSettings settings,
      ActorSystem<?> system) {
    Objects.requireNonNull(handles, "handles");
    return source(allocator, Source.from(java.util.Arrays.stream(handles).boxed().toList()), settings, system);
  }

  /** The bytes of each block whose handle {@code handles} emits, in order. */
  public static <M> Source<ByteString, M> source(BlockAllocator allocator, Source<Long, M> handles,
      StreamSettings settings, ActorSystem<?> system) {
    Objects.requireNonNull(allocator, "allocator");
    Objects.requireNonNull(handles, "handles");
    Objects.requireNonNull(settings, "settings");
    Executor io = IoDispatcher.of(system);
    // A failed read travels as a value and fails the stream only in its turn, so every block before it
    // is emitted first (mapAsync would fail at once, dropping earlier reads still in flight).
    return handles.mapAsync(settings.restoreParallelism(), h -> IoDispatcher.supply(() -> read(allocator, h), io))
        .map(Read::get);
  }

  /** The bytes of one block, or why they could not be read. */
  private record Read(ByteString bytes, RuntimeException error) {
    ByteString get() {
      if (error != null) {
        throw error;
      }
      return bytes;
    }
  }

  private static Read read(BlockAllocator allocator, long handle) {
    try {
      return new Read(bytesOf(allocator, handle), null);
    } catch (RuntimeException e) {
      return new Read(null, e);
    }
  }

  /** Objects stored by {@link Ingest#objects}, deserialized with {@code kryo}, in order. */
  public static <T> Source<T, NotUsed> objects(BlockAllocator allocator, long[] handles, StreamSettings settings,
      ActorSystem<?> system, KryoCodec kryo, Class<T> type) {
    Objects.requireNonNull(kryo, "kryo");
    Objects.requireNonNull(type, "type");
    return source(allocator, handles, settings, system).map(b -> type.cast(kryo.deserialize(b.asByteBuffer())));
  }

  private static ByteString bytesOf(BlockAllocator allocator, long handle) {
    byte[] bytes = new byte[Math.toIntExact(allocator.size(handle))];
    allocator.control().copyOut(handle, MemorySegment.ofArray(bytes));
    return ByteString.fromArrayUnsafe(bytes);
  }
}
