package dev.spillway.cli;

/** A command cannot run as asked (a missing file, a directory that is not one): its message says why. */
final class CommandException extends RuntimeException {
  CommandException(String message) {
    super(message);
  }

  CommandException(String message, Throwable cause) {
    super(message, cause);
  }
}
