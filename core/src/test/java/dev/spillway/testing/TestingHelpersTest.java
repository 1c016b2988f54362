package dev.spillway.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shared test helpers do what the tests rely on (tests run as root, as in CI).
 * Run: {@code mvn -B -pl core -am test -Dsurefire.failIfNoSpecifiedTests=false -Dtest='TestingHelpersTest'}
 */
class TestingHelpersTest {
  @TempDir Path tmp;

  /** The child of {@link #aChildJvmRunsAMainOfTheTestsWithTheTestClassPath}: prints its arguments. */
  public static final class EchoMain {
    private EchoMain() {}

    public static void main(String[] args) {
      System.out.println(String.join(",", args) + " " + Runtime.getRuntime().maxMemory() / (1 << 20));
    }
  }

  @SuppressWarnings("try") // closes inside try-with-resources on purpose: a second close does nothing
  @Test
  void aTmpfsMountIsASmallDeviceOfItsOwnThatFillsUpAndCloseUnmountsIt() throws IOException {
    Path dir = tmp.resolve("a/mnt");
    try (TmpfsMount device = TmpfsMount.mount(dir, "64k", "0700")) {
      assertThat(device.path()).isEqualTo(dir);
      assertThat(Files.getFileStore(dir).type()).isEqualTo("tmpfs");
      assertThat(Files.getFileStore(dir)).isNotEqualTo(Files.getFileStore(tmp));
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir))).isEqualTo("rwx------");
      assertThatThrownBy(() -> Files.write(dir.resolve("big"), new byte[256 << 10])).isInstanceOf(IOException.class)
          .hasMessageContaining("No space left on device");
      Files.delete(dir.resolve("big"));
      device.close();
      assertThat(Files.getFileStore(dir)).isEqualTo(Files.getFileStore(tmp));
      device.close(); // once only
    }
  }

  @Test
  void aTmpfsMountCanBeReadOnlyFromTheStartOrLater() throws IOException {
    try (TmpfsMount ro = TmpfsMount.mountReadOnly(tmp.resolve("ro"), "1m")) {
      assertThatThrownBy(() -> Files.writeString(ro.path().resolve("x"), "x")).isInstanceOf(IOException.class);
    }
    try (TmpfsMount later = TmpfsMount.mount(tmp.resolve("later"), "1m", "0755")) {
      Files.writeString(later.path().resolve("kept"), "x");
      later.remountReadOnly();
      assertThat(later.path().resolve("kept")).hasContent("x");
      assertThatThrownBy(() -> Files.writeString(later.path().resolve("y"), "y")).isInstanceOf(IOException.class);
    }
  }

  @Test
  void aMountThatFailsFailsTheTestWithMountsOwnWords() {
    assertThatThrownBy(() -> TmpfsMount.mount(tmp.resolve("bad"), "lots", "0700")).isInstanceOf(AssertionError.class)
        .hasMessageContaining("cannot mount a lots tmpfs at " + tmp.resolve("bad"))
        .hasMessageContaining("`mount -t tmpfs -o size=lots,mode=0700 tmpfs " + tmp.resolve("bad") + "` exited");
  }

  @Test
  void aCommandRunsToItsEndWithItsOutputAndAProcessThatDoesNotExitIsKilled() throws IOException {
    Processes.Result r = Processes.run("sh", "-c", "echo out; echo err >&2; exit 3");
    assertThat(r.exitCode()).isEqualTo(3);
    assertThat(r.succeeded()).isFalse();
    assertThat(r.output()).contains("out").contains("err");
    assertThat(r.describe()).startsWith("`sh -c echo out; echo err >&2; exit 3` exited 3: ");
    assertThat(Processes.run("true").succeeded()).isTrue();
    assertThatThrownBy(() -> Processes.run("/no/such/command")).isInstanceOf(AssertionError.class)
        .hasMessageContaining("cannot start `/no/such/command`");

    Process sleeper = new ProcessBuilder("sleep", "600").start();
    assertThatThrownBy(() -> Processes.awaitExit(sleeper, Duration.ofMillis(200), "the sleeper"))
        .isInstanceOf(AssertionError.class).hasMessageContaining("the sleeper (pid " + sleeper.pid() + ") did not exit");
    assertThat(Processes.awaitExit(sleeper, Duration.ofSeconds(30), "the killed sleeper")).isNotZero();
  }

  @Test
  void aChildJvmRunsAMainOfTheTestsWithTheTestClassPath() throws IOException {
    List<String> cmd = ChildJvm.command(List.of("-Xmx64m"), EchoMain.class, "a", "b c");
    assertThat(cmd).startsWith(ChildJvm.java()).containsSubsequence(ChildJvm.FLAGS).contains("-Xmx64m");
    Process p = ChildJvm.builder(List.of("-Xmx64m"), EchoMain.class, "a", "b c").redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    assertThat(Processes.awaitExit(p, Duration.ofMinutes(1), "the echo child")).as(out).isZero();
    assertThat(out).isEqualTo("a,b c 64");
  }

  @Test
  void fileTreesListsMeasuresAndDeletesWithoutFollowingLinks() throws IOException {
    Path root = Files.createDirectories(tmp.resolve("root/sub"));
    Files.write(tmp.resolve("root/one"), new byte[10]);
    Files.write(root.resolve("two"), new byte[32]);
    Path outside = Files.write(tmp.resolve("outside"), new byte[5]);
    Files.createSymbolicLink(root.resolve("link"), outside);
    assertThat(FileTrees.names(tmp.resolve("root"))).containsExactlyInAnyOrder("one", "sub");
    assertThat(FileTrees.entries(tmp.resolve("root"))).containsExactlyInAnyOrder(tmp.resolve("root/one"), root);
    assertThat(FileTrees.bytesUnder(tmp.resolve("root"))).isEqualTo(10 + 32);
    FileTrees.delete(tmp.resolve("root"));
    assertThat(tmp.resolve("root")).doesNotExist();
    assertThat(outside).exists().hasSize(5);
    FileTrees.delete(tmp.resolve("root")); // gone already: nothing to do
  }

  @Test
  void fileBytesFlipCutAndZeroInPlace() throws IOException {
    Path f = Files.write(tmp.resolve("f"), new byte[] {1, 2, 3, 4, 5, 6});
    FileBytes.flip(f, 1, 0xff);
    assertThat(Files.readAllBytes(f)).containsExactly(1, ~2, 3, 4, 5, 6);
    FileBytes.zero(f, 2, 4);
    assertThat(Files.readAllBytes(f)).containsExactly(1, ~2, 0, 0, 5, 6);
    FileBytes.truncate(f, 3);
    assertThat(Files.readAllBytes(f)).containsExactly(1, ~2, 0);
  }

  @Test
  void testBytesComeBackFromTheirSeed() {
    assertThat(TestBytes.random(7, 100)).isEqualTo(TestBytes.random(7, 100)).isNotEqualTo(TestBytes.random(8, 100));
    byte[] expected = new byte[100];
    new SplittableRandom(7).nextBytes(expected);
    assertThat(TestBytes.random(7, 100)).isEqualTo(expected);
  }
}
