package dev.spillway.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class MainTest {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int run(String... args) {
    return Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  @Test
  void theDemoVerifiesEveryBlockAndPrintsThePools() {
    assertThat(run()).isZero();
    String text = out.toString(StandardCharsets.UTF_8);
    assertThat(text).contains("3075 blocks over 64 size classes and 3 huge blocks");
    assertThat(text).contains("class").contains("resident").contains("meta %");
    assertThat(text).containsPattern("(?m)^8B\\s+1\\s+32768\\s+48\\s");
    assertThat(text).containsPattern("(?m)^1MiB\\s");
    assertThat(text).containsPattern("(?m)^huge\\s+3\\s");
    assertThat(text).contains("After freeing every block and shrinking: 0 blocks in use, 0 slabs, 0 B resident");
    assertThat(text).containsPattern("verified 3075 blocks \\(.*\\): OK");
    assertThat(text).containsPattern("Spilled 1537 blocks .* then restored 1537 of them on access");
    assertThat(dev.spillway.config.TierSettings.defaultDirectory()).doesNotExist();
    assertThat(err.toString(StandardCharsets.UTF_8)).isEmpty();
  }

  @Test
  void wrongArgumentsPrintUsageAndExitNonZero() {
    assertThat(run("frobnicate")).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("unknown command 'frobnicate'").contains("usage:");
    err.reset();
    assertThat(run("demo", "extra")).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("demo takes no arguments").contains("usage:");
    assertThat(run("help")).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8)).contains("usage:");
  }
}
