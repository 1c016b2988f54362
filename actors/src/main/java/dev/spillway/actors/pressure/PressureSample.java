package dev.spillway.actors.pressure;

import java.util.Objects;

/**
 * What {@link PressureClassifier} classifies: Spillway's resident bytes against its budget, and one
 * reading of every memory source.
 *
 * @param residentBytes bytes of blocks held in RAM; may exceed the budget
 * @param budgetBytes the budget ({@code spillway.control.budget}, resolved to bytes), positive
 * @param readings the memory sources, each present or absent
 */
public record PressureSample(long residentBytes, long budgetBytes, MemoryReadings readings) {

  public PressureSample {
    Objects.requireNonNull(readings, "readings");
    if (residentBytes < 0) {
      throw new IllegalArgumentException("residentBytes must not be negative: " + residentBytes);
    }
    if (budgetBytes <= 0) {
      throw new IllegalArgumentException("budgetBytes must be positive: " + budgetBytes);
    }
  }

  /** {@code residentBytes / budgetBytes}. */
  public double residentFraction() {
    return (double) residentBytes / budgetBytes;
  }
}
