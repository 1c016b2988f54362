package dev.spillway.memory;

/**
 * A spill could not be written to the NVMe tier (device full, I/O error, closed tier). Every block of
 * the batch stays resident and readable, exactly as it was; spilling can be retried once the cause is
 * gone.
 */
public final class SpillFailedException extends RuntimeException {
  private final int blocks;

  public SpillFailedException(int blocks, Throwable cause) {
    super("spilling " + blocks + " block(s) failed; every one stays resident and unchanged: " + cause, cause);
    this.blocks = blocks;
  }

  /** Blocks the failed batch held; all stay resident. */
  public int blocks() {
    return blocks;
  }
}
