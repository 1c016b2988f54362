package dev.spillway.core.memory;

import dev.spillway.memory.BlockAllocator;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spillway.config.SettingsException;
import org.junit.jupiter.api.Test;

/** Pool limits that only make sense against the size classes are checked when the allocator starts. */
class PoolSettingsValidationTest {

  @Test
  void anOverrideMustNameASizeClass() {
    assertThatThrownBy(() -> BlockAllocator.create(AllocatorTestBase.settings(
        "pools.classes { \"100B\" { max-blocks = 10 } }")))
        .isInstanceOf(SettingsException.class)
        .hasMessageStartingWith("spillway.memory.pools.classes.100B")
        .hasMessageContaining("100 B is not a size class")
        .hasMessageContaining("allowed: 8B, 16B").hasMessageContaining("112B").hasMessageContaining("1MiB");
  }

  @Test
  void theDefaultInitialCapacityMustFitAClassMaximum() {
    assertThatThrownBy(() -> BlockAllocator.create(AllocatorTestBase.settings(
        "pools.default.initial-bytes = 1 MiB, pools.classes { \"4KiB\" { max-blocks = 10 } }")))
        .isInstanceOf(SettingsException.class)
        .hasMessageContaining("spillway.memory.pools.classes.4KiB")
        .hasMessageContaining("256 blocks").hasMessageContaining("at most 10")
        .hasMessageContaining("spillway.memory.pools.default.initial-bytes = 1 MiB");
  }
}
