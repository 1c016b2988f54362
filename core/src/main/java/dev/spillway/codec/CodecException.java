package dev.spillway.codec;

/**
 * Stored bytes could not be decoded (malformed input, wrong decoded length, an unregistered or
 * unknown Kryo class), or an object could not be encoded. The message names the codec and what failed.
 */
public final class CodecException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public CodecException(String message) {
    super(message);
  }

  public CodecException(String message, Throwable cause) {
    super(message, cause);
  }
}
