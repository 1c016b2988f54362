package dev.spillway.codec;

/** Stores the raw bytes unchanged; the fallback of every codec that declines to encode. */
final class RawCodec extends StoredAsIs {
  static final int ID = 0;

  @Override
  public int id() {
    return ID;
  }

  @Override
  public String name() {
    return "raw";
  }

  @Override
  public String toString() {
    return "raw";
  }
}
