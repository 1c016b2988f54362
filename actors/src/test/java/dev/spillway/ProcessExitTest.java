package dev.spillway;

import static dev.spillway.testing.FileTrees.bytesUnder;
import static dev.spillway.testing.FileTrees.entries;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import dev.spillway.config.Sizes;
import dev.spillway.testing.ChildJvm;
import dev.spillway.testing.Processes;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The private tier directory's life across the ways a process ends: SIGTERM and SIGINT clean up as
 * {@code close()} does (shutdown hook); SIGKILL leaves it, and the next start in the same parent
 * reclaims it (ten in a row, then one normal start and stop, leave nothing); a start that fails
 * releases what it made; two instances in one JVM each get their own.
 * Run: {@code mvn -B -pl actors -am test -Dsurefire.failIfNoSpecifiedTests=false -Dtest='ProcessExitTest'}
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class ProcessExitTest {
  @TempDir Path tmp;

  /** A started child and the directory it reported. */
  record Child(Process process, Path dir, long bytes, BufferedReader out) {}

  private static Child start(Path parent, int mib, List<String> launcher) throws IOException {
    List<String> cmd = new ArrayList<>(launcher);
    cmd.addAll(ChildJvm.command(List.of("-Xmx256m"), SpillwayChildMain.class, parent.toString(), Integer.toString(mib)));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), java.nio.charset.StandardCharsets.UTF_8));
    StringBuilder seen = new StringBuilder();
    for (String line; (line = out.readLine()) != null; ) {
      if (line.startsWith("ready ")) {
        String[] w = line.split(" ", -1);
        return new Child(p, Path.of(w[1]), Long.parseLong(w[2]), out);
      }
      seen.append(line).append('\n');
    }
    throw new AssertionError("the child ended before it was ready (exit " + waitFor(p) + "):\n" + seen);
  }

  private static int waitFor(Process p) {
    return Processes.awaitExit(p, Duration.ofMinutes(2), "the child");
  }

  @Test
  void tenSigkillsInARowThenOneNormalStartAndStopLeaveNothingBehind() throws Exception {
    long killed = 0;
    long mostLeft = 0;
    for (int i = 0; i < 10; i++) {
      Child c = start(tmp, 8, List.of());
      assertThat(c.dir()).isDirectory().hasParent(tmp);
      c.process().destroyForcibly(); // SIGKILL
      waitFor(c.process());
      killed += bytesUnder(c.dir());
      assertThat(entries(tmp)).as("SIGKILL runs no hook, so the directory stays; each start reclaimed the one before")
          .containsExactly(c.dir());
      mostLeft = Math.max(mostLeft, bytesUnder(tmp));
    }
    try (Spillway spillway = Spillway.create(ConfigFactory.parseString(
        "spillway { tier.default-parent = \"" + tmp + "\", control.budget = 64 MiB }"))) {
      assertThat(entries(tmp)).as("the start reclaimed the last dead directory").containsExactly(
          spillway.tierDirectories().getFirst());
    }
    assertThat(entries(tmp)).as("and the stop removed its own").isEmpty();
    System.out.printf("10 SIGKILLs left %s in all, never more than one directory (%s) at a time; one start and"
        + " stop left nothing%n", Sizes.format(killed), Sizes.format(mostLeft));
  }

  @Test
  void sigtermCleansUpLikeClose() throws Exception {
    Child c = start(tmp, 4, List.of());
    assertThat(c.bytes()).isPositive();
    c.process().destroy(); // SIGTERM
    waitFor(c.process());
    assertThat(entries(tmp)).isEmpty();
  }

  @Test
  void sigintCleansUpLikeClose() throws Exception {
    // A shell without job control starts background children with SIGINT ignored, which a JVM respects:
    // perl resets it to the default so the child sees Ctrl-C as a terminal would deliver it.
    Child c = start(tmp, 4, List.of("perl", "-e", "$SIG{INT} = 'DEFAULT'; exec @ARGV or die $!"));
    assertThat(Processes.run("kill", "-INT", Long.toString(c.process().pid())).exitCode()).isZero();
    waitFor(c.process());
    assertThat(entries(tmp)).isEmpty();
  }

  @Test
  void aStartThatFailsReleasesWhatItMade() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      assertThatThrownBy(() -> Spillway.create(ConfigFactory.parseString("spillway { tier.default-parent = \"" + tmp
          + "\", control.budget = 64 MiB, metrics.prometheus { enabled = true, port = " + taken.getLocalPort() + " } }")))
          .hasMessageContaining(Integer.toString(taken.getLocalPort()));
    }
    assertThat(entries(tmp)).as("the private directory of the failed start is gone").isEmpty();
  }

  @Test
  void twoInstancesInOneJvmWorkSideBySide() throws Exception {
    String conf = "spillway { tier.default-parent = \"" + tmp + "\", control.budget = 64 MiB }";
    try (Spillway a = Spillway.create(ConfigFactory.parseString(conf));
        Spillway b = Spillway.create(ConfigFactory.parseString(conf))) {
      assertThat(a.tierDirectories()).doesNotContainAnyElementsOf(b.tierDirectories());
      long ha = a.memory().allocate(4096);
      long hb = b.memory().allocate(4096);
      a.memory().putLong(ha, 0, 1);
      b.memory().putLong(hb, 0, 2);
      a.memory().spill(ha);
      b.memory().spill(hb);
      assertThat(a.memory().getLong(ha, 0)).isEqualTo(1);
      assertThat(b.memory().getLong(hb, 0)).isEqualTo(2);
      assertThat(entries(tmp)).hasSize(2);
    }
    assertThat(entries(tmp)).isEmpty();
  }
}
