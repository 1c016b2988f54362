package dev.spillway.memory;

/** The operating system refused memory for a slab or a huge block. */
public final class OffHeapMemoryException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public OffHeapMemoryException(String message) {
    super(message);
  }

  public OffHeapMemoryException(String message, Throwable cause) {
    super(message, cause);
  }
}
