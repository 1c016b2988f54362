package dev.spillway.map.policy;

import java.util.List;

/** Makes a {@link ReplacementPolicy} from its configured name. */
public final class ReplacementPolicies {
  /** The names {@link #create} accepts, exactly as written (lower case). */
  public static final List<String> NAMES = List.of("lru", "mru", "fifo", "clock", "w-tinylfu");

  private ReplacementPolicies() {}

  /**
   * A new, empty policy named {@code name}: one of {@link #NAMES}, matched exactly. {@code
   * w-tinylfu}'s hash-flooding coin is seeded at random (see {@link WTinyLfuPolicy#WTinyLfuPolicy(long)}
   * for a fixed seed).
   *
   * @throws IllegalArgumentException for any other name (null included), naming it and the allowed ones
   */
  public static ReplacementPolicy create(String name) {
    return switch (name) {
      case "lru" -> new LruPolicy();
      case "mru" -> new MruPolicy();
      case "fifo" -> new FifoPolicy();
      case "clock" -> new ClockPolicy();
      case "w-tinylfu" -> new WTinyLfuPolicy();
      case null, default -> throw new IllegalArgumentException("replacement policy "
          + (name == null ? "null" : "'" + name + "'") + " is unknown: allowed " + String.join(", ", NAMES));
    };
  }
}
