package dev.spillway.core.memory;

import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.SizeClasses;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SizeClassesTest extends AllocatorTestBase {

  @Test
  void everySizeUpTo64KiBMapsToTheSmallestClassThatFits() {
    for (int size = 1; size <= 64 << 10; size++) {
      int cls = SizeClasses.indexOf(size);
      assertThat(SizeClasses.sizeOf(cls)).as("class of %d B", size).isGreaterThanOrEqualTo(size);
      if (cls > 0) {
        assertThat(SizeClasses.sizeOf(cls - 1)).as("class below that of %d B", size).isLessThan(size);
      }
      if (size <= SizeClasses.MAX_SMALL) {
        assertThat(SizeClasses.smallIndexOf(size)).isEqualTo(cls);
        assertThat(SizeClasses.isSmall(cls)).isTrue();
      } else {
        assertThat(SizeClasses.isSmall(cls)).isFalse();
      }
    }
  }

  @Test
  void classesRunFrom8BytesTo1MiBWithFourPerDoublingAndBoundedWaste() {
    assertThat(SizeClasses.sizeOf(0)).isEqualTo(8);
    assertThat(SizeClasses.sizeOf(SizeClasses.COUNT - 1)).isEqualTo(1 << 20);
    assertThat(SizeClasses.sizeOf(SizeClasses.SMALL_COUNT - 1)).isEqualTo(32 << 10);
    for (int base = 64; base < 1 << 20; base <<= 1) {
      int from = SizeClasses.indexOf(base);
      int to = SizeClasses.indexOf(base * 2L);
      assertThat(to - from).as("classes in (%d, %d]", base, base * 2).isEqualTo(4);
    }
    // Below 64 B the 8-byte granularity sets the waste (at most 7 bytes); above it, the class spacing.
    for (int cls = SizeClasses.indexOf(65); cls < SizeClasses.COUNT; cls++) {
      double worstWaste = 1.0 - (SizeClasses.sizeOf(cls - 1) + 1.0) / SizeClasses.sizeOf(cls);
      assertThat(worstWaste).as("worst waste of class %d", SizeClasses.sizeOf(cls)).isLessThanOrEqualTo(0.2);
    }
    for (int cls = SizeClasses.SMALL_COUNT; cls < SizeClasses.COUNT; cls++) {
      assertThat(SizeClasses.sizeOf(cls) % SizeClasses.PAGE).as("large classes are whole pages").isZero();
    }
  }

  @Test
  void theLargePathAcrossItsBoundaries() {
    assertThat(SizeClasses.indexOf(32 << 10)).isEqualTo(SizeClasses.SMALL_COUNT - 1);
    assertThat(SizeClasses.sizeOf(SizeClasses.indexOf((32 << 10) + 1))).isEqualTo(40 << 10);
    assertThat(SizeClasses.sizeOf(SizeClasses.indexOf(1 << 20))).isEqualTo(1 << 20);
    assertThat(SizeClasses.indexOf((1 << 20) + 1)).isEqualTo(SizeClasses.HUGE);
    assertThat(SizeClasses.indexOf(1L << 30)).isEqualTo(SizeClasses.HUGE);
    assertThat(SizeClasses.hugeCapacity((1 << 20) + 1)).isEqualTo((1 << 20) + 4096);
    assertThat(SizeClasses.hugeCapacity(1L << 30)).isEqualTo(1L << 30);

    BlockAllocator a = allocator();
    long[] sizes = {1, 8, 9, (32 << 10) - 1, 32 << 10, (32 << 10) + 1, 40 << 10, (40 << 10) + 1,
        (1 << 20) - 1, 1 << 20, (1 << 20) + 1, (1 << 20) + 4096, 1L << 30};
    for (long size : sizes) {
      long h = a.allocate(size);
      assertThat(a.size(h)).isEqualTo(size);
      int cls = SizeClasses.indexOf(size);
      long expected = cls == SizeClasses.HUGE ? SizeClasses.hugeCapacity(size) : SizeClasses.sizeOf(cls);
      assertThat(a.capacity(h)).as("capacity of %d B", size).isEqualTo(expected);
      assertThat(a.segment(h).address() % (size > SizeClasses.MAX_SMALL ? SizeClasses.PAGE : 8))
          .as("alignment of a %d B block", size).isZero();
      a.putByte(h, 0, (byte) 1);
      a.putByte(h, size - 1, (byte) 2);
      assertThat(a.getByte(h, 0)).isEqualTo((byte) (size == 1 ? 2 : 1));
      assertThat(a.getByte(h, size - 1)).isEqualTo((byte) 2);
      a.free(h);
    }
  }
}
