package dev.spillway.streams;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.typed.ActorSystem;
import com.typesafe.config.ConfigFactory;
import dev.spillway.config.SpillwaySettings;
import dev.spillway.memory.BlockAllocator;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/**
 * One actor system for the test class (Akka 2.8's testkit has no JUnit 5 extension: a static
 * {@link ActorTestKit}, shut down in {@link AfterAll}); tiered allocators in a temporary directory,
 * closed after each test, with a leak check of their blocks first.
 */
public abstract class StreamsTestBase {
  /** Started before each test class and shut down after it (classes run one after another). */
  protected static ActorTestKit testKit;

  @TempDir protected Path tmp;
  private final List<AutoCloseable> closeables = new ArrayList<>();
  private final List<BlockAllocator> allocators = new ArrayList<>();
  /** Tests that deliberately leave blocks behind set this to false. */
  protected boolean checkLeaks = true;

  protected static ActorSystem<?> system() {
    return testKit.system();
  }

  /** Settings from {@code hocon} (sections under {@code spillway}) with the tier in {@code dir}. */
  protected static SpillwaySettings settings(Path dir, String hocon) {
    SpillwaySettings s = SpillwaySettings.from(ConfigFactory.parseString("spillway { " + hocon + " }"));
    return s.withTier(s.tier().withDirectories(List.of(dir.toAbsolutePath())));
  }

  protected BlockAllocator allocator(SpillwaySettings settings) {
    try {
      BlockAllocator a = BlockAllocator.open(settings);
      allocators.add(a);
      closeables.add(a);
      return a;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Registers something to close after the test, before the allocators it uses. */
  protected <T extends AutoCloseable> T closeAfter(T closeable) {
    closeables.add(closeable);
    return closeable;
  }

  /** How long a test waits for one answer of a stream (see {@link #await}) before it fails. */
  protected Duration answerTimeout() {
    return Duration.ofSeconds(60);
  }

  /**
   * What {@code stage} completes with, waiting {@link #answerTimeout()} at most; when it fails, its
   * failure is thrown as it is.
   */
  protected <T> T await(CompletionStage<T> stage) throws Exception {
    try {
      return stage.toCompletableFuture().get(answerTimeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw (Exception) e.getCause();
    }
  }

  /** The failure {@code stage} completes with, waiting {@link #answerTimeout()} at most. */
  protected Throwable failureOf(CompletionStage<?> stage) {
    try {
      stage.toCompletableFuture().get(answerTimeout().toMillis(), TimeUnit.MILLISECONDS);
      throw new AssertionError("expected the stage to fail");
    } catch (ExecutionException e) {
      return e.getCause();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** Deterministic bytes for block {@code i}: random, or with every other byte zero (about 2:1 for LZ4). */
  protected static byte[] pattern(long i, int size, boolean compressible) {
    SplittableRandom r = new SplittableRandom(i * 0x9E3779B97F4A7C15L + size);
    byte[] b = new byte[size];
    for (int k = 0; k < size; k++) {
      b[k] = compressible && (k & 1) == 1 ? 0 : (byte) r.nextInt();
    }
    return b;
  }

  @AfterEach
  protected void closeEverything() throws Exception {
    try {
      for (int i = closeables.size() - 1; i >= 0; i--) {
        AutoCloseable c = closeables.get(i);
        if (c instanceof BlockAllocator a && checkLeaks) {
          assertThat(a.stats().blocksInUse()).as("blocks the test left in RAM").isZero();
          assertThat(a.stats().spill().spilledBlocks()).as("spilled blocks the test left").isZero();
        }
        c.close();
      }
    } finally {
      closeables.clear();
      allocators.clear();
    }
  }

  @BeforeAll
  static void startTestKit() {
    testKit = ActorTestKit.create();
  }

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }
}
