package dev.spillway.memory;

/** A size class is at its configured maximum and has no free block. */
public class PoolExhaustedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public PoolExhaustedException(String message) {
    super(message);
  }
}
