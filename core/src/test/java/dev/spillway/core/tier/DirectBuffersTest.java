package dev.spillway.core.tier;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The pool of direct buffers for encoded records: reuse by capacity class, the bound on what it
 * keeps, buffers that are not its own, and exclusive ownership under both cores.
 */
class DirectBuffersTest {

  @Test
  void buffersAreReusedByClassAndFramedToTheLengthAsked() {
    DirectBuffers pool = new DirectBuffers();
    ByteBuffer a = pool.take(5000);
    assertThat(a.isDirect()).isTrue();
    assertThat(a.capacity()).isEqualTo(8192);
    assertThat(a.position()).isZero();
    assertThat(a.limit()).isEqualTo(5000);
    a.position(17);
    pool.give(a);
    assertThat(pool.retainedBytes()).isEqualTo(8192);
    ByteBuffer b = pool.take(8000);
    assertThat(b).isSameAs(a);
    assertThat(b.position()).isZero();
    assertThat(b.limit()).isEqualTo(8000);
    assertThat(pool.retainedBytes()).isZero();
    assertThat(pool.take(1).capacity()).as("the smallest class").isEqualTo(1 << DirectBuffers.MIN_SHIFT);
  }

  @Test
  void whatItKeepsIsBoundedAndForeignOrHugeBuffersAreNotKept() {
    DirectBuffers pool = new DirectBuffers();
    int size = 1 << 20;
    int fits = (int) (DirectBuffers.RETAINED_PER_CLASS / size);
    List<ByteBuffer> taken = new ArrayList<>();
    for (int i = 0; i < fits + 5; i++) {
      taken.add(pool.take(size));
    }
    taken.forEach(pool::give);
    assertThat(pool.retainedBytes()).isEqualTo(DirectBuffers.RETAINED_PER_CLASS);
    pool.give(ByteBuffer.allocateDirect(5000)); // not a class size
    ByteBuffer huge = pool.take((1 << DirectBuffers.MAX_SHIFT) + 1);
    assertThat(huge.capacity()).isEqualTo((1 << DirectBuffers.MAX_SHIFT) + 1);
    pool.give(huge);
    assertThat(pool.retainedBytes()).isEqualTo(DirectBuffers.RETAINED_PER_CLASS);
  }

  /** Two threads take, fill with their own mark, check it and give back: no buffer is ever shared. */
  @Test
  void aBufferBelongsToOneTakerAtATimeUnderBothCores() throws Exception {
    DirectBuffers pool = new DirectBuffers();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Thread[] threads = new Thread[2];
    for (int t = 0; t < threads.length; t++) {
      byte mark = (byte) (t + 1);
      threads[t] = Thread.ofPlatform().start(() -> {
        try {
          for (int i = 0; i < 200_000; i++) {
            ByteBuffer b = pool.take(4096 << (i & 3));
            for (int k = 0; k < 64; k++) {
              b.put(k, mark);
            }
            Thread.onSpinWait();
            for (int k = 0; k < 64; k++) {
              if (b.get(k) != mark) {
                throw new AssertionError("buffer shared between takers at iteration " + i);
              }
            }
            pool.give(b);
          }
        } catch (Throwable e) {
          failure.compareAndSet(null, e);
        }
      });
    }
    for (Thread t : threads) {
      t.join();
    }
    assertThat(failure.get()).isNull();
    assertThat(pool.retainedBytes()).isPositive().isLessThanOrEqualTo(4 * DirectBuffers.RETAINED_PER_CLASS);
  }
}
