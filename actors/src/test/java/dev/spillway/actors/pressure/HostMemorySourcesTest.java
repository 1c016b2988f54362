package dev.spillway.actors.pressure;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import org.junit.jupiter.api.Test;

/**
 * The real sources of the machine running the tests. Which of them exist depends on the host (no
 * cgroup v2 memory controller on a hybrid host, no /proc off Linux), so only invariants are checked.
 */
class HostMemorySourcesTest {

  @Test
  void readingThisHostNeverThrows() {
    assertThatCode(() -> MemorySources.host().read()).doesNotThrowAnyException();
  }

  @Test
  void whatThisHostReportsIsConsistent() {
    MemoryReadings readings = MemorySources.host().read();
    readings.system().optional().ifPresent(s -> {
      assertThat(s.totalBytes()).isPositive();
      assertThat(s.availableBytes()).isBetween(0L, s.totalBytes());
    });
    readings.cgroup().optional().ifPresent(c -> {
      assertThat(c.cgroup()).startsWith("/");
      assertThat(c.workingSetBytes()).isBetween(0L, c.currentBytes());
    });
    DefaultBudget budget = DefaultBudget.of(0.5, 1L << 30, readings);
    assertThat(budget.bytes()).isPositive();
    if (readings.system().isPresent()) {
      assertThat(budget.basis()).isNotEqualTo(DefaultBudget.Basis.FALLBACK);
    }
  }
}
