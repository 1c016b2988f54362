package dev.spillway.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;

/**
 * Reads typed values below one path of a {@link Config}, turning every parse or range problem into a
 * {@link SettingsException} that names the full key, the value and the allowed range.
 */
final class ConfigReader {
  private final Config config;
  private final String path;

  ConfigReader(Config config, String path) {
    this.config = config;
    this.path = path;
  }

  ConfigReader child(String name) {
    return new ConfigReader(config, key(name));
  }

  /** The full path this reader reads below. */
  String path() {
    return path;
  }

  String key(String name) {
    return path.isEmpty() ? name : path + "." + name;
  }

  boolean has(String name) {
    return config.hasPath(key(name));
  }

  Config raw(String name) {
    String key = key(name);
    try {
      return config.getConfig(key);
    } catch (ConfigException.Missing e) {
      throw new SettingsException(key, "is missing: a section is required here", e);
    } catch (ConfigException.WrongType e) {
      throw new SettingsException(key, "must be a section { ... }, found " + render(key), e);
    }
  }

  /** Whether the value at {@code name} is the string {@code word} (any case), e.g. {@code auto}. */
  boolean isWord(String name, String word) {
    String key = key(name);
    if (!config.hasPath(key)) {
      return false;
    }
    var value = config.getValue(key);
    return value.valueType() == com.typesafe.config.ConfigValueType.STRING
        && word.equalsIgnoreCase(String.valueOf(value.unwrapped()).trim());
  }

  /** A memory size in bytes, within {@code [min, max]}. */
  long bytes(String name, long min, long max) {
    String key = key(name);
    long value;
    try {
      value = config.getBytes(key);
    } catch (ConfigException.Missing e) {
      throw new SettingsException(key, "is missing: a size between " + Sizes.format(min) + " and "
          + Sizes.format(max) + " is required", e);
    } catch (ConfigException e) {
      throw new SettingsException(key, "cannot be parsed as a size: " + render(key)
          + " (allowed: a number of bytes or a number with a unit such as 512 KiB, 4 MiB, 1 GiB)", e);
    }
    if (value < min || value > max) {
      throw new SettingsException(key, "= " + render(key) + " is out of range: allowed "
          + Sizes.format(min) + " to " + Sizes.format(max));
    }
    return value;
  }

  /** A size that must also be a multiple of {@code unit} bytes. */
  long alignedBytes(String name, long min, long max, long unit) {
    long value = bytes(name, min, max);
    if (value % unit != 0) {
      throw new SettingsException(key(name), "= " + render(key(name)) + " must be a multiple of "
          + Sizes.format(unit));
    }
    return value;
  }

  long count(String name, long min, long max) {
    String key = key(name);
    long value;
    try {
      value = config.getLong(key);
    } catch (ConfigException.Missing e) {
      throw new SettingsException(key, "is missing: a whole number between " + min + " and " + max
          + " is required", e);
    } catch (ConfigException e) {
      throw new SettingsException(key, "must be a whole number between " + min + " and " + max
          + ", found " + render(key), e);
    }
    if (value < min || value > max) {
      throw new SettingsException(key, "= " + value + " is out of range: allowed " + min + " to " + max);
    }
    return value;
  }

  /**
   * A whole number that {@code ok} accepts, for ranges {@link #count} cannot say (one with a hole);
   * {@code allowed} says which numbers in every message. A fraction such as {@code 3.5} is refused,
   * not truncated.
   */
  long wholeNumber(String name, java.util.function.LongPredicate ok, String allowed) {
    String key = key(name);
    Number number;
    try {
      number = config.getNumber(key);
    } catch (ConfigException.Missing e) {
      throw new SettingsException(key, "is missing: a whole number is required: allowed " + allowed, e);
    } catch (ConfigException e) {
      throw new SettingsException(key, "must be a whole number, found " + render(key) + ": allowed " + allowed, e);
    }
    if (!(number instanceof Integer || number instanceof Long)) {
      throw new SettingsException(key, "must be a whole number, found " + render(key) + ": allowed " + allowed);
    }
    long value = number.longValue();
    if (!ok.test(value)) {
      throw new SettingsException(key, "= " + value + " is out of range: allowed " + allowed);
    }
    return value;
  }

