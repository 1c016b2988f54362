package dev.spillway.streams.spill;

/** The spill pipeline was closed (or its stream stopped): the request was not taken or not finished. */
public final class PipelineClosedException extends IllegalStateException {
  PipelineClosedException(String message) {
    super(message);
  }

  PipelineClosedException(String message, Throwable cause) {
    super(message, cause);
  }
}
