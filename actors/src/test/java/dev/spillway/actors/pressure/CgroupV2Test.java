package dev.spillway.actors.pressure;

import static dev.spillway.actors.pressure.TestReadings.reasonOf;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** cgroup v2: finding this process's group, the limiting ancestor, and every malformed file. */
class CgroupV2Test {
  private static final String SERVICE = "/system.slice/app.service";
  private static final long GIB = 1L << 30;

  @TempDir Path root;

  private FakeHost host() {
    return new FakeHost(root);
  }

  // CgroupV2 itself: through MemorySources an absent v2 reading falls back to v1 (CgroupV1Test).
  private CgroupMemory present() {
    return TestReadings.valueOf(CgroupV2.read(root));
  }

  private String reason() {
    return reasonOf(CgroupV2.read(root));
  }

  @Test
  void readsTheLimitOfThisProcesssGroup() {
    host().cgroupV2(SERVICE).memory(SERVICE, GIB / 2 + "\n", GIB + "\n");
    CgroupMemory m = present();
    assertThat(m.cgroup()).isEqualTo(SERVICE);
    assertThat(m.version()).isEqualTo(CgroupMemory.Version.V2);
    assertThat(m.currentBytes()).isEqualTo(GIB / 2);
    assertThat(m.workingSetBytes()).isEqualTo(GIB / 2);
    assertThat(m.limitBytes()).hasValue(GIB);
    assertThat(m.usedFraction()).hasValue(0.5);
  }

  @Test
  void maxMeansUnlimited() {
    host().cgroupV2(SERVICE).memory(SERVICE, "4096\n", "max\n");
    CgroupMemory m = present();
    assertThat(m.limited()).isFalse();
    assertThat(m.limitBytes()).isEmpty();
    assertThat(m.usedFraction()).isEmpty();
    assertThat(m.currentBytes()).isEqualTo(4096);
  }

  @Test
  void theTopOfANamespacedHierarchyIsAGroupLikeAnyOther() {
    // In a container with its own cgroup namespace the process sits at "/" and the mount is its group.
    host().cgroupV2("/").memory("/", "100\n", "1000\n");
    CgroupMemory m = present();
    assertThat(m.cgroup()).isEqualTo("/");
    assertThat(m.limitBytes()).hasValue(1000);
  }

  @Test
  void aParentsSmallerLimitBindsAndItsUsageIsReported() {
    String parent = "/kubepods/pod1";
    String leaf = parent + "/container";
    host().cgroupV2(leaf)
        .memory("/kubepods", "900\n", "4000\n")
        .memory(parent, "700\n", "1000\n")
        .memory(leaf, "300\n", "max\n");
    CgroupMemory m = present();
    assertThat(m.cgroup()).isEqualTo(parent);
    assertThat(m.currentBytes()).isEqualTo(700);
    assertThat(m.limitBytes()).hasValue(1000);
  }

  @Test
  void theOwnGroupsSmallerLimitBinds() {
    host().cgroupV2("/a/b").memory("/a", "900\n", "4000\n").memory("/a/b", "300\n", "2000\n");
    CgroupMemory m = present();
    assertThat(m.cgroup()).isEqualTo("/a/b");
    assertThat(m.limitBytes()).hasValue(2000);
  }

  @Test
  void onATieTheDeeperGroupIsReported() {
    host().cgroupV2("/a/b").memory("/a", "900\n", "2000\n").memory("/a/b", "300\n", "2000\n");
    assertThat(present().cgroup()).isEqualTo("/a/b");
  }

  @Test
  void aGroupWithoutTheMemoryControllerUsesTheLimitingAncestor() {
    host().cgroupV2("/a/b").memory("/a", "900\n", "2000\n"); // /a/b has no memory.* files
    CgroupMemory m = present();
    assertThat(m.cgroup()).isEqualTo("/a");
    assertThat(m.currentBytes()).isEqualTo(900);
  }

  @Test
  void withoutTheMemoryControllerAndNoLimitTheReadingIsAbsent() {
    host().cgroupV2("/a/b").file(FakeHost.groupFile("/a", "memory.max"), "max\n");
    assertThat(reason()).contains("no memory.current").contains("/a/b").contains("cgroup.subtree_control");
  }

  @Test
  void theWorkingSetLeavesOutInactivePageCache() {
    host().cgroupV2(SERVICE).memory(SERVICE, "1000\n", "2000\n")
        .file(FakeHost.groupFile(SERVICE, "memory.stat"), "anon 300\nfile 700\nactive_file 100\ninactive_file 600\n");
    CgroupMemory m = present();
    assertThat(m.currentBytes()).isEqualTo(1000);
    assertThat(m.workingSetBytes()).isEqualTo(400);
    assertThat(m.usedFraction()).hasValue(0.2);
  }

  @Test
  void moreInactivePageCacheThanUsageLeavesAWorkingSetOfZero() {
    host().cgroupV2(SERVICE).memory(SERVICE, "1000\n", "2000\n")
        .file(FakeHost.groupFile(SERVICE, "memory.stat"), "inactive_file 5000\n");
    assertThat(present().workingSetBytes()).isZero();
  }

