package dev.spillway.codec;

import static org.assertj.core.api.Assertions.assertThat;

import dev.spillway.testing.ChildJvm;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * zstd-jni has two bindings in one jar: FFM classes in its multi-release part (JDK 22+: what an
 * application with the jar on its class path runs) and JNI base classes (what a shaded jar that is not
 * multi-release runs, such as {@code spillway.jar} and {@code benchmarks.jar}). Both round-trip, and
 * with the flags every launch passes ({@link ChildJvm#FLAGS}) neither prints a native-access warning.
 * Run: {@code mvn -B -o test -pl core -am -Dsurefire.failIfNoSpecifiedTests=false -Dtest=ZstdBindingsTest}
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ZstdBindingsTest {
  @TempDir Path tmp;

  @ParameterizedTest(name = "jdk.util.jar.enableMultiRelease={0}: {1}")
  @CsvSource({"true, ffm", "false, jni"})
  void bothBindingsRoundTripWithoutAWarning(boolean multiRelease, String binding) throws Exception {
    Path err = tmp.resolve("child.err");
    Process p = ChildJvm.builder(List.of("-Xmx128m", "-Djdk.util.jar.enableMultiRelease=" + multiRelease),
        ZstdBindingMain.class).redirectError(err.toFile()).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(read(err)).isZero();
    assertThat(out).isEqualTo(binding + " ok");
    assertThat(read(err)).as("the child's standard error").isEmpty();
  }

  private static String read(Path file) throws IOException {
    return Files.exists(file) ? Files.readString(file) : "";
  }
}
