package dev.spillway.cli;

import java.io.InputStream;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.function.Supplier;

/**
 * Spillway's command line. {@code demo} (the default) runs the main job on embedded defaults.
 *
 * <pre>
 *   mvn -q -DskipTests -pl cli -am package exec:exec                                  # the demo
 *   mvn -q -DskipTests -pl cli -am package exec:exec -Dspillway.args="ingest big.bin"
 *   mvn -q -DskipTests -pl cli -am package exec:exec -Dspillway.args="inspect /var/tmp/spillway-1234"
 * </pre>
 */
public final class Main {
  static final String USAGE = """
      usage: spillway [command]
        demo            run the whole system on embedded defaults: a working set 4x a 32 MiB budget,
                        Zipf-skewed reads, every value verified, a summary table (the default command)
        ingest <file|-> store a file (or standard input) as blocks through the streams API under a
                        memory budget, read it back and compare checksums
        inspect <dir>   check a segment directory (or a tier directory): records, live fraction and
                        every corrupt record
        help            print this text""";

  private Main() {}

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err, () -> System.in, System.console() != null));
  }

  static int run(String[] args, PrintStream out, PrintStream err) {
    return run(args, out, err, () -> System.in, false);
  }

  /** Runs one command; returns the process exit code (0 success, 1 failure, 2 wrong arguments). */
  static int run(String[] args, PrintStream out, PrintStream err, Supplier<InputStream> stdin, boolean terminal) {
    String[] words = Arrays.stream(args).filter(a -> !a.isBlank()).toArray(String[]::new);
    String command = words.length == 0 ? "demo" : words[0];
    String[] rest = Arrays.copyOfRange(words, Math.min(1, words.length), words.length);
    try {
      switch (command) {
        case "demo" -> {
          if (rest.length > 0) {
            return usage(err, "demo takes no arguments, got: " + String.join(" ", rest));
          }
          return new DemoJob(out, terminal).run() ? 0 : 1;
        }
        case "ingest" -> {
          if (rest.length != 1) {
            return usage(err, "ingest takes one argument, a file or - for standard input; got " + rest.length);
          }
          return new IngestCommand(out, stdin).run(rest[0]);
        }
        case "inspect" -> {
          return new InspectCommand(out, err).run(rest);
        }
        case "help", "-h", "--help" -> {
          out.println(USAGE);
          return 0;
        }
        default -> {
          return usage(err, "unknown command '" + command + "'");
        }
      }
    } catch (CommandException e) {
      err.println("spillway: " + e.getMessage());
      return 1;
    } catch (Exception e) {
      err.println("spillway: " + command + " failed: " + e);
      return 1;
    }
  }

  private static int usage(PrintStream err, String problem) {
    err.println("spillway: " + problem);
    err.println(USAGE);
    return 2;
  }
}
