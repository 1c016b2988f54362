package dev.spillway.actors.pressure;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Readings in the pressure tests: synthetic ones for the budget tests (a machine's RAM, nothing read,
 * the two together), and what a reading the tests made holds.
 */
final class TestReadings {
  static final Reading<DirectMemory> NO_DIRECT = Reading.absent("not needed");

  private TestReadings() {}

  /** The system and cgroup readings, without a direct-memory one. */
  static MemoryReadings readings(Reading<SystemMemory> system, Reading<CgroupMemory> cgroup) {
    return new MemoryReadings(system, cgroup, NO_DIRECT);
  }

  /** A machine with {@code total} bytes of RAM, half of it available. */
  static Reading<SystemMemory> ram(long total) {
    return Reading.present(new SystemMemory(total, total / 2));
  }

  /** A reading that found nothing. */
  static <T> Reading<T> none() {
    return Reading.absent("not here");
  }

  /** What {@code reading} found; the test fails when it is absent. */
  static <T> T valueOf(Reading<T> reading) {
    assertThat(reading).isInstanceOf(Reading.Present.class);
    return reading.optional().orElseThrow();
  }

  /** Why {@code reading} found nothing; the test fails when it is present. */
  static String reasonOf(Reading<?> reading) {
    assertThat(reading).isInstanceOf(Reading.Absent.class);
    return ((Reading.Absent<?>) reading).reason();
  }
}
