package dev.spillway.streams.map;

import akka.NotUsed;
import akka.actor.typed.ActorSystem;
import akka.stream.javadsl.Flow;
import akka.stream.javadsl.Keep;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import dev.spillway.config.StreamSettings;
import dev.spillway.map.SpillMap;
import dev.spillway.streams.spill.IoDispatcher;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/**
 * Bulk loading into a {@link SpillMap} and export out of one, as Akka Streams stages. Writes run on
 * Spillway's I/O dispatcher (a write may wait for the memory budget, a read for NVMe), never on the
 * threads that run stages.
 */
public final class MapStreams {
  /** Entries written by one task. */
  static final int BATCH = 256;

  private MapStreams() {}

  /**
   * A sink that writes every entry into {@code map} ({@link SpillMap#set}: a later entry of the same
   * key replaces an earlier one) and completes with the number of entries written. Entries are
   * routed by key to {@code settings.restoreParallelism()} lanes, each writing batches of {@value
   * #BATCH} in order, so entries of the same key are written in the order they arrived while
   * different keys are written in parallel. Backpressure: the upstream is pulled only as fast as the
   * writes complete. A null key or value, a value the map refuses, or a closed map fails the stream
   * with the map's exception: entries of batches written before stay, entries of batches still in
   * flight in other lanes may or may not have been written, and nothing else is.
   */
  public static <K, V> Sink<Map.Entry<K, V>, CompletionStage<Long>> sink(SpillMap<K, V> map, StreamSettings settings,
      ActorSystem<?> system) {
    Objects.requireNonNull(map, "map");
    Objects.requireNonNull(settings, "settings");
    Executor io = IoDispatcher.of(system);
    int lanes = Math.max(1, settings.restoreParallelism());
    Flow<Map.Entry<K, V>, Integer, NotUsed> write = Flow.<Map.Entry<K, V>>create()
        .groupBy(lanes, e -> Math.floorMod(route(e.getKey()), lanes))
        .grouped(BATCH)
        .mapAsync(1, batch -> IoDispatcher.supply(() -> writeAll(map, batch), io))
        .mergeSubstreams();
    return write.toMat(Sink.fold(0L, (n, written) -> n + written), Keep.right());
  }

  private static <K, V> int writeAll(SpillMap<K, V> map, List<Map.Entry<K, V>> batch) {
    for (Map.Entry<K, V> e : batch) {
      map.set(e.getKey(), e.getValue());
    }
    return batch.size();
  }

  /** A lane for a key: equal keys (by content for arrays and segments) always take the same lane. */
  static int route(Object key) {
    Objects.requireNonNull(key, "null keys are not allowed");
    return switch (key) {
      case byte[] b -> Arrays.hashCode(b);
      case MemorySegment s -> s.asByteBuffer().hashCode();
      default -> key.hashCode();
    };
  }

  /**
   * Every entry of {@code map}, weakly consistent as its iteration is; values on NVMe are read
   * without being restored into RAM, so exporting more than RAM holds does not pull it all in. The
   * iteration runs on the I/O dispatcher.
   */
  public static <K, V> Source<Map.Entry<K, V>, NotUsed> source(SpillMap<K, V> map, ActorSystem<?> system) {
    Objects.requireNonNull(map, "map");
    Executor io = IoDispatcher.of(system);
    return Source.<Iterator<Map.Entry<K, V>>>lazySingle(() -> map.entrySet().iterator())
        .flatMapConcat(it -> Source.unfoldAsync(it, i -> IoDispatcher.supply(() -> next(i), io)));
  }

  private static <K, V> java.util.Optional<akka.japi.Pair<Iterator<Map.Entry<K, V>>, Map.Entry<K, V>>> next(
      Iterator<Map.Entry<K, V>> it) {
    if (!it.hasNext()) {
      return java.util.Optional.empty();
    }
    return java.util.Optional.of(akka.japi.Pair.create(it, it.next()));
  }
}