  /** A duration within {@code [min, max]}, in HOCON's duration syntax ({@code 5 ms}, {@code 2 s}). */
  java.time.Duration duration(String name, java.time.Duration min, java.time.Duration max) {
    String key = key(name);
    java.time.Duration value;
    try {
      value = config.getDuration(key);
    } catch (ConfigException.Missing e) {
      throw new SettingsException(key, "is missing: a duration between " + min + " and " + max
          + " is required", e);
    } catch (ConfigException e) {
      throw new SettingsException(key, "cannot be parsed as a duration: " + render(key)
          + " (allowed: a number with a unit such as 500 us, 5 ms, 2 s)", e);
    }
    if (value.compareTo(min) < 0 || value.compareTo(max) > 0) {
      throw new SettingsException(key, "= " + render(key) + " is out of range: allowed " + min + " to " + max);
    }
    return value;
  }

  /** A fraction in {@code (0, 1]} when {@code zeroAllowed} is false, {@code [0, 1)} otherwise. */
  double fraction(String name, boolean zeroAllowed) {
    String key = key(name);
    double value;
    try {
      value = config.getDouble(key);
    } catch (ConfigException.Missing e) {
      throw new SettingsException(key, "is missing: a fraction is required", e);
    } catch (ConfigException e) {
      throw new SettingsException(key, "must be a number, found " + render(key), e);
    }
    boolean ok = zeroAllowed ? value >= 0.0 && value < 1.0 : value > 0.0 && value <= 1.0;
    if (!ok || Double.isNaN(value)) {
      throw new SettingsException(key, "= " + value + " is out of range: allowed "
          + (zeroAllowed ? "0 <= value < 1" : "0 < value <= 1"));
    }
    return value;
  }

  boolean flag(String name) {
    String key = key(name);
    try {
      return config.getBoolean(key);
    } catch (ConfigException.Missing e) {
      throw new SettingsException(key, "is missing: true or false is required", e);
    } catch (ConfigException e) {
      throw new SettingsException(key, "must be true or false, found " + render(key), e);
    }
  }

  /** A string value. */
  String string(String name) {
    String key = key(name);
    try {
      return config.getString(key);
    } catch (ConfigException.Missing e) {
      throw new SettingsException(key, "is missing: a string is required", e);
    } catch (ConfigException e) {
      throw new SettingsException(key, "must be a string, found " + render(key), e);
    }
  }

  /** A list of strings, possibly empty. */
  java.util.List<String> strings(String name) {
    String key = key(name);
    try {
      return config.getStringList(key);
    } catch (ConfigException.Missing e) {
      throw new SettingsException(key, "is missing: a list of strings [ \"...\", ... ] is required", e);
    } catch (ConfigException e) {
      throw new SettingsException(key, "must be a list of strings [ \"...\", ... ], found " + render(key), e);
    }
  }

  private String render(String key) {
    try {
      return config.getValue(key).render(com.typesafe.config.ConfigRenderOptions.concise());
    } catch (ConfigException e) {
      return "<unreadable>";
    }
  }

  /** Parses a size written as a config key (for example a class name such as {@code "4KiB"}). */
  static long parseSize(String key, String text) {
    try {
      return ConfigFactory.empty().withValue("size", ConfigValueFactory.fromAnyRef(text)).getBytes("size");
    } catch (ConfigException e) {
      throw new SettingsException(key, "'" + text + "' cannot be parsed as a size"
          + " (allowed: a size class such as 64B, 4KiB, 1MiB)", e);
    }
  }
}
