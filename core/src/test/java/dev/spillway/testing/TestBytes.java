package dev.spillway.testing;

import java.util.SplittableRandom;

/** Test data that a seed alone brings back, so that a test can check what it reads without keeping it. */
public final class TestBytes {
  private TestBytes() {}

  /** {@code size} random bytes, the same for the same {@code seed}: incompressible. */
  public static byte[] random(long seed, int size) {
    byte[] b = new byte[size];
    new SplittableRandom(seed).nextBytes(b);
    return b;
  }
}