  @ParameterizedTest
  @ValueSource(strings = {"inactive_file -5\n", "inactive_file 12x\n", "inactive_file\n",
      "inactive_file 1\ninactive_file 2\n", "anon 5\n", ""})
  void aMemoryStatWithoutOneCleanInactiveFileCountsAllUsage(String stat) {
    host().cgroupV2(SERVICE).memory(SERVICE, "1000\n", "2000\n").file(FakeHost.groupFile(SERVICE, "memory.stat"), stat);
    assertThat(present().workingSetBytes()).isEqualTo(1000);
  }

  @Test
  void aMissingMemoryStatCountsAllUsage() {
    host().cgroupV2(SERVICE).memory(SERVICE, "1000\n", "2000\n");
    assertThat(present().workingSetBytes()).isEqualTo(1000);
  }

  @Test
  void aHybridHostsV1LinesAreIgnored() {
    host().cgroupV2(SERVICE).memory(SERVICE, "1\n", "2\n")
        .file("proc/self/cgroup", "12:memory:/whatever\n1:name=systemd:/x\n0::" + SERVICE + "\n");
    assertThat(present().cgroup()).isEqualTo(SERVICE);
  }

  @Test
  void withoutCgroupControllersItIsNotCgroupV2() {
    host().file("proc/self/cgroup", "4:memory:/x\n0::/\n").directory("sys/fs/cgroup/memory");
    assertThat(reason()).contains("cgroup v2 is not mounted").contains("v1 or hybrid");
  }

  @Test
  void withoutProcSelfCgroupTheReadingIsAbsent() {
    host().file("sys/fs/cgroup/cgroup.controllers", "memory\n");
    assertThat(reason()).isEqualTo("no " + root.resolve("proc/self/cgroup"));
  }

  @Test
  void withoutAV2EntryTheReadingIsAbsent() {
    host().cgroupV2(SERVICE).file("proc/self/cgroup", "4:memory:/x\n");
    assertThat(reason()).contains("no cgroup v2 entry");
  }

  @Test
  void twoV2EntriesAreAbsent() {
    host().cgroupV2(SERVICE).file("proc/self/cgroup", "0::/a\n0::/b\n");
    assertThat(reason()).contains("more than one");
  }

  @ParameterizedTest
  @ValueSource(strings = {"0::/../../etc\n", "0::/a/../../b\n", "0::/./a\n"})
  void aPathLeavingTheHierarchyIsRefused(String line) {
    host().cgroupV2(SERVICE).file("proc/self/cgroup", line);
    assertThat(reason()).contains("leaves");
  }

  @Test
  void aRelativePathIsRefused() {
    host().cgroupV2(SERVICE).file("proc/self/cgroup", "0::system.slice\n");
    assertThat(reason()).contains("not an absolute path");
  }

  @Test
  void aGroupWithoutADirectoryIsAbsent() {
    host().cgroupV2(SERVICE).file("proc/self/cgroup", "0::/gone (deleted)\n");
    assertThat(reason()).contains("has no directory");
  }

  @ParameterizedTest
  @ValueSource(strings = {"-1\n", "12 34\n", " 100\n", "100 \n", "\n", "", "max\nmax\n", "MAX\n", "1e9\n",
      "99999999999999999999\n", "9223372036854775808\n", "0\n", "0x100\n"})
  void aMalformedMemoryMaxIsAbsent(String max) {
    host().cgroupV2(SERVICE).memory(SERVICE, "1\n", max);
    assertThat(reason()).contains("memory.max");
  }

  @Test
  void aMalformedAncestorLimitIsAbsentToo() {
    host().cgroupV2("/a/b").memory("/a", "1\n", "lots\n").memory("/a/b", "1\n", "100\n");
    assertThat(reason()).contains(root.resolve("sys/fs/cgroup/a/memory.max").toString());
  }

  @Test
  void theLargestLongIsAValidLimitAndANewlineIsOptional() {
    host().cgroupV2(SERVICE).memory(SERVICE, "1", String.valueOf(Long.MAX_VALUE));
    assertThat(present().limitBytes()).isEqualTo(OptionalLong.of(Long.MAX_VALUE));
  }

  @ParameterizedTest
  @ValueSource(strings = {"-1\n", "abc\n", "max\n", "18446744073709551615\n", ""})
  void aMalformedMemoryCurrentIsAbsent(String current) {
    host().cgroupV2(SERVICE).memory(SERVICE, current, "100\n");
    assertThat(reason()).contains("memory.current");
  }

  @Test
  void anOversizedValueFileIsNotReadWhole() {
    host().cgroupV2(SERVICE).memory(SERVICE, "1\n", "1".repeat(CgroupV2.MAX_VALUE_BYTES + 1));
    assertThat(reason()).contains("larger than " + CgroupV2.MAX_VALUE_BYTES);
  }
}
