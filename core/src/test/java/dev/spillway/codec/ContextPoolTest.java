package dev.spillway.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The pool of native contexts: reuse, a bound on idle contexts, and nothing left open after closeAll. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ContextPoolTest {

  /** A context that counts how often it was closed. */
  static final class Ctx implements AutoCloseable {
    final AtomicInteger closes = new AtomicInteger();

    @Override
    public void close() {
      closes.incrementAndGet();
    }
  }

  @Test
  void reusesIdleContextsKeepsAtMostItsCapacityAndClosesTheRest() {
    List<Ctx> made = new ArrayList<>();
    ContextPool<Ctx> pool = new ContextPool<>(2, () -> {
      Ctx c = new Ctx();
      made.add(c);
      return c;
    });
    Ctx a = pool.take();
    pool.give(a);
    assertThat(pool.take()).as("the idle one again").isSameAs(a);
    Ctx b = pool.take();
    Ctx c = pool.take();
    assertThat(made).hasSize(3);
    pool.give(a);
    pool.give(b);
    pool.give(c);
    assertThat(pool.idle()).isEqualTo(2);
    assertThat(made).filteredOn(x -> x.closes.get() == 1).as("the third, given to a full pool").hasSize(1);
    pool.closeAll();
    assertThat(pool.idle()).isZero();
    assertThat(made).allSatisfy(x -> assertThat(x.closes.get()).isEqualTo(1));
    Ctx late = pool.take();
    pool.give(late);
    assertThat(late.closes.get()).as("given back after closeAll").isEqualTo(1);
    assertThat(pool.idle()).isZero();
    assertThatThrownBy(() -> new ContextPool<>(0, Ctx::new)).hasMessageContaining("capacity = 0");
  }

  @Test
  void manyThreadsNeverShareAContext() throws Exception {
    AtomicInteger made = new AtomicInteger();
    ContextPool<Ctx> pool = new ContextPool<>(4, () -> {
      made.incrementAndGet();
      return new Ctx();
    });
    List<Thread> threads = new ArrayList<>();
    java.util.Set<Ctx> held = java.util.concurrent.ConcurrentHashMap.newKeySet();
    AtomicInteger shared = new AtomicInteger();
    for (int t = 0; t < 8; t++) {
      threads.add(Thread.ofPlatform().start(() -> {
        for (int i = 0; i < 20_000; i++) {
          Ctx c = pool.take();
          if (!held.add(c)) {
            shared.incrementAndGet();
          }
          Thread.onSpinWait(); // a moment of use, for another thread to try to take the same context
          held.remove(c);
          pool.give(c);
        }
      }));
    }
    for (Thread t : threads) {
      t.join();
    }
    assertThat(shared.get()).as("a context handed to two threads at once").isZero();
    assertThat(pool.idle()).isLessThanOrEqualTo(4);
    pool.closeAll();
  }
}
