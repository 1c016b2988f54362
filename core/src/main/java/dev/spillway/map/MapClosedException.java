package dev.spillway.map;

/** A call on a {@link SpillMap} after {@link SpillMap#close()}. */
public final class MapClosedException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  MapClosedException(String name) {
    super("map '" + name + "' is closed");
  }
}
