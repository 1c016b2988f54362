package dev.spillway.actors.pressure;

/**
 * Why a memory source could not be read; its message becomes the reason of an absent
 * {@link Reading}. Checked, so every parsing step has to say where it gives up, and without a stack
 * trace because it is an expected outcome that never leaves this package.
 */
final class SourceException extends Exception {

  SourceException(String reason) {
    super(reason, null, false, false);
  }
}
