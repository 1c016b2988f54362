package dev.spillway.cli;

import java.io.PrintStream;
import java.util.Arrays;

/**
 * Spillway's command line. {@code demo} (the default) runs the main job on embedded defaults.
 *
 * <pre>
 *   mvn -q -DskipTests -pl cli -am package exec:exec                    # the demo
 *   mvn -q -DskipTests -pl cli -am package exec:exec -Dspillway.args=help
 * </pre>
 */
public final class Main {
  static final String USAGE = """
      usage: spillway [command]
        demo    allocate, write, verify and free a working set over every size class on embedded
                defaults, and print the pools' statistics (the default command)
        help    print this text""";

  private Main() {}

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  /** Runs one command; returns the process exit code. */
  static int run(String[] args, PrintStream out, PrintStream err) {
    String[] words = Arrays.stream(args).filter(a -> !a.isBlank()).toArray(String[]::new);
    String command = words.length == 0 ? "demo" : words[0];
    switch (command) {
      case "demo" -> {
        if (words.length > 1) {
          return usage(err, "demo takes no arguments, got: " + String.join(" ", Arrays.copyOfRange(words, 1, words.length)));
        }
        return new DemoJob(out).run() ? 0 : 1;
      }
      case "help", "-h", "--help" -> {
        out.println(USAGE);
        return 0;
      }
      default -> {
        return usage(err, "unknown command '" + command + "'");
      }
    }
  }

  private static int usage(PrintStream err, String problem) {
    err.println("spillway: " + problem);
    err.println(USAGE);
    return 2;
  }
}
