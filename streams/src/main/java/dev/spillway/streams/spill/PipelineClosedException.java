package dev.spillway.streams.spill;

/**
 * The spill pipeline was closed, or its stream stopped (or is being restarted): the request was not
 * taken or not finished, and its block stays resident. The cause, when there is one, is the failure
 * that stopped the stream.
 */
public final class PipelineClosedException extends IllegalStateException {
  PipelineClosedException(String message) {
    super(message);
  }

  /** A refusal saying why ({@code message}), caused by {@code cause} (may be null). */
  public PipelineClosedException(String message, Throwable cause) {
    super(message, cause);
  }
}
