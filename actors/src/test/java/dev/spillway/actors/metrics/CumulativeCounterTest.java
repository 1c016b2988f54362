package dev.spillway.actors.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import kamon.Kamon;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Cumulative figures become counter increments that never go negative. */
class CumulativeCounterTest {

  private static final String NAME = "spillway.test.cumulative";

  private static CumulativeCounter counter() {
    return new CumulativeCounter(Kamon.counter(NAME).withoutTags());
  }

  @AfterEach
  void removeTheTestSeries() {
    Kamon.counter(NAME).withoutTags().remove();
  }

  @Test
  void addsTheGrowthSinceThePreviousFigure() {
    CumulativeCounter c = counter();
    assertThat(c.advanceTo(5)).isEqualTo(5);
    assertThat(c.advanceTo(8)).isEqualTo(3);
    assertThat(c.advanceTo(8)).isZero();
    assertThat(c.advanceTo(1_000_000_000_000L)).isEqualTo(1_000_000_000_000L - 8);
  }

  @Test
  void aFigureBelowThePreviousOneIsASourceThatStartedAgain() {
    CumulativeCounter c = counter();
    c.advanceTo(100);
    assertThat(c.advanceTo(2)).as("a new allocator counted 2 since its start").isEqualTo(2);
    assertThat(c.advanceTo(7)).isEqualTo(5);
    assertThat(c.advanceTo(0)).isZero();
  }

  @Test
  void rejectsANegativeFigure() {
    assertThatThrownBy(() -> counter().advanceTo(-1))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cumulative figure = -1");
  }
}
