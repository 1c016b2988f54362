package dev.spillway.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spillway.config.CodecSettings;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * Raw and LZ4 round trips, byte-exact, heap and off-heap, from 0 bytes to several MiB.
 * Run: {@code mvn -B -pl core -am test -Dsurefire.failIfNoSpecifiedTests=false -Dtest='CodecRoundTripTest'}
 */
class CodecRoundTripTest {
  private static final Codecs CODECS = Codecs.from(new CodecSettings(0.10, List.of()));

  static IntStream sizes() {
    return IntStream.of(0, 1, 2, 15, 16, 17, 100, 4095, 4096, 65_537, 1 << 20, (3 << 20) + 7);
  }

  static byte[] compressible(int n, long seed) {
    byte[] b = new byte[n];
    Random r = new Random(seed);
    for (int i = 0; i < n; i++) {
      // repeated text with one random byte in 64: compresses well, yet is not trivially constant
      b[i] = i % 64 == 63 ? (byte) r.nextInt() : (byte) "spillway segment ".charAt(i % 17);
    }
    return b;
  }

  static byte[] incompressible(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  /** Encodes with {@code codec} (or raw when it declines) and decodes, heap to heap. */
  private static byte[] roundTrip(Codec codec, byte[] raw) {
    ByteBuffer out = ByteBuffer.allocate((int) codec.maxStoredLength(raw.length));
    int stored = codec.encode(ByteBuffer.wrap(raw), out);
    Codec used = codec;
    if (stored == Codec.STORE_RAW) {
      used = CODECS.raw();
      stored = used.encode(ByteBuffer.wrap(raw), out);
    }
    assertThat((long) stored).isLessThanOrEqualTo(used.maxStoredLength(raw.length));
    byte[] back = new byte[raw.length];
    used.decode(out.slice(0, stored), ByteBuffer.wrap(back));
    return back;
  }

  @ParameterizedTest(name = "{0} bytes")
  @MethodSource("sizes")
  void rawAndLz4RoundTripByteExact(int size) {
    for (byte[] raw : List.of(compressible(size, size), incompressible(size, size))) {
      assertThat(roundTrip(CODECS.raw(), raw)).isEqualTo(raw);
      assertThat(roundTrip(CODECS.lz4(), raw)).isEqualTo(raw);
    }
  }

  @ParameterizedTest(name = "{0} bytes off-heap")
  @MethodSource("sizes")
  void lz4WorksFromAndIntoOffHeapMemory(int size) {
    byte[] raw = compressible(size, 7);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment src = arena.allocate(Math.max(1, size)).asSlice(0, size);
      MemorySegment.copy(raw, 0, src, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, size);
      MemorySegment stored = arena.allocate(CODECS.lz4().maxStoredLength(size));
      int n = CODECS.lz4().encode(src.asByteBuffer(), stored.asByteBuffer());
      MemorySegment dst = arena.allocate(Math.max(1, size)).asSlice(0, size);
      if (n == Codec.STORE_RAW) {
        assertThat(size).as("only tiny inputs are declined").isLessThan(64);
        return;
      }
      CODECS.lz4().decode(stored.asSlice(0, n).asByteBuffer(), dst.asByteBuffer());
      assertThat(dst.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)).isEqualTo(raw);
    }
  }

  /**
   * The absolute-offset forms give the same stored bytes as the relative ones, decode back exactly
   * into the middle of a shared buffer, and leave both buffers' positions and limits alone; a codec
   * that does not override them (the defaults) slices.
   */
  @ParameterizedTest(name = "{0} bytes at an offset")
  @MethodSource("sizes")
  void absoluteOffsetFormsMatchTheRelativeOnes(int size) {
    Codec plain = new Codec() { // only the relative forms: the interface's defaults serve the others
      @Override
      public int id() {
        return CODECS.raw().id();
      }

      @Override
      public String name() {
        return "plain";
      }

      @Override
      public long maxStoredLength(long rawLength) {
        return CODECS.raw().maxStoredLength(rawLength);
      }

      @Override
      public long maxRawLength(long storedLength) {
        return CODECS.raw().maxRawLength(storedLength);
      }

      @Override
      public int encode(ByteBuffer raw, ByteBuffer stored) {
        return CODECS.raw().encode(raw, stored);
      }

      @Override
      public void decode(ByteBuffer stored, ByteBuffer raw) {
        CODECS.raw().decode(stored, raw);
      }
    };
    for (byte[] raw : List.of(compressible(size, size), incompressible(size, size))) {
      for (Codec codec : List.of(CODECS.raw(), CODECS.lz4(), plain)) {
        ByteBuffer shared = ByteBuffer.allocateDirect(size + 100);
        shared.put(37, raw).position(5);
        ByteBuffer expected = ByteBuffer.allocate((int) codec.maxStoredLength(size) + 1);
        int n = codec.encode(ByteBuffer.wrap(raw), expected);
        ByteBuffer stored = ByteBuffer.allocateDirect((int) codec.maxStoredLength(size) + 1);
        assertThat(codec.encode(shared, 37, size, stored)).as(codec.name()).isEqualTo(n);
        assertThat(shared.position()).isEqualTo(5);
        assertThat(shared.limit()).isEqualTo(size + 100);
        if (n == Codec.STORE_RAW) {
          continue;
        }
        assertThat(stored.slice(0, n)).isEqualTo(expected.slice(0, n));
        ByteBuffer back = ByteBuffer.allocateDirect(size + 100);
        back.position(3);
        codec.decode(stored.slice(0, n), back, 50, size);
        assertThat(back.position()).isEqualTo(3);
        byte[] got = new byte[size];
        back.get(50, got);
        assertThat(got).as(codec.name()).isEqualTo(raw);
      }
    }
  }

  @Test
  void lz4DeclinesWhenTheGainIsUnderTenPercent() {
    ByteBuffer out = ByteBuffer.allocate((int) CODECS.lz4().maxStoredLength(1 << 20));
    assertThat(CODECS.lz4().encode(ByteBuffer.wrap(incompressible(1 << 20, 1)), out)).isEqualTo(Codec.STORE_RAW);
    assertThat(CODECS.lz4().encode(ByteBuffer.allocate(0), out)).isEqualTo(Codec.STORE_RAW);
    // 85% random, 15% zeros: LZ4 saves roughly 15%, which passes 10% but not 20%.
    byte[] mixed = incompressible(1 << 20, 2);
    java.util.Arrays.fill(mixed, 0, (int) (mixed.length * 0.15), (byte) 0);
    int stored = CODECS.lz4().encode(ByteBuffer.wrap(mixed), out);
    assertThat(stored).isPositive().isLessThan((int) (mixed.length * 0.9));
    Codecs strict = Codecs.from(new CodecSettings(0.20, List.of()));
    assertThat(strict.lz4().encode(ByteBuffer.wrap(mixed), out)).isEqualTo(Codec.STORE_RAW);
    assertThat(CODECS.lz4().encode(ByteBuffer.wrap(compressible(1 << 20, 3)), out)).isLessThan(1 << 19);
  }

  @Test
  void malformedLz4InputFailsWithCodecExceptionNeverWrongLength() {
    byte[] raw = compressible(10_000, 4);
    ByteBuffer out = ByteBuffer.allocate((int) CODECS.lz4().maxStoredLength(raw.length));
    int n = CODECS.lz4().encode(ByteBuffer.wrap(raw), out);
    assertThatThrownBy(() -> CODECS.lz4().decode(out.slice(0, n), ByteBuffer.allocate(raw.length + 1)))
        .isInstanceOf(CodecException.class).hasMessageContaining("lz4");
    assertThatThrownBy(() -> CODECS.lz4().decode(out.slice(0, n / 2), ByteBuffer.allocate(raw.length)))
        .isInstanceOf(CodecException.class);
    assertThatThrownBy(() -> CODECS.raw().decode(ByteBuffer.allocate(3), ByteBuffer.allocate(4)))
        .isInstanceOf(CodecException.class).hasMessageContaining("raw length of 4");
  }

  @Test
  void codecsHaveStableIds() {
    assertThat(CODECS.byId(0)).isSameAs(CODECS.raw());
    assertThat(CODECS.byId(1)).isSameAs(CODECS.lz4());
    assertThat(CODECS.byId(2)).isSameAs(CODECS.kryo());
    assertThat(CODECS.byId(3)).isSameAs(CODECS.zstd());
    assertThat(CODECS.byId(4)).isNull();
    assertThat(CODECS.byId(-1)).isNull();
    assertThat(CODECS.raw().maxStoredLength(100)).isEqualTo(100);
    assertThat(CODECS.lz4().maxStoredLength(1 << 30)).isGreaterThan(1L << 30).isLessThan((1L << 30) + (8 << 20));
  }

  /**
   * LZ4 offered only the raw length of room (what the spill encoder offers): data that compresses
   * comes out as with the full bound, byte for byte; data that does not is STORE_RAW, never an
   * exception or a write past the room.
   */
  @ParameterizedTest
  @MethodSource("sizes")
  void lz4WithRoomOfTheRawLengthOnlyIsExactOrStoresRaw(int size) {
    Codec lz4 = CODECS.lz4();
    for (byte[] raw : List.of(compressible(size, 3), incompressible(size, 4))) {
      ByteBuffer full = ByteBuffer.allocateDirect((int) Math.max(1, lz4.maxStoredLength(size)));
      ByteBuffer tight = ByteBuffer.allocateDirect(size + 8);
      tight.put(size, (byte) 0x5A).limit(size); // a guard byte just past the room offered
      int wide = lz4.encode(ByteBuffer.wrap(raw), 0, size, full);
      int narrow = lz4.encode(ByteBuffer.wrap(raw), 0, size, tight);
      assertThat(tight.limit(size + 8).get(size)).as("nothing written past the room").isEqualTo((byte) 0x5A);
      assertThat(narrow).isEqualTo(wide);
      if (narrow != Codec.STORE_RAW) {
        assertThat(tight.slice(0, narrow)).isEqualTo(full.slice(0, wide));
        ByteBuffer back = ByteBuffer.allocate(size);
        lz4.decode(tight.slice(0, narrow), back);
        assertThat(back.array()).isEqualTo(raw);
      }
    }
  }
}
