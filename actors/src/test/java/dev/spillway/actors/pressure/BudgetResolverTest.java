package dev.spillway.actors.pressure;

import static dev.spillway.actors.pressure.TestReadings.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import dev.spillway.config.ControlSettings;
import dev.spillway.config.SettingsException;
import dev.spillway.config.SpillwaySettings;
import java.nio.file.Path;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** spillway.control.budget on a host: auto as a share of the memory there is, a size refused above it. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class BudgetResolverTest {
  private static final long MIB = 1L << 20;
  private static final long GIB = 1L << 30;

  private static ControlSettings control(String hocon) {
    return SpillwaySettings.from(ConfigFactory.parseString("spillway.control { " + hocon + " }")).control();
  }

  private static Reading<CgroupMemory> v1(String group, long limit) {
    return Reading.present(new CgroupMemory(group, 0, 0, OptionalLong.of(limit), CgroupMemory.Version.V1));
  }

  @Test
  void autoIsTheFractionOfTheMemoryThereIs() {
    assertThat(BudgetResolver.resolve(control("budget = auto"), readings(ram(24 * GIB), none()))).isEqualTo(12 * GIB);
    assertThat(BudgetResolver.resolve(control("budget = auto, budget-fraction = 0.25"),
        readings(ram(24 * GIB), v1("/docker/abc", 640 * MIB)))).isEqualTo(160 * MIB);
  }

  @Test
  void autoWithoutAnyFigureIsTheFallback() {
    assertThat(BudgetResolver.resolve(control("budget = auto"), readings(none(), none())))
        .isEqualTo(BudgetResolver.AUTO_FALLBACK_BYTES);
  }

  @Test
  void aSizeThatFitsIsTakenAsItIs() {
    assertThat(BudgetResolver.resolve(control("budget = 16 GiB"), readings(ram(24 * GIB), none()))).isEqualTo(16 * GIB);
    assertThat(BudgetResolver.resolve(control("budget = 24 GiB"), readings(ram(24 * GIB), none()))).isEqualTo(24 * GIB);
    assertThat(BudgetResolver.resolve(control("budget = 640 MiB"), readings(ram(24 * GIB), v1("/docker/abc", 640 * MIB))))
        .isEqualTo(640 * MIB);
  }

  @Test
  void aSizeAboveRamIsRefusedNamingTheKeyBothFiguresAndTheWayOut() {
    assertThatThrownBy(() -> BudgetResolver.resolve(control("budget = 32 GiB"), readings(ram(24 * GIB), none())))
        .isInstanceOfSatisfying(SettingsException.class, e -> assertThat(e.key()).isEqualTo("spillway.control.budget"))
        .hasMessage("spillway.control.budget: = 32 GiB is more than the 24 GiB this process can have (physical RAM"
            + " (MemTotal)): allowed auto or a size up to 24 GiB. Lower it, or set spillway.control.budget-over-memory"
            + " = true to keep it (the kernel may then kill the process for lack of memory before the budget makes"
            + " Spillway spill)");
  }

  @Test
  void aSizeAboveASmallerCgroupLimitIsRefusedNamingTheGroup() {
    assertThatThrownBy(() -> BudgetResolver.resolve(control("budget = 1 GiB"),
        readings(ram(24 * GIB), v1("/docker/abc", 640 * MIB))))
        .isInstanceOf(SettingsException.class)
        .hasMessageStartingWith("spillway.control.budget: = 1 GiB is more than the 640 MiB this process can have"
            + " (cgroup v1 limit of /docker/abc)");
    Reading<CgroupMemory> v2 = Reading.present(new CgroupMemory("/app.slice", 0, 0, OptionalLong.of(2 * GIB)));
    assertThatThrownBy(() -> BudgetResolver.resolve(control("budget = 3 GiB"), readings(ram(24 * GIB), v2)))
        .hasMessageContaining("(cgroup v2 limit of /app.slice)");
  }

  @Test
  void anUnlimitedOrLargerCgroupLeavesRam() {
    Reading<CgroupMemory> unlimited = Reading.present(new CgroupMemory("/", 0, 0, OptionalLong.empty()));
    assertThatThrownBy(() -> BudgetResolver.resolve(control("budget = 32 GiB"), readings(ram(24 * GIB), unlimited)))
        .hasMessageContaining("(physical RAM (MemTotal))");
    assertThatThrownBy(() -> BudgetResolver.resolve(control("budget = 32 GiB"),
        readings(ram(24 * GIB), v1("/big", 64 * GIB)))).hasMessageContaining("the 24 GiB");
  }

  @Test
  void budgetOverMemoryAllowsIt() {
    assertThat(BudgetResolver.resolve(control("budget = 32 GiB, budget-over-memory = true"),
        readings(ram(24 * GIB), v1("/docker/abc", 640 * MIB)))).isEqualTo(32 * GIB);
  }

  @Test
  void whenTheMemoryIsUnknownAnySizeIsAccepted() {
    assertThat(BudgetResolver.resolve(control("budget = 1 PiB"), readings(none(), none()))).isEqualTo(1L << 50);
  }

  @Test
  void onAFakeV1HostThe640MiBIncidentNoLongerHappens(@TempDir Path root) {
    FakeHost host = new FakeHost(root)
        .meminfo(24L << 20, 20L << 20)
        .file("proc/self/cgroup", "4:memory:/docker/abc\n1:name=systemd:/docker/abc\n")
        .file("proc/self/mountinfo",
            "35 31 0:32 /docker/abc /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n")
        .file("sys/fs/cgroup/memory/memory.limit_in_bytes", 640 * MIB + "\n")
        .file("sys/fs/cgroup/memory/memory.usage_in_bytes", 50 * MIB + "\n");
    MemoryReadings readings = host.sources().read();
    assertThat(BudgetResolver.resolve(control("budget = auto"), readings)).isEqualTo(320 * MIB);
    assertThatThrownBy(() -> BudgetResolver.resolve(control("budget = 12 GiB"), readings))
        .hasMessageContaining("is more than the 640 MiB this process can have (cgroup v1 limit of /docker/abc)");
  }

  @Test
  void theCeilingNamesWhatBinds() {
    assertThat(MemoryCeiling.of(readings(ram(8 * GIB), v1("/a", 8 * GIB))))
        .hasValue(new MemoryCeiling(8 * GIB, DefaultBudget.Basis.MEM_TOTAL, "physical RAM (MemTotal)"));
    assertThat(MemoryCeiling.of(readings(none(), v1("/a", GIB))))
        .hasValue(new MemoryCeiling(GIB, DefaultBudget.Basis.CGROUP_LIMIT, "cgroup v1 limit of /a"));
    assertThat(MemoryCeiling.of(readings(none(), none()))).isEmpty();
  }
}
