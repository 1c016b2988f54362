package dev.spillway.map;

import static org.assertj.core.api.Assertions.assertThat;

import dev.spillway.config.MapSettings;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.spi.AllocatorControl;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A forced interleaving of {@link SpillMap#demote}: while the demoted entries are being written, another
 * thread takes the segment's lock and keeps it until the demotion has returned. This is the control
 * plane's case of a writer waiting under the lock for the budget that the demotion makes room in: a
 * demotion that waited for the lock after its write would never return, and the writer would time out.
 */
class SpillMapDemotionInterleavingTest {
  @TempDir Path dir;

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void aDemotionReturnsWithoutWaitingForTheLockTakenDuringItsWrite() throws Exception {
    BlockAllocator real = MapTestSupport.tiered(dir);
    AtomicReference<Runnable> duringWrite = new AtomicReference<>();
    BlockAllocator memory = withHookInWriteSpills(real, duringWrite);
    SpillMap<Long, byte[]> map = SpillMaps.builder(memory, "interleaved", Long.class, byte[].class)
        .settings(MapSettings.builder("interleaved").segments(1).build()).build();
    for (long i = 0; i < 16; i++) {
      map.put(i, value(i));
    }
    CountDownLatch locked = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    AtomicReference<Throwable> holderFailure = new AtomicReference<>();
    Thread holder = new Thread(() -> {
      try {
        map.compute(1000L, (k, v) -> {
          locked.countDown();
          awaitQuietly(release);
          return value(1000L);
        });
      } catch (Throwable t) {
        holderFailure.set(t);
        locked.countDown();
      }
    }, "lock-holder");
    duringWrite.set(() -> {
      holder.start();
      awaitQuietly(locked);
    });

    long demoted;
    try {
      demoted = map.demote(Long.MAX_VALUE); // returns while the holder still has the lock
      assertThat(holder.isAlive()).as("the lock is still held when the demotion returns").isTrue();
    } finally {
      release.countDown();
      holder.join(TimeUnit.SECONDS.toMillis(30));
    }
    assertThat(holderFailure.get()).isNull();
    assertThat(demoted).isEqualTo(16 * 4096);
    for (long i = 0; i < 16; i++) {
      assertThat(map.isResident(i)).as("entry %d on NVMe", i).isFalse();
    }
    assertThat(map.stats().demotions()).as("the bookkeeping done by the next holder of the lock").isEqualTo(16);
    for (long i = 0; i < 16; i++) {
      assertThat(map.get(i)).isEqualTo(value(i));
    }
    assertThat(map.get(1000L)).isEqualTo(value(1000L));
    MapTestSupport.closeAndCheck(map, real);
  }

  private static byte[] value(long i) {
    byte[] v = new byte[4096];
    java.util.Arrays.fill(v, (byte) i);
    v[0] = (byte) (i >> 8);
    return v;
  }

  private static void awaitQuietly(CountDownLatch latch) {
    try {
      if (!latch.await(30, TimeUnit.SECONDS)) {
        throw new AssertionError("latch not released in 30 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** {@code real}, except that its control runs {@code hook} (once) before each {@code writeSpills}. */
  private static BlockAllocator withHookInWriteSpills(BlockAllocator real, AtomicReference<Runnable> hook) {
    AllocatorControl control = real.control();
    AllocatorControl hooked = proxy(AllocatorControl.class, (p, m, args) -> {
      if (m.getName().equals("writeSpills")) {
        Runnable r = hook.getAndSet(null);
        if (r != null) {
          r.run();
        }
      }
      return forward(control, m, args);
    });
    return proxy(BlockAllocator.class, (p, m, args) ->
        m.getName().equals("control") && m.getParameterCount() == 0 ? hooked : forward(real, m, args));
  }

  private static Object forward(Object target, java.lang.reflect.Method m, Object[] args) throws Throwable {
    try {
      return m.invoke(target, args);
    } catch (InvocationTargetException e) {
      throw e.getCause();
    }
  }

  private static <T> T proxy(Class<T> type, InvocationHandler handler) {
    return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, handler));
  }
}
