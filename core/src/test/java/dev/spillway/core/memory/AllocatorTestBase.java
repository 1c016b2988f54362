package dev.spillway.core.memory;

import dev.spillway.memory.AllocatorStats;
import dev.spillway.memory.BlockAllocator;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.typesafe.config.ConfigFactory;
import dev.spillway.config.MemorySettings;
import dev.spillway.config.SpillwaySettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;

/**
 * Base of allocator tests: allocators made through {@link #allocator} are checked for leaked blocks
 * after each test (a test that leaks fails) and then closed.
 */
abstract class AllocatorTestBase {
  private final List<BlockAllocator> open = new ArrayList<>();
  /** Tests that deliberately end with live blocks clear this. */
  protected boolean checkLeaks = true;

  protected BlockAllocator allocator() {
    return allocator("");
  }

  /** An allocator with {@code hocon} (keys below {@code spillway.memory}) over the defaults. */
  protected BlockAllocator allocator(String hocon) {
    BlockAllocator a = BlockAllocator.create(settings(hocon));
    open.add(a);
    return a;
  }

  /**
   * An allocator spilling to {@code dir} with durability {@code batch}; {@code hocon} holds whole
   * {@code spillway} sections (e.g. {@code memory { ... } spill { codec = raw }}).
   */
  protected BlockAllocator tiered(java.nio.file.Path dir, String hocon) {
    return tiered(dir, hocon, MoveObserver.NONE);
  }

  /** {@link #tiered(java.nio.file.Path, String)} whose move protocols tell {@code observer} their racy moments. */
  protected BlockAllocator tiered(java.nio.file.Path dir, String hocon, MoveObserver observer) {
    SpillwaySettings s = SpillwaySettings.from(ConfigFactory.parseString("spillway { " + hocon + " }")
        .withFallback(ConfigFactory.parseString("spillway.tier { durability = batch, directories = [\""
            + dir.toAbsolutePath() + "\"] }")));
    try {
      BlockAllocator a = Allocators.open(s, observer);
      open.add(a);
      return a;
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  static MemorySettings settings(String hocon) {
    return SpillwaySettings.from(ConfigFactory.parseString("spillway.memory { " + hocon + " }")).memory();
  }

  @AfterEach
  void checkNoLeaksAndClose() {
    try {
      if (checkLeaks) {
        for (BlockAllocator a : open) {
          AllocatorStats stats = a.stats();
          assertThat(stats.blocksInUse()).as("blocks leaked by the test: %s", stats).isZero();
          assertThat(stats.spill().spilledBlocks()).as("spilled blocks leaked by the test: %s", stats).isZero();
        }
      }
    } finally {
      open.forEach(BlockAllocator::close);
      open.clear();
    }
  }

  /** Reads {@code expected.length} bytes of block {@code h} and checks they are {@code expected}. */
  protected static void assertBytes(BlockAllocator a, long h, byte[] expected) {
    byte[] got = new byte[expected.length];
    a.read(h, 0, got, 0, got.length);
    assertThat(got).isEqualTo(expected);
  }

  /** A stress thread's work. */
  protected interface Body {
    void run() throws Exception;
  }

  /**
   * Lets a concurrent load run: {@code minimum} at the least (the load itself is the scenario), then on
   * until {@code happened} holds, so that what the test asserts afterwards had its chance to happen,
   * and no longer than a minute more; it returns at once when a worker has failed. The caller then
   * stops the load and asserts: a wait that ran out is reported by those assertions.
   */
  protected static void keepLoadRunning(Duration minimum, AtomicReference<Throwable> failure,
      BooleanSupplier happened) {
    long start = System.nanoTime();
    try {
      await().atMost(minimum.plusMinutes(1)).pollInterval(Duration.ofMillis(20)).until(() -> failure.get() != null
          || (System.nanoTime() - start >= minimum.toNanos() && happened.getAsBoolean()));
    } catch (ConditionTimeoutException e) {
      // the assertions after the load say what did not happen
    }
  }

  /**
   * Runs {@code body} once all threads reached {@code start}; the first failure is kept in
   * {@code failure}, later ones are added to it as suppressed.
   */
  protected static void run(java.util.concurrent.CyclicBarrier start,
      java.util.concurrent.atomic.AtomicReference<Throwable> failure, Body body) {
    try {
      start.await(10, java.util.concurrent.TimeUnit.SECONDS);
      body.run();
    } catch (Throwable t) {
      if (!failure.compareAndSet(null, t)) {
        failure.get().addSuppressed(t);
      }
    }
  }
}
