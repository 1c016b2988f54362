package dev.spillway.cli;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The words of one command after its name: options ({@code --name value}, {@code --name=value}, or a
 * bare {@code --flag}) and positional arguments, in any order. {@code --} ends the options; a lone
 * {@code -} is an argument (standard input or output). An option not in the command's lists, a
 * value missing, or an option given twice is a {@link UsageException} naming it.
 */
final class Options {
  private final Map<String, String> values = new HashMap<>();
  private final List<String> arguments = new ArrayList<>();

  /** Thrown for arguments a command cannot take: printed with the command's help, exit code 2. */
  static final class UsageException extends Exception {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
      super(message);
    }
  }

  private Options() {}

  /**
   * Parses {@code words} for {@code command}, which takes the options {@code withValue} (each followed
   * by a value) and {@code flags} (none). {@code --help} and {@code -h} are always flags.
   */
  static Options parse(String command, String[] words, Set<String> withValue, Set<String> flags)
      throws UsageException {
    Options o = new Options();
    boolean optionsEnded = false;
    for (int i = 0; i < words.length; i++) {
      String w = words[i];
      if (optionsEnded || !w.startsWith("-") || w.equals("-")) {
        o.arguments.add(w);
        continue;
      }
      if (w.equals("--")) {
        optionsEnded = true;
        continue;
      }
      String name = w;
      String value = null;
      int eq = w.indexOf('=');
      if (w.startsWith("--") && eq > 0) {
        name = w.substring(0, eq);
        value = w.substring(eq + 1);
      }
      if (name.equals("-h")) {
        name = "--help";
      }
      if (name.equals("--help") || flags.contains(name)) {
        if (value != null) {
          throw new UsageException(command + ": " + name + " takes no value, got " + w);
        }
        value = "";
      } else if (withValue.contains(name)) {
        if (value == null) {
          if (i + 1 >= words.length) {
            throw new UsageException(command + ": " + name + " needs a value");
          }
          value = words[++i];
        }
      } else {
        List<String> known = new ArrayList<>(withValue);
        known.addAll(flags);
        known.sort(null);
        throw new UsageException(command + ": unknown option " + name + (known.isEmpty() ? " (it takes none)"
            : " (allowed: " + String.join(", ", known) + ", --help)"));
      }
      if (o.values.put(name, value) != null) {
        throw new UsageException(command + ": " + name + " is given twice");
      }
    }
    return o;
  }

  boolean has(String name) {
    return values.containsKey(name);
  }

  /** The value of {@code name}, or {@code fallback} when it was not given. */
  String value(String name, String fallback) {
    return values.getOrDefault(name, fallback);
  }

  List<String> arguments() {
    return arguments;
  }
}
