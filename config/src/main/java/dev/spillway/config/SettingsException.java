package dev.spillway.config;

import java.util.List;

/**
 * A configuration value is missing, unparsable or out of range, or a key is not one Spillway reads.
 * The message names the full key, the value found and what is allowed, so that an operator can fix
 * the file without reading code. A problem found in several keys at once (every unknown key of a
 * file) is one exception whose message names each of them.
 */
public final class SettingsException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  private final List<String> keys;

  public SettingsException(String key, String message) {
    super(key + ": " + message);
    this.keys = List.of(key);
  }

  public SettingsException(String key, String message, Throwable cause) {
    super(key + ": " + message, cause);
    this.keys = List.of(key);
  }

  /**
   * A problem with each of {@code keys} (at least one); {@code message} is complete and names every
   * key itself.
   */
  public SettingsException(List<String> keys, String message) {
    super(message);
    if (keys.isEmpty()) {
      throw new IllegalArgumentException("keys must name at least one key");
    }
    this.keys = List.copyOf(keys);
  }

  /** The full path of the offending key, e.g. {@code spillway.memory.max-block-size}; the first when several are. */
  public String key() {
    return keys.getFirst();
  }

  /** Every offending key, in the order the message names them. */
  public List<String> keys() {
    return keys;
  }
}
