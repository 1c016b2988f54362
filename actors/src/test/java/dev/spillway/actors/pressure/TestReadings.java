package dev.spillway.actors.pressure;

/** Synthetic memory readings for the budget tests: a machine's RAM, nothing read, and the two together. */
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
}
