package dev.spillway.config;

/**
 * A configuration value is missing, unparsable or out of range. The message names the full key, the
 * value found and what is allowed, so that an operator can fix the file without reading code.
 */
public final class SettingsException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  private final String key;

  public SettingsException(String key, String message) {
    super(key + ": " + message);
    this.key = key;
  }

  public SettingsException(String key, String message, Throwable cause) {
    super(key + ": " + message, cause);
    this.key = key;
  }

  /** The full path of the offending key, e.g. {@code spillway.memory.max-block-size}. */
  public String key() {
    return key;
  }
}
