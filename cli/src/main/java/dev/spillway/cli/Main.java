package dev.spillway.cli;

import dev.spillway.config.SettingsException;
import java.io.Console;
import java.io.InputStream;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.function.Supplier;

/**
 * Spillway's command line: {@code bin/spillway <command>} (or {@code java -jar cli/target/spillway.jar},
 * or through Maven with {@code -Dspillway.args="<command line>"}). {@code demo} (the default) runs the
 * main job on embedded defaults; every command answers {@code --help}. Exit codes: 0 success, 1 the
 * command failed (its message says why), 2 the arguments were wrong (the usage follows).
 */
public final class Main {
  static final String USAGE = """
      usage: spillway [-Dkey=value ...] <command> [options]
      commands:
        demo       run the whole system on embedded defaults: a keyed map 4x a 32 MiB budget, Zipf-skewed
                   reads by key, every value verified, a summary table (the default command)
        ingest     store a file (or standard input) through the streams API under the memory budget, read
                   it back and compare digests; --verify sha256 and --out FILE check the round trip
        ingest     with --into DIR: store a file, a tree or standard input in the durable map in DIR
        export     give back what ingest --into stored: one path, or the whole tree (--to DIR)
        ls         list the paths of a durable map with kind, mode and size
        snapshot   a point-in-time copy of a durable map with a SHA-256 manifest; --restore one
        inspect    check segment directories without changing them: records, live fraction, every corrupt
                   record, torn tail and missing segment; --repair cuts what a crash left; a durable
                   map's directory or snapshot too (--verify checks a snapshot's manifest)
        help       this text
      `spillway <command> --help` describes each command. Settings: application.conf, -Dconfig.file=FILE or
      -Dspillway.<key>=value (bin/spillway passes leading -D options to the JVM).""";

  static final String DEMO_HELP = """
      usage: spillway demo
        Runs the whole system on the embedded defaults with a 32 MiB budget: writes 32,768 values of 4 KiB
        under string keys into the keyed map 'demo' (4x the budget), reads 200,000 of them by key with
        Zipf(0.99)-skewed access while a progress line shows what is in RAM and on the tier, verifies every
        value and prints a summary table (with the map's hits per level and demotions). Metrics are served
        on http://127.0.0.1:<port>/metrics while it runs. Exit 0 when every value read back right.""";

  private Main() {}

  // System.console() may answer a console also when the streams are redirected (by default on JDK 22 to
  // 24; on 25 with -Djdk.console=jdk.internal.le), so isTerminal() tells; the null check guards that call.
  @SuppressWarnings("SystemConsoleNull")
  public static void main(String[] args) {
    Console console = System.console();
    System.exit(run(args, System.out, System.err, () -> System.in, console != null && console.isTerminal()));
  }

  static int run(String[] args, PrintStream out, PrintStream err) {
    return run(args, out, err, () -> System.in, false);
  }

  /** Runs one command; returns the process exit code (0 success, 1 failure, 2 wrong arguments). */
  static int run(String[] args, PrintStream out, PrintStream err, Supplier<InputStream> stdin, boolean terminal) {
    String[] words = Arrays.stream(args).filter(a -> !a.isBlank()).toArray(String[]::new);
    String command = words.length == 0 ? "demo" : words[0];
    String[] rest = Arrays.copyOfRange(words, Math.min(1, words.length), words.length);
    String help = USAGE;
    try {
      return switch (command) {
        case "demo" -> {
          help = DEMO_HELP;
          Options o = Options.parse("demo", rest, java.util.Set.of(), java.util.Set.of());
          if (o.has("--help")) {
            out.println(DEMO_HELP);
            yield 0;
          }
          if (!o.arguments().isEmpty()) {
            throw new Options.UsageException("demo takes no arguments, got: " + String.join(" ", o.arguments()));
          }
          yield new DemoJob(out, terminal).run() ? 0 : 1;
        }
        case "ingest" -> {
          help = IngestCommand.HELP;
          yield new IngestCommand(out, err, stdin, terminal).run(rest);
        }
        case "export" -> {
          help = TreeExportHelp.HELP;
          Options o = Options.parse("export", rest, java.util.Set.of("--to", "--budget"), java.util.Set.of());
          if (o.has("--help")) {
            out.println(TreeExportHelp.HELP);
            yield 0;
          }
          if (o.arguments().isEmpty() || o.arguments().size() > 2) {
            throw new Options.UsageException("export takes a map directory and at most one key");
          }
          yield new TreeExport(out, err).run(o);
        }
        case "ls" -> {
          help = MapCommands.LS_HELP;
          Options o = Options.parse("ls", rest, java.util.Set.of("--budget"), java.util.Set.of());
          if (o.has("--help")) {
            out.println(MapCommands.LS_HELP);
            yield 0;
          }
          yield new MapCommands(out).ls(o);
        }
        case "snapshot" -> {
          help = MapCommands.SNAPSHOT_HELP;
          Options o = Options.parse("snapshot", rest, java.util.Set.of(), java.util.Set.of("--restore"));
          if (o.has("--help")) {
            out.println(MapCommands.SNAPSHOT_HELP);
            yield 0;
          }
          yield new MapCommands(out).snapshot(o);
        }
        case "inspect" -> {
          help = InspectCommand.HELP;
          yield new InspectCommand(out, err).run(rest);
        }
        case "help", "-h", "--help" -> {
          out.println(USAGE);
          yield 0;
        }
        default -> throw new Options.UsageException("unknown command '" + command + "'");
      };
    } catch (Options.UsageException e) {
      err.println("spillway: " + e.getMessage());
      err.println(help);
      return 2;
    } catch (CommandException | SettingsException e) {
      err.println("spillway: " + e.getMessage());
      return 1;
    } catch (Exception e) {
      err.println("spillway: " + command + " failed: " + describe(e));
      return 1;
    }
  }

  /** The message of {@code e}, unwrapped from the layers a stream or a future adds. */
  private static String describe(Throwable e) {
    Throwable t = e;
    while ((t instanceof java.util.concurrent.ExecutionException || t instanceof java.util.concurrent.CompletionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t.getMessage() != null ? t.getMessage() + " (" + t.getClass().getSimpleName() + ")" : t.toString();
  }
}
