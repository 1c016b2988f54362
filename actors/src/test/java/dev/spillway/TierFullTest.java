package dev.spillway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.RestoreFailedException;
import dev.spillway.testing.TestBytes;
import dev.spillway.testing.TmpfsMount;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * RAM at the budget and the tier's device full (a 4 MiB tmpfs; tests run as root): an allocation
 * fails with one {@link OutOfBudgetException}, an access to a spilled block with one {@link
 * RestoreFailedException}, each naming the real cause (the tier is full, with the device's own
 * message) and the keys that change it; nothing is lost, and the same access succeeds once room is
 * made.
 * Run: {@code mvn -B -pl actors -am test -Dsurefire.failIfNoSpecifiedTests=false -Dtest='TierFullTest'}
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class TierFullTest {
  @TempDir Path tmp;

  @Test
  void aFullTierAndAFullBudgetFailWithOneErrorNamingTheCauseAndTheKeys() throws Exception {
    try (TmpfsMount device = TmpfsMount.mount(tmp.resolve("mnt"), "4m", "0700"); // tests run as root
        Spillway spillway = Spillway.create(ConfigFactory.parseString("spillway { tier { directories = [\""
        + device.path().resolve("tier") + "\"], segment-size = 1 MiB, durability = none }, spill.codec = raw,"
        + " control { budget = 8 MiB, budget-slack = 0, allocate-timeout = 500 ms, pressure.interval = 5 ms,"
        + " idle { sweep-interval = 5 ms, idle-after = 10 ms } } }"))) {
      BlockAllocator m = spillway.memory();
      SplittableRandom random = new SplittableRandom(3);
      List<long[]> blocks = new ArrayList<>(); // handle, seed
      OutOfBudgetException full = null;
      while (full == null && blocks.size() < 1000) {
        long seed = random.nextLong();
        try {
          long h = m.allocate(64 << 10);
          m.write(h, 0, TestBytes.random(seed, 64 << 10), 0, 64 << 10);
          blocks.add(new long[] {h, seed});
        } catch (OutOfBudgetException e) {
          full = e;
        }
      }
      assertThat(full).as("RAM and tier both fill up").isNotNull();
      System.out.println("allocation: " + full.getMessage());
      assertThat(full.getMessage()).contains("the tier is full").contains("No space left on device")
          .contains("spillway.tier.directories").contains("spillway.control.budget");
      long[] spilled = blocks.stream().filter(b -> !m.isResident(b[0])).findFirst().orElseThrow();
      byte[] buf = new byte[64 << 10];
      assertThatThrownBy(() -> m.read(spilled[0], 0, buf, 0, buf.length))
          .satisfies(e -> System.out.println("access: " + e.getMessage())).isInstanceOf(RestoreFailedException.class)
          .hasMessageContaining("cannot be restored, no room for")
          .hasMessageContaining("the tier is full").hasMessageContaining("No space left on device")
          .hasMessageContaining("spillway.tier.directories").hasMessageContaining("spillway.control.budget")
          .hasMessageContaining("stays spilled");
      // Nothing is lost: make room and every block reads back.
      for (int i = 0; i < 8; i++) {
        long[] resident = blocks.stream().filter(b -> m.isResident(b[0])).findFirst().orElseThrow();
        m.free(resident[0]);
        blocks.remove(resident);
      }
      m.read(spilled[0], 0, buf, 0, buf.length);
      assertThat(Arrays.equals(buf, TestBytes.random(spilled[1], 64 << 10))).isTrue();
      for (long[] b : blocks) {
        m.read(b[0], 0, buf, 0, buf.length);
        assertThat(Arrays.equals(buf, TestBytes.random(b[1], 64 << 10))).as("block with seed %d", b[1]).isTrue();
        m.free(b[0]); // frees make room for the next restore
      }
    }
  }
}
