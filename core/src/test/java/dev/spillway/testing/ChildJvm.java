package dev.spillway.testing;

import java.util.ArrayList;
import java.util.List;

/**
 * A second JVM for a test: the {@code java} this test runs on, the flags every Spillway launch needs,
 * and this test's class path, running a {@code main} of the tests (a writer to kill, a lock holder, a
 * Spillway to signal).
 */
public final class ChildJvm {
  /** The flags every launch needs: FFM, LZ4's and zstd-jni's native code; Akka's, Kryo's and Kamon's Unsafe. */
  public static final List<String> FLAGS =
      List.of("--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow");

  private ChildJvm() {}

  /**
   * The command line that runs {@code main} with {@code args} in a new JVM: this JVM's {@code java},
   * {@link #FLAGS}, {@code jvmOptions} (such as {@code -Xmx256m}) and {@code -cp} this test's class path.
   */
  public static List<String> command(List<String> jvmOptions, Class<?> main, String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(java());
    cmd.addAll(FLAGS);
    cmd.addAll(jvmOptions);
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
    cmd.addAll(List.of(args));
    return cmd;
  }

  /** A process builder for {@link #command}; redirect its output as the test needs, then start it. */
  public static ProcessBuilder builder(List<String> jvmOptions, Class<?> main, String... args) {
    return new ProcessBuilder(command(jvmOptions, main, args));
  }

  /** The {@code java} launcher of this JVM (surefire's toolchain JDK in a build). */
  public static String java() {
    return ProcessHandle.current().info().command()
        .orElseThrow(() -> new AssertionError("cannot tell which java runs this test"));
  }
}
