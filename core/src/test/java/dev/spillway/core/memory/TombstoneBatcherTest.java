package dev.spillway.core.memory;

import static org.assertj.core.api.Assertions.assertThat;

import dev.spillway.core.tier.SegmentLog;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link TombstoneBatcher} alone, over a log that only records what it was told to forget: batches
 * are due at {@link TombstoneBatcher#BATCH}, a flush hands every queued key over exactly once and in
 * order, a failed flush keeps its keys for the next, and keys dropped from two threads while a third
 * flushes all arrive, none twice.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TombstoneBatcherTest {
  /** The keys a fake log was asked to forget, in order; {@code failures} calls throw first. */
  private static final class ForgetLog {
    final List<Long> forgotten = new ArrayList<>();
    final AtomicInteger calls = new AtomicInteger();
    final AtomicInteger failures = new AtomicInteger();

    SegmentLog log() {
      return (SegmentLog) Proxy.newProxyInstance(SegmentLog.class.getClassLoader(), new Class<?>[] {SegmentLog.class},
          (proxy, method, args) -> {
            if (!method.getName().equals("forget")) {
              throw new UnsupportedOperationException(method.getName());
            }
            calls.incrementAndGet();
            if (failures.getAndUpdate(f -> Math.max(0, f - 1)) > 0) {
              throw new IllegalStateException("the index is busy");
            }
            long[] keys = (long[]) args[0];
            int count = (Integer) args[1];
            synchronized (forgotten) {
              for (int i = 0; i < count; i++) {
                forgotten.add(keys[i]);
              }
            }
            return count;
          });
    }
  }

  @Test
  void aBatchIsDueAtItsSizeAndAFlushHandsOverEveryKeyOnceInOrder() {
    ForgetLog store = new ForgetLog();
    TombstoneBatcher batcher = new TombstoneBatcher(store.log());
    batcher.flush();
    assertThat(store.calls).as("nothing queued: the log is not bothered").hasValue(0);
    for (long k = 1; k < TombstoneBatcher.BATCH; k++) {
      batcher.drop(k);
    }
    assertThat(batcher.due()).isFalse();
    batcher.drop(TombstoneBatcher.BATCH);
    assertThat(batcher.due()).isTrue();
    for (long k = TombstoneBatcher.BATCH + 1; k <= 5L * TombstoneBatcher.BATCH; k++) {
      batcher.drop(k); // past the first array: it grows
    }
    batcher.flush();
    assertThat(store.calls).hasValue(1);
    assertThat(store.forgotten).hasSize(5 * TombstoneBatcher.BATCH);
    for (int i = 0; i < store.forgotten.size(); i++) {
      assertThat(store.forgotten.get(i)).isEqualTo(i + 1L);
    }
    assertThat(batcher.due()).isFalse();
    batcher.flush();
    assertThat(store.calls).hasValue(1);
  }

  @Test
  void aFailedFlushKeepsItsKeysForTheNext() {
    ForgetLog store = new ForgetLog();
    TombstoneBatcher batcher = new TombstoneBatcher(store.log());
    batcher.drop(10);
    batcher.drop(11);
    store.failures.set(1);
    batcher.flush();
    assertThat(store.forgotten).isEmpty();
    batcher.drop(12);
    batcher.flush();
    assertThat(store.forgotten).containsExactly(10L, 11L, 12L);
  }

  @Test
  void keysDroppedFromTwoThreadsWhileAThirdFlushesAllArriveOnce() throws Exception {
    ForgetLog store = new ForgetLog();
    store.failures.set(3); // some flushes fail on the way: their keys must come again, not twice
    TombstoneBatcher batcher = new TombstoneBatcher(store.log());
    int perThread = 200_000;
    AtomicBoolean done = new AtomicBoolean();
    Thread flusher = new Thread(() -> {
      while (!done.get()) {
        batcher.flush();
      }
    });
    List<Thread> droppers = new ArrayList<>();
    for (int t = 0; t < 2; t++) {
      long base = (long) t * perThread;
      droppers.add(new Thread(() -> {
        for (long k = 1; k <= perThread; k++) {
          batcher.drop(base + k);
        }
      }));
    }
    flusher.start();
    droppers.forEach(Thread::start);
    for (Thread d : droppers) {
      d.join(TimeUnit.SECONDS.toMillis(30));
      assertThat(d.isAlive()).isFalse();
    }
    done.set(true);
    flusher.join(TimeUnit.SECONDS.toMillis(30));
    assertThat(flusher.isAlive()).isFalse();
    for (int i = 0; i <= 3; i++) {
      batcher.flush(); // the flusher may have met all three failures with keys still queued
    }
    Set<Long> unique = new HashSet<>(store.forgotten);
    assertThat(store.forgotten).as("none twice").hasSize(unique.size());
    assertThat(unique).as("all of them").hasSize(2 * perThread);
  }
}
