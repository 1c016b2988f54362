package dev.spillway.streams.bulk;

import akka.NotUsed;
import akka.actor.typed.ActorSystem;
import akka.stream.javadsl.Flow;
import dev.spillway.config.StreamSettings;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.streams.spill.IoDispatcher;
import java.util.Objects;
import java.util.concurrent.Executor;

/**
 * Restore ahead of use: a flow that brings each spilled block of the handles it receives back into RAM
 * ({@link dev.spillway.memory.spi.AllocatorControl#restore}) with up to {@code spillway.streams.restore-parallelism} restores at
 * once on the {@link IoDispatcher}, and emits each handle, in order, once its block is resident.
 */
public final class Prefetch {
  private Prefetch() {}

  public static Flow<Long, Long, NotUsed> flow(BlockAllocator allocator, StreamSettings settings,
      ActorSystem<?> system) {
    Objects.requireNonNull(allocator, "allocator");
    Objects.requireNonNull(settings, "settings");
    Executor io = IoDispatcher.of(system);
    return Flow.<Long>create().mapAsync(settings.restoreParallelism(), h -> IoDispatcher.supply(() -> {
      allocator.control().restore(h);
      return h;
    }, io));
  }
}
