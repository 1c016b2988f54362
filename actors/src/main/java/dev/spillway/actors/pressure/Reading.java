package dev.spillway.actors.pressure;

import java.util.Objects;
import java.util.Optional;

/**
 * One measurement from a memory source: {@link Present} with its value, or {@link Absent} with the
 * reason it could not be taken (no such file, no cgroup memory controller, malformed content).
 * Sources return an absent reading instead of throwing, so a missing or broken source never stops the
 * monitor; an absent reading contributes no signal and is never read as zero.
 *
 * @param <T> the measured value
 */
public sealed interface Reading<T> permits Reading.Present, Reading.Absent {

  /** A reading that was taken. */
  static <T> Reading<T> present(T value) {
    return new Present<>(value);
  }

  /** A reading that could not be taken, and why. */
  static <T> Reading<T> absent(String reason) {
    return new Absent<>(reason);
  }

  /** Whether the measurement was taken. */
  boolean isPresent();

  /** The value, or empty when absent. */
  Optional<T> optional();

  /** A measurement that was taken. */
  record Present<T>(T value) implements Reading<T> {
    public Present {
      Objects.requireNonNull(value, "value");
    }

    @Override
    public boolean isPresent() {
      return true;
    }

    @Override
    public Optional<T> optional() {
      return Optional.of(value);
    }
  }

  /** A measurement that could not be taken; {@code reason} says what to check. */
  record Absent<T>(String reason) implements Reading<T> {
    public Absent {
      Objects.requireNonNull(reason, "reason");
    }

    @Override
    public boolean isPresent() {
      return false;
    }

    @Override
    public Optional<T> optional() {
      return Optional.empty();
    }
  }
}
