package dev.spillway.map.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The factory's names, and the validation every policy's public entries share, with their messages. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ReplacementPoliciesTest {
  static final List<String> NAMES = ReplacementPolicies.NAMES;

  @Test
  void theFactoryKnowsExactlyFiveNames() {
    assertThat(NAMES).containsExactly("lru", "mru", "fifo", "clock", "w-tinylfu");
    for (String name : NAMES) {
      ReplacementPolicy policy = ReplacementPolicies.create(name);
      assertThat(policy.name()).isEqualTo(name);
      assertThat(ReplacementPolicies.create(name)).isNotSameAs(policy);
    }
    assertThat(ReplacementPolicies.create("lru")).isInstanceOf(LruPolicy.class);
    assertThat(ReplacementPolicies.create("mru")).isInstanceOf(MruPolicy.class);
    assertThat(ReplacementPolicies.create("fifo")).isInstanceOf(FifoPolicy.class);
    assertThat(ReplacementPolicies.create("clock")).isInstanceOf(ClockPolicy.class);
    assertThat(ReplacementPolicies.create("w-tinylfu")).isInstanceOf(WTinyLfuPolicy.class);
  }

  @ParameterizedTest
  @ValueSource(strings = {"LRU", "lfu", "", " lru", "tinylfu", "w_tinylfu"})
  void anyOtherNameIsRefusedNamingItAndTheAllowedOnes(String name) {
    assertThatThrownBy(() -> ReplacementPolicies.create(name))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("replacement policy '" + name + "' is unknown: allowed lru, mru, fifo, clock, w-tinylfu");
  }

  @Test
  void nullIsRefusedToo() {
    assertThatThrownBy(() -> ReplacementPolicies.create(null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("replacement policy null is unknown: allowed lru, mru, fifo, clock, w-tinylfu");
  }

  @ParameterizedTest
  @FieldSource("NAMES")
  void aNewPolicyIsEmptyAndUnbounded(String name) {
    ReplacementPolicy policy = ReplacementPolicies.create(name);
    assertThat(policy.size()).isZero();
    assertThat(policy.weightedSize()).isZero();
    assertThat(policy.maximum()).isEqualTo(Long.MAX_VALUE);
    assertThat(policy.victim()).isEqualTo(-1);
    assertThat(policy.contains(0)).isFalse();
    List<Integer> visited = new ArrayList<>();
    policy.forEachColdest(visited::add);
    assertThat(visited).isEmpty();
    policy.onRemove(7); // untracked, beyond the rows: ignored
  }

  @ParameterizedTest
  @FieldSource("NAMES")
  void everyPublicEntryValidates(String name) {
    ReplacementPolicy policy = ReplacementPolicies.create(name);
    assertThatThrownBy(() -> policy.ensureRows(-1)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("ensureRows(-1): rows must be >= 0");
    assertThatThrownBy(() -> policy.setMaximum(0)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maximum 0 is below 1");
    assertThatThrownBy(() -> policy.setMaximum(-5)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maximum -5 is below 1");
    assertThat(policy.maximum()).as("unchanged by the refusals").isEqualTo(Long.MAX_VALUE);
    policy.ensureRows(4);
    for (int bad : new int[] {-1, Integer.MIN_VALUE, Integer.MAX_VALUE}) {
      String message = "row " + bad + " is out of range: allowed 0 <= row < 2^31 - 1";
      assertThatThrownBy(() -> policy.onInsert(bad, 0, 1)).isInstanceOf(IllegalArgumentException.class)
          .hasMessage(message);
      assertThatThrownBy(() -> policy.onAccess(bad, 0)).isInstanceOf(IllegalArgumentException.class)
          .hasMessage(message);
      assertThatThrownBy(() -> policy.onUpdate(bad, 0, 1)).isInstanceOf(IllegalArgumentException.class)
          .hasMessage(message);
      assertThatThrownBy(() -> policy.onRemove(bad)).isInstanceOf(IllegalArgumentException.class)
          .hasMessage(message);
      assertThatThrownBy(() -> policy.contains(bad)).isInstanceOf(IllegalArgumentException.class)
          .hasMessage(message);
    }
    assertThatThrownBy(() -> policy.onInsert(1_000, 0, 1)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("row 1000 is beyond the").hasMessageContaining("call ensureRows(1001) first");
    assertThatThrownBy(() -> policy.onInsert(2, 0, 0)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("weight 0 of row 2 is not allowed: 1 to 2147483647");
    assertThatThrownBy(() -> policy.onAccess(2, 0)).isInstanceOf(IllegalStateException.class)
        .hasMessage("onAccess(2): row 2 is not tracked");
    assertThatThrownBy(() -> policy.onUpdate(2, 0, 1)).isInstanceOf(IllegalStateException.class)
        .hasMessage("onUpdate(2): row 2 is not tracked");
    assertThat(policy.size()).isZero();

    policy.onInsert(2, 0, 3);
    assertThatThrownBy(() -> policy.onInsert(2, 0, 1)).isInstanceOf(IllegalStateException.class)
        .hasMessage("row 2 is tracked already: onRemove it before inserting it again");
    assertThatThrownBy(() -> policy.onUpdate(2, 0, -4)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("weight -4 of row 2 is not allowed: 1 to 2147483647");
    assertThatThrownBy(() -> policy.onInsert(3, 0, Integer.MAX_VALUE + 1L)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("weight 2147483648 of row 3 is not allowed: 1 to 2147483647");
    assertThat(policy.size()).as("nothing counted by the refusals").isEqualTo(1);
    assertThat(policy.weightedSize()).isEqualTo(3);
    assertThat(policy.contains(2)).isTrue();
    assertThat(policy.contains(3)).isFalse();
    assertThat(policy.contains(1_000)).as("beyond the rows: not tracked").isFalse();
    policy.onRemove(2);
    policy.onRemove(2); // again: ignored
    assertThat(policy.size()).isZero();
  }

  @ParameterizedTest
  @FieldSource("NAMES")
  void rowsGrowOnDemandAndNeverShrink(String name) {
    ReplacementPolicy policy = ReplacementPolicies.create(name);
    policy.setMaximum(1_000_000);
    for (int row = 0; row < 10_000; row++) {
      policy.ensureRows(row + 1);
      policy.onInsert(row, row, 1);
    }
    policy.ensureRows(5); // never shrinks
    assertThat(policy.size()).isEqualTo(10_000);
    assertThat(policy.contains(9_999)).isTrue();
    policy.onAccess(9_999, 9_999);
  }
}
