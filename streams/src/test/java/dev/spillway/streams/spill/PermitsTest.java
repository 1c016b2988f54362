package dev.spillway.streams.spill;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Admission in order: a request that arrives while waiters handed a permit are still being enqueued
 * by the releasing thread waits behind them, even with permits free, and is admitted once they are
 * in. Without that, a caller's later request could be enqueued (and answered) before its earlier one.
 */
@Timeout(30)
class PermitsTest {
  private static SpillRequest request(long handle) {
    return new SpillRequest(handle, 64, null);
  }

  @Test
  void aRequestArrivingDuringAHandOffWaitsBehindIt() {
    Permits p = new Permits(2, 8);
    SpillRequest a = request(1);
    SpillRequest b = request(2);
    assertThat(p.acquireOrWait(a)).isEqualTo(Permits.Admission.ADMITTED);
    assertThat(p.acquireOrWait(b)).isEqualTo(Permits.Admission.ADMITTED);
    SpillRequest r1 = request(3);
    assertThat(p.acquireOrWait(r1)).isEqualTo(Permits.Admission.WAITING);

    List<SpillRequest> handed = p.release(2); // a and b answered: r1 gets a permit, one stays free
    assertThat(handed).containsExactly(r1);
    SpillRequest r2 = request(4);
    assertThat(p.tryAcquire()).as("no overtaking through the bulk path either").isFalse();
    assertThat(p.acquireOrWait(r2)).as("r1 is not enqueued yet").isEqualTo(Permits.Admission.WAITING);

    assertThat(p.handedOff(1)).as("r1 is in: r2 takes the free permit").containsExactly(r2);
    assertThat(p.handedOff(1)).isEmpty();
    assertThat(p.inUse()).isEqualTo(2);
    SpillRequest r3 = request(5);
    assertThat(p.acquireOrWait(r3)).as("no permit free, nobody waiting").isEqualTo(Permits.Admission.WAITING);
    assertThat(p.release(1)).containsExactly(r3);
    assertThat(p.handedOff(1)).isEmpty();
    assertThat(p.release(2)).isEmpty();
    assertThat(p.inUse()).isZero();
    assertThat(p.acquireOrWait(request(6))).isEqualTo(Permits.Admission.ADMITTED);
  }

  @Test
  void waitersAreBoundedAndClosingReturnsThem() {
    Permits p = new Permits(1, 2);
    assertThat(p.tryAcquire()).isTrue();
    List<SpillRequest> waiting = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      SpillRequest r = request(10 + i);
      assertThat(p.acquireOrWait(r)).isEqualTo(Permits.Admission.WAITING);
      waiting.add(r);
    }
    assertThat(p.acquireOrWait(request(99))).isEqualTo(Permits.Admission.REFUSED);
    assertThat(p.close()).containsExactlyElementsOf(waiting);
    assertThat(p.acquireOrWait(request(100))).isEqualTo(Permits.Admission.REFUSED);
    assertThat(p.release(1)).as("closed: nobody is handed a permit").isEmpty();
  }
}
