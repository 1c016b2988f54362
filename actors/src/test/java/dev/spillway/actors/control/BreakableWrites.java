package dev.spillway.actors.control;

import static org.assertj.core.api.Assertions.assertThat;

import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.spi.AllocatorControl;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An allocator as a spill pipeline sees it, whose writes break on demand: the next {@code n} calls of
 * {@code writeSpills} wait for a gate and then throw an {@link InjectedError}, which is no failed
 * batch (that would be a RuntimeException) but a broken write stage: the pipeline's stream stops.
 */
public final class BreakableWrites {
  /** What a broken write throws. */
  public static final class InjectedError extends Error {
    InjectedError() {
      super("injected: the write step is broken");
    }
  }

  private final AtomicInteger failing = new AtomicInteger();
  private volatile CountDownLatch gate = new CountDownLatch(0);

  /** The next {@code n} writes wait for {@code gate} (up to a minute), then throw an {@link InjectedError}. */
  public void failNext(int n, CountDownLatch gate) {
    this.gate = gate;
    failing.set(n);
  }

  /** {@code a}, with its writes breaking as {@link #failNext} says. */
  public BlockAllocator over(BlockAllocator a) {
    AllocatorControl control = (AllocatorControl) Proxy.newProxyInstance(AllocatorControl.class.getClassLoader(),
        new Class<?>[] {AllocatorControl.class}, (proxy, method, args) -> {
          if (method.getName().equals("writeSpills") && failing.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            assertThat(gate.await(60, TimeUnit.SECONDS)).isTrue();
            throw new InjectedError();
          }
          try {
            return method.invoke(a.control(), args);
          } catch (InvocationTargetException e) {
            throw e.getCause();
          }
        });
    return (BlockAllocator) Proxy.newProxyInstance(BlockAllocator.class.getClassLoader(),
        new Class<?>[] {BlockAllocator.class}, (proxy, method, args) -> {
          if (method.getName().equals("control")) {
            return control;
          }
          try {
            return method.invoke(a, args);
          } catch (InvocationTargetException e) {
            throw e.getCause();
          }
        });
  }
}
