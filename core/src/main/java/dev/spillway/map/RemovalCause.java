package dev.spillway.map;

/** Why an entry left a map, as its {@link RemovalListener} is told. */
public enum RemovalCause {
  /** Removed by a call ({@code remove}, {@code clear}, a compute returning null, an iterator's remove). */
  EXPLICIT,
  /** Its value was replaced by a write ({@code put}, {@code replace}, {@code compute}, {@code merge}). */
  REPLACED,
  /** Its time ran out ({@code expire-after-write} or {@code expire-after-access}). */
  EXPIRED,
  /** A bounded cache dropped it by its eviction policy to stay within its maximum. */
  EVICTED;

  /** Whether the map removed it on its own (expiry or eviction) rather than because of a call. */
  public boolean wasEvicted() {
    return this == EXPIRED || this == EVICTED;
  }
}
