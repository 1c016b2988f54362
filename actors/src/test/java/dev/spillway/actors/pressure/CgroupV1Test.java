package dev.spillway.actors.pressure;

import static dev.spillway.actors.pressure.TestReadings.reasonOf;
import static org.assertj.core.api.Assertions.assertThat;

import dev.spillway.actors.pressure.DefaultBudget.Basis;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** cgroup v1 and hybrid hosts: the memory hierarchy's mount, the binding limit, malformed files, escapes. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class CgroupV1Test {
  private static final long MIB = 1L << 20;
  private static final long GIB = 1L << 30;
  /** What the kernel reports for an unlimited group with 4 KiB pages: PAGE_COUNTER_MAX * 4096. */
  private static final String UNLIMITED = "9223372036854771712\n";
  private static final String CONTAINER = "/docker/abc";

  /** A hybrid host's mounts (Ubuntu 20.04 style); %s is the root of the memory hierarchy's mount. */
  @SuppressWarnings("InlineFormatString") // a fixture: it reads better named, above the tests
  private static final String MOUNTINFO = """
      22 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
      25 22 0:6 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
      26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
      27 25 0:24 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
      31 25 0:28 %s /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,memory
      32 25 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,cpu,cpuacct
      """;

  @TempDir Path root;

  private FakeHost host() {
    return new FakeHost(root);
  }

  /** This process in v1 memory group {@code group}; the memory hierarchy mounted with {@code mountRoot} as its root. */
  private FakeHost v1(String group, String mountRoot) {
    return host()
        .file("proc/self/cgroup", "12:memory:" + group + "\n11:cpu,cpuacct:" + group + "\n1:name=systemd:" + group + "\n")
        .file("proc/self/mountinfo", MOUNTINFO.formatted(mountRoot))
        .directory(dir(visible(group, mountRoot)));
  }

  /** The part of {@code group} below the mount's root. */
  private static String visible(String group, String mountRoot) {
    return mountRoot.equals("/") ? group : group.substring(mountRoot.length());
  }

  private static String dir(String relative) {
    return "sys/fs/cgroup/memory" + (relative.equals("/") || relative.isEmpty() ? "" : relative);
  }

  /** {@code memory.usage_in_bytes} and {@code memory.limit_in_bytes} of the group at {@code relative} under the mount. */
  private FakeHost memory(String relative, String usage, String limit) {
    return host().file(dir(relative) + "/memory.usage_in_bytes", usage)
        .file(dir(relative) + "/memory.limit_in_bytes", limit);
  }

  private FakeHost stat(String relative, String content) {
    return host().file(dir(relative) + "/memory.stat", content);
  }

  private CgroupMemory present() {
    return TestReadings.valueOf(host().sources().cgroupMemory());
  }

  private String reason() {
    return reasonOf(CgroupV1.read(root));
  }

  @Test
  void a640MiBContainerLimitGivesAnAutomaticBudgetOfHalfOfIt() {
    // The incident: a container in a 640 MiB v1 group on a 24 GiB host was given a 12 GiB budget.
    v1(CONTAINER, CONTAINER);
    memory("/", 100 * MIB + "\n", 640 * MIB + "\n");
    host().meminfo(24L << 20, 20L << 20);
    CgroupMemory m = present();
    assertThat(m.version()).isEqualTo(CgroupMemory.Version.V1);
    assertThat(m.cgroup()).isEqualTo(CONTAINER);
    assertThat(m.limitBytes()).hasValue(640 * MIB);
    assertThat(m.currentBytes()).isEqualTo(100 * MIB);
    MemoryReadings readings = host().sources().read();
    assertThat(DefaultBudget.of(0.5, GIB, readings)).isEqualTo(new DefaultBudget(320 * MIB, Basis.CGROUP_LIMIT, 640 * MIB));
  }

  @Test
  void onTheHostViewAParentsSmallerLimitBindsAndItsUsageIsReported() {
    String leaf = "/kubepods/pod1/ctr";
    v1(leaf, "/");
    memory("/", "9000\n", UNLIMITED);
    memory("/kubepods", "5000\n", UNLIMITED);
    memory("/kubepods/pod1", "700\n", GIB + "\n");
    memory(leaf, "300\n", 2 * GIB + "\n");
    CgroupMemory m = present();
    assertThat(m.cgroup()).isEqualTo("/kubepods/pod1");
    assertThat(m.currentBytes()).isEqualTo(700);
    assertThat(m.limitBytes()).hasValue(GIB);
  }

  @Test
  void theOwnGroupsSmallerLimitBinds() {
    v1("/a/b", "/");
    memory("/a", "900\n", "4000\n");
    memory("/a/b", "300\n", "2000\n");
    CgroupMemory m = present();
    assertThat(m.cgroup()).isEqualTo("/a/b");
    assertThat(m.limitBytes()).hasValue(2000);
  }

  @ParameterizedTest
  @ValueSource(strings = {UNLIMITED, "9223372036854710272\n", "9223372036854775807\n", "4611686018427387904\n"})
  void theKernelsHugeValuesMeanNoLimit(String unlimited) {
    v1("/a", "/");
    memory("/", "10\n", unlimited);
    memory("/a", "5\n", unlimited);
    host().meminfo(16L << 20, 8L << 20);
    CgroupMemory m = present();
    assertThat(m.limited()).isFalse();
    assertThat(m.cgroup()).isEqualTo("/a");
    assertThat(DefaultBudget.of(0.5, GIB, host().sources().read()).basis()).isEqualTo(Basis.MEM_TOTAL);
  }

  @Test
  void theHierarchicalLimitCoversAncestorsAboveTheMount() {
    // In the container the mount's root is its own group: the pod's limit above it shows only in memory.stat.
    v1(CONTAINER, CONTAINER);
    memory("/", "1000\n", UNLIMITED);
    stat("/", "cache 10\nhierarchical_memory_limit 536870912\nhierarchical_memsw_limit " + UNLIMITED
        + "total_inactive_file 400\n");
    CgroupMemory m = present();
    assertThat(m.cgroup()).isEqualTo(CONTAINER);
    assertThat(m.limitBytes()).hasValue(512 * MIB);
    assertThat(m.workingSetBytes()).isEqualTo(600);
  }

  @Test
  void aLargerHierarchicalLimitLeavesTheVisibleOne() {
    v1("/a/b", "/");
    memory("/a", "900\n", "4000\n");
    memory("/a/b", "300\n", "8000\n");
    stat("/a/b", "hierarchical_memory_limit 4000\n");
    CgroupMemory m = present();
    assertThat(m.cgroup()).isEqualTo("/a");
    assertThat(m.currentBytes()).isEqualTo(900);
  }

  @Test
  void theWorkingSetLeavesOutTotalInactivePageCache() {
    v1("/app", "/");
    memory("/app", "1000\n", "2000\n");
    stat("/app", "inactive_file 10\ntotal_inactive_file 600\n");
    assertThat(present().workingSetBytes()).isEqualTo(400);
  }

  @ParameterizedTest
  @ValueSource(strings = {"total_inactive_file -5\n", "total_inactive_file 1\ntotal_inactive_file 2\n",
      "inactive_file 600\n", "total_inactive_file\n", ""})
  void aMemoryStatWithoutOneCleanTotalInactiveFileCountsAllUsage(String stat) {
    v1("/app", "/");
    memory("/app", "1000\n", "2000\n");
    stat("/app", stat);
    assertThat(present().workingSetBytes()).isEqualTo(1000);
  }

  @Test
  void aHybridHostReadsMemoryFromV1() {
    // cgroup2 at /sys/fs/cgroup/unified without the memory controller; /sys/fs/cgroup itself is a tmpfs.
    v1("/user.slice/session-1.scope", "/");
    host().file("sys/fs/cgroup/unified/cgroup.controllers", "\n")
        .file("proc/self/cgroup", """
            12:memory:/user.slice
            1:name=systemd:/user.slice/session-1.scope
            0::/user.slice/session-1.scope
            """);
    memory("/user.slice", "42\n", 3 * GIB + "\n");
    CgroupMemory m = present();
    assertThat(m.version()).isEqualTo(CgroupMemory.Version.V1);
    assertThat(m.cgroup()).isEqualTo("/user.slice");
    assertThat(m.limitBytes()).hasValue(3 * GIB);
  }

  @Test
  void cgroupV2IsPreferredWhenItHasTheMemoryController() {
    v1("/a", "/");
    memory("/a", "5\n", "100\n");
    host().cgroupV2("/svc").memory("/svc", "7\n", "200\n");
    host().file("proc/self/cgroup", "12:memory:/a\n0::/svc\n");
    CgroupMemory m = present();
    assertThat(m.version()).isEqualTo(CgroupMemory.Version.V2);
    assertThat(m.limitBytes()).hasValue(200);
  }

  @Test
  void sharedControllersOnOneHierarchyAndEscapedMountPointsAreRead() {
    host().file("proc/self/cgroup", "5:cpu,memory:/x\n")
        .file("proc/self/mountinfo", "40 1 0:30 / /sys/fs/cgroup/cpu\\054memory\\040v1 rw - cgroup cgroup rw,cpu,memory\n")
        .file("sys/fs/cgroup/cpu,memory v1/x/memory.limit_in_bytes", "4096\n")
        .file("sys/fs/cgroup/cpu,memory v1/x/memory.usage_in_bytes", "1024\n");
    CgroupMemory m = present();
    assertThat(m.cgroup()).isEqualTo("/x");
    assertThat(m.limitBytes()).hasValue(4096);
  }

  @Test
  void withNeitherVersionTheReasonGivesBoth() {
    host().meminfo(16L << 20, 8L << 20).file("proc/self/cgroup", "0::/\n").file("proc/self/mountinfo", "");
    assertThat(reasonOf(host().sources().cgroupMemory()))
        .startsWith("cgroup v2: cgroup v2 is not mounted")
        .contains("; cgroup v1: no cgroup v1 memory controller in");
  }

  @ParameterizedTest
  @ValueSource(strings = {"-1\n", "abc\n", "", "\n", "0\n", "1 2\n", " 5\n", "18446744073709551615\n", "max\n"})
  void aMalformedLimitIsAbsent(String limit) {
    v1("/app", "/");
    memory("/app", "1\n", limit);
    assertThat(reason()).contains("memory.limit_in_bytes");
  }

  @Test
  void aMalformedAncestorLimitIsAbsentToo() {
    v1("/a/b", "/");
    memory("/a", "1\n", "lots\n");
    memory("/a/b", "1\n", "100\n");
    assertThat(reason()).contains(root.resolve("sys/fs/cgroup/memory/a/memory.limit_in_bytes").toString());
  }

  @ParameterizedTest
  @ValueSource(strings = {"-1\n", "abc\n", "", "99999999999999999999\n"})
  void aMalformedUsageIsAbsent(String usage) {
    v1("/app", "/");
    memory("/app", usage, "100\n");
    assertThat(reason()).contains("memory.usage_in_bytes");
  }

  @ParameterizedTest
  @ValueSource(strings = {"hierarchical_memory_limit x\n", "hierarchical_memory_limit\n",
      "hierarchical_memory_limit 1\nhierarchical_memory_limit 2\n", "hierarchical_memory_limit 0\n"})
  void aMalformedHierarchicalLimitIsAbsent(String stat) {
    v1("/app", "/");
    memory("/app", "1\n", "100\n");
    stat("/app", stat);
    assertThat(reason()).contains("hierarchical_memory_limit");
  }

  @Test
  void aGroupWithoutALimitFileIsNotAMemoryGroup() {
    v1("/app", "/");
    host().file(dir("/app") + "/memory.usage_in_bytes", "1\n");
    assertThat(reason()).contains("no memory.limit_in_bytes");
  }

  @Test
  void aGroupWithoutADirectoryIsAbsent() {
    v1("/app", "/");
    host().file("proc/self/cgroup", "12:memory:/gone\n");
    assertThat(reason()).contains("has no directory");
  }

  @ParameterizedTest
  @ValueSource(strings = {"memory:/x\n", "x:memory:/x\n", ":memory:/x\n", "12\n"})
  void aMalformedProcSelfCgroupLineIsAbsent(String content) {
    v1("/app", "/");
    host().file("proc/self/cgroup", content);
    assertThat(reason()).contains("is not hierarchy-id:controllers:path");
  }

  @Test
  void twoMemoryEntriesAreAbsent() {
    v1("/app", "/");
    host().file("proc/self/cgroup", "12:memory:/a\n13:memory:/b\n");
    assertThat(reason()).contains("more than one");
  }

  @Test
  void aCgroupV2OnlyHostHasNoV1MemoryEntry() {
    host().file("proc/self/cgroup", "0::/system.slice/app.service\n").file("proc/self/mountinfo", "");
    assertThat(reason()).contains("no cgroup v1 memory controller");
  }

  @Test
  void withoutAMemoryMountTheReadingIsAbsent() {
    v1("/app", "/");
    host().file("proc/self/mountinfo", "27 25 0:24 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n");
    assertThat(reason()).contains("no cgroup v1 memory mount");
  }

  @ParameterizedTest
  @ValueSource(strings = {"31 25 0:28 / /sys/fs/cgroup/memory rw - cgroup cgroup\n",
      "31 25 0:28 / /sys/fs/cgroup/memory rw cgroup cgroup rw,memory\n",
      "31 25 / /sys/fs/cgroup/memory - cgroup cgroup rw,memory\n", "garbage\n"})
  void aMalformedMountinfoLineIsAbsent(String mountinfo) {
    v1("/app", "/");
    host().file("proc/self/mountinfo", mountinfo);
    assertThat(reason()).contains("is not a mount entry");
  }

  @Test
  void aBadEscapeInAMountPointIsAbsent() {
    v1("/app", "/");
    host().file("proc/self/mountinfo", "31 25 0:28 / /sys/fs/cgroup/mem\\04 rw - cgroup cgroup rw,memory\n");
    assertThat(reason()).contains("bad escape");
  }

  @Test
  void anOversizedMountinfoIsNotReadWhole() {
    v1("/app", "/");
    host().file("proc/self/mountinfo", "x".repeat(CgroupV1.MAX_MOUNTINFO_BYTES + 1));
    assertThat(reason()).contains("larger than " + CgroupV1.MAX_MOUNTINFO_BYTES);
  }

  @ParameterizedTest
  @ValueSource(strings = {"12:memory:/../../etc\n", "12:memory:/a/../../b\n", "12:memory:/./a\n"})
  void aGroupPathLeavingTheHierarchyIsRefused(String line) {
    v1("/app", "/");
    host().file("proc/self/cgroup", line);
    assertThat(reason()).contains("leaves");
  }

  @Test
  void aGroupPathLeavingTheContainersMountIsRefused() {
    v1(CONTAINER, CONTAINER);
    memory("/", "1\n", "100\n");
    host().file("proc/self/cgroup", "12:memory:" + CONTAINER + "/../../etc\n");
    assertThat(reason()).contains("leaves");
  }

  @Test
  void aGroupOutsideTheMountsRootIsNotVisible() {
    v1(CONTAINER, CONTAINER);
    host().file("proc/self/cgroup", "12:memory:/docker/other\n");
    assertThat(reason()).contains("outside every memory mount").contains(CONTAINER);
  }

  @ParameterizedTest
  @ValueSource(strings = {"/sys/../../etc", "sys/fs/cgroup/memory", "/sys/./fs"})
  void aMountPointLeavingTheRootIsRefused(String point) {
    v1("/app", "/");
    host().file("proc/self/mountinfo", "31 25 0:28 / " + point + " rw - cgroup cgroup rw,memory\n");
    assertThat(reason()).containsAnyOf("leaves the visible hierarchy", "not an absolute path");
  }

  @Test
  void aRelativeGroupPathIsRefused() {
    v1("/app", "/");
    host().file("proc/self/cgroup", "12:memory:app\n");
    assertThat(reason()).contains("not an absolute path");
  }

  @Test
  void withoutProcSelfCgroupOrMountinfoTheReadingIsAbsent() {
    assertThat(reason()).isEqualTo("no " + root.resolve("proc/self/cgroup"));
    host().file("proc/self/cgroup", "12:memory:/app\n");
    assertThat(reason()).isEqualTo("no " + root.resolve("proc/self/mountinfo"));
  }
}
