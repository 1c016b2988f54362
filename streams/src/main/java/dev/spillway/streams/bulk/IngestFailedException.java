package dev.spillway.streams.bulk;

/**
 * An ingestion stopped early (an invalid element, an allocation that could not be made room for, or
 * an upstream failure). Every block stored before the failure is valid and listed in
 * {@link #stored()}; nothing stored was dropped.
 */
public final class IngestFailedException extends RuntimeException {
  private final IngestSummary stored;

  IngestFailedException(IngestSummary stored, Throwable cause) {
    super("ingestion failed after storing " + stored.blocks() + " block(s), " + stored.bytes()
        + " bytes, which stay valid (see stored()): " + cause, cause);
    this.stored = stored;
  }

  /** The blocks stored before the failure. */
  public IngestSummary stored() {
    return stored;
  }
}
