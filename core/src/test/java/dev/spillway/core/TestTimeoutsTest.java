package dev.spillway.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Every module's tests run under a default timeout: JUnit reads it from this module's
 * {@code junit-platform.properties}, and config, core, streams, actors and cli carry the same file.
 * Run: {@code mvn -B -pl core -am test -Dsurefire.failIfNoSpecifiedTests=false -Dtest='TestTimeoutsTest'}
 */
class TestTimeoutsTest {
  static final List<String> MODULES = List.of("config", "core", "streams", "actors", "cli");
  static final String FILE = "src/test/resources/junit-platform.properties";

  private static Optional<String> testDefault;
  private static Optional<String> lifecycleDefault;

  /** What the JUnit platform itself was configured with, as an extension sees it. */
  @RegisterExtension
  static final BeforeAllCallback CONFIGURATION = context -> {
    testDefault = context.getConfigurationParameter("junit.jupiter.execution.timeout.default");
    lifecycleDefault = context.getConfigurationParameter("junit.jupiter.execution.timeout.lifecycle.method.default");
  };

  @Test
  void junitRunsTheseTestsWithTheDefaultTimeout() {
    assertThat(testDefault).as("junit.jupiter.execution.timeout.default").contains("10 m");
    assertThat(lifecycleDefault).as("junit.jupiter.execution.timeout.lifecycle.method.default").contains("10 m");
  }

  @Test
  void everyModuleWithTestsCarriesTheSameFile() throws IOException {
    Path repo = Path.of("").toAbsolutePath().getParent(); // surefire runs in the module's directory
    String core = Files.readString(repo.resolve("core").resolve(FILE));
    for (String module : MODULES) {
      assertThat(Files.readString(repo.resolve(module).resolve(FILE))).as("%s/%s", module, FILE).isEqualTo(core);
    }
  }
}
