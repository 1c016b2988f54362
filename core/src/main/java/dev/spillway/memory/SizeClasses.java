package dev.spillway.memory;

import dev.spillway.config.Sizes;

/**
 * The size classes: every request of 1 B to 1 MiB rounds up to the smallest class that holds it,
 * and anything larger gets a dedicated, page-rounded mapping ({@link #HUGE}).
 *
 * <pre>
 *   small  8, 16, 24, ... 64            step 8          8 classes   slab-carved, size in the handle
 *          80, 96, 112, 128 ... 32 KiB  4 per doubling  36 classes  slab-carved, size in the handle
 *   large  40 KiB ... 1 MiB             4 per doubling  20 classes  page-aligned runs in slabs
 *   huge   over 1 MiB, up to 1 GiB      rounded to 4 KiB pages      one mapping per block
 * </pre>
 *
 * Four classes per doubling bound the worst-case internal waste at 20% (a request one byte over a
 * class) and keep the mean near 10%. Lookup is one array load for either pooled range.
 * Every pooled class is served through per-thread magazines; small classes keep the exact size
 * in the handle, large ones per slot.
 */
public final class SizeClasses {
  /** Largest small class: small blocks keep their exact size in the handle's slack bits. */
  public static final int MAX_SMALL = 32 << 10;
  /** Largest pooled class; larger requests are huge. */
  public static final int MAX_LARGE = 1 << 20;
  /** Page size: large classes are multiples of it, huge blocks are rounded up to it. */
  public static final int PAGE = 4096;

  private static final int[] SIZES = buildSizes();
  /** Number of pooled classes (small + large). */
  public static final int COUNT = SIZES.length;
  /** Pseudo class index of huge (dedicated) blocks. */
  public static final int HUGE = COUNT;
  /** Number of small classes: indexes {@code 0 .. SMALL_COUNT - 1}. */
  public static final int SMALL_COUNT = indexOfSize(MAX_SMALL) + 1;

  private static final int SMALL_SHIFT = 3;
  private static final int LARGE_SHIFT = 13;
  private static final byte[] SMALL_LOOKUP = buildLookup(MAX_SMALL, SMALL_SHIFT);
  private static final byte[] LARGE_LOOKUP = buildLookup(MAX_LARGE, LARGE_SHIFT);

  private SizeClasses() {}

  private static int[] buildSizes() {
    int[] sizes = new int[128];
    int n = 0;
    for (int s = 8; s <= 64; s += 8) {
      sizes[n++] = s;
    }
    for (int base = 64; base < MAX_LARGE; base <<= 1) {
      int step = base / 4;
      for (int i = 1; i <= 4; i++) {
        sizes[n++] = base + i * step;
      }
    }
    return java.util.Arrays.copyOf(sizes, n);
  }

  private static int indexOfSize(int size) {
    for (int i = 0; i < SIZES.length; i++) {
      if (SIZES[i] == size) {
        return i;
      }
    }
    throw new AssertionError("no class of " + size + " B");
  }

  /** Maps {@code (size - 1) >>> shift} to the smallest class holding {@code size}. */
  private static byte[] buildLookup(int max, int shift) {
    byte[] lookup = new byte[max >>> shift];
    int cls = 0;
    for (int i = 0; i < lookup.length; i++) {
      int largestInBucket = (i + 1) << shift;
      while (SIZES[cls] < largestInBucket) {
        cls++;
      }
      lookup[i] = (byte) cls;
    }
    return lookup;
  }

  /** The class index for a request of {@code size} bytes, {@code 1 <= size}; {@link #HUGE} above 1 MiB. */
  public static int indexOf(long size) {
    if (size <= MAX_SMALL) {
      return SMALL_LOOKUP[(int) (size - 1) >>> SMALL_SHIFT];
    }
    if (size <= MAX_LARGE) {
      return LARGE_LOOKUP[(int) (size - 1) >>> LARGE_SHIFT];
    }
    return HUGE;
  }

  /** The class index of a small request, {@code 1 <= size <= MAX_SMALL}; the fast path's lookup. */
  public static int smallIndexOf(int size) {
    return SMALL_LOOKUP[(size - 1) >>> SMALL_SHIFT];
  }

  /** Block size of a pooled class. */
  public static int sizeOf(int index) {
    return SIZES[index];
  }

  /** Whether {@code index} is a small class (exact size in the handle, not per slot). */
  public static boolean isSmall(int index) {
    return index < SMALL_COUNT;
  }

  /** The bytes a huge block of {@code size} occupies: {@code size} rounded up to whole pages. */
  public static long hugeCapacity(long size) {
    return (size + PAGE - 1) & -(long) PAGE;
  }

  /** The class index whose block size is exactly {@code size}, or -1. */
  public static int exactIndexOf(long size) {
    if (size < 1 || size > MAX_LARGE) {
      return -1;
    }
    int index = indexOf(size);
    return SIZES[index] == size ? index : -1;
  }

  /** Every pooled class, as configuration keys, for error messages. */
  public static String describeAll() {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < COUNT; i++) {
      if (i > 0) {
        sb.append(", ");
      }
      sb.append(Sizes.classKey(SIZES[i]));
    }
    return sb.toString();
  }
}
