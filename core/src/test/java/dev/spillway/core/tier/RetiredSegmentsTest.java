package dev.spillway.core.tier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The retired set: coalescing, membership, and the RETIRE payload both ways, malformed ones refused. */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class RetiredSegmentsTest {
  private static final Path FILE = Path.of("seg-0000000000000009.spw");

  @Test
  void idsCoalesceIntoRanges() {
    RetiredSegments s = RetiredSegments.none();
    assertThat(s.isEmpty()).isTrue();
    assertThat(s.highest()).isEqualTo(-1);
    s = s.with(1).with(0).with(2).with(5);
    assertThat(s).hasToString("[0, 3) [5, 6)");
    assertThat(s.with(4)).hasToString("[0, 3) [4, 6)");
    assertThat(s.with(4).with(3)).hasToString("[0, 6)");
    assertThat(s.with(2)).isSameAs(s);
    assertThat(s.contains(2)).isTrue();
    assertThat(s.contains(3)).isFalse();
    assertThat(s.contains(5)).isTrue();
    assertThat(s.contains(6)).isFalse();
    assertThat(s.highest()).isEqualTo(5);
  }

  @Test
  void thePayloadRoundTrips() throws Exception {
    RetiredSegments s = RetiredSegments.none().with(0).with(1).with(7).with(1L << 40);
    ByteBuffer payload = s.encode();
    assertThat(payload.remaining()).isEqualTo(3 * SegmentDescriptor.RETIRE_RANGE_BYTES);
    assertThat(payload.order(ByteOrder.LITTLE_ENDIAN).getLong(0)).isZero();
    assertThat(payload.getLong(8)).isEqualTo(2);
    assertThat(RetiredSegments.decode(payload, FILE, 64)).isEqualTo(s);
  }

  private static ByteBuffer ranges(long... bounds) {
    ByteBuffer b = ByteBuffer.allocate(bounds.length * 8).order(ByteOrder.LITTLE_ENDIAN);
    for (long v : bounds) {
      b.putLong(v);
    }
    return b.flip();
  }

  @Test
  void malformedPayloadsAreCorrupt() {
    for (ByteBuffer bad : new ByteBuffer[] {ranges(), ranges(3, 3), ranges(5, 4), ranges(-1, 2), ranges(0, 2, 2, 4),
        ranges(0, 4, 2, 6), ranges(4, 6, 0, 2), ByteBuffer.allocate(12)}) {
      assertThatThrownBy(() -> RetiredSegments.decode(bad, FILE, 64)).isInstanceOfSatisfying(
          CorruptRecordException.class, e -> assertThat(e.offset()).isEqualTo(64));
    }
  }
}
