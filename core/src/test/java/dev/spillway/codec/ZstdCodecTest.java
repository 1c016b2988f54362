package dev.spillway.codec;

import static dev.spillway.codec.CodecRoundTripTest.compressible;
import static dev.spillway.codec.CodecRoundTripTest.incompressible;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.luben.zstd.Zstd;
import dev.spillway.config.CodecSettings;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Zstd codec against {@link Codec}'s contract: byte-exact round trips at every size from empty
 * to 8 MiB through heap, direct, mixed and read-only buffers; the absolute-offset forms; room of the
 * raw length only; STORE_RAW when the gain is under min-gain; and corrupt stored bytes (every byte
 * flipped, every truncation, forged raw lengths, garbage) failing with {@link CodecException}, never
 * returned as data. Run: {@code mvn -B -o test -pl core -am -Dsurefire.failIfNoSpecifiedTests=false
 * -Dtest=ZstdCodecTest}
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ZstdCodecTest {
  private static final Codecs CODECS = Codecs.from(new CodecSettings(0.10, List.of()));
  private static final Codec ZSTD = CODECS.zstd();

  static IntStream sizes() {
    return IntStream.of(0, 1, 2, 15, 16, 100, 4095, 4096, 65_537, 1 << 20, 8 << 20);
  }

  /** Words of English-like text: what the codec is for (logs, JSON, documents). */
  static byte[] text(int n, long seed) {
    String[] words = {"spill", "segment", "the", "block", "restore", "tier", "of", "a", "record", "NVMe",
        "handle", "compaction", "zstd", "level", "and", "{\"key\":", "42,", "\"value\":", "\n"};
    Random r = new Random(seed);
    StringBuilder b = new StringBuilder(n + 16);
    while (b.length() < n) {
      b.append(words[r.nextInt(words.length)]).append(' ');
    }
    return Arrays.copyOf(b.toString().getBytes(StandardCharsets.US_ASCII), n);
  }

  private static ByteBuffer direct(byte[] bytes) {
    return ByteBuffer.allocateDirect(Math.max(1, bytes.length)).put(0, bytes).limit(bytes.length);
  }

  private static ByteBuffer buffer(boolean isDirect, int capacity) {
    return isDirect ? ByteBuffer.allocateDirect(Math.max(1, capacity)).limit(capacity) : ByteBuffer.allocate(capacity);
  }

  /** Encodes {@code raw} into a buffer of the bound; the stored bytes, or null for STORE_RAW. */
  private static byte[] encode(Codec codec, byte[] raw) {
    ByteBuffer out = ByteBuffer.allocate((int) codec.maxStoredLength(raw.length));
    int n = codec.encode(ByteBuffer.wrap(raw), out);
    if (n == Codec.STORE_RAW) {
      return null;
    }
    assertThat(out.position()).as("stored position untouched").isZero();
    byte[] stored = new byte[n];
    out.get(0, stored);
    return stored;
  }

  private static byte[] decode(Codec codec, byte[] stored, int rawLength) {
    byte[] back = new byte[rawLength];
    codec.decode(ByteBuffer.wrap(stored), ByteBuffer.wrap(back));
    return back;
  }

  @ParameterizedTest(name = "{0} bytes")
  @MethodSource("sizes")
  void roundTripsByteExactThroughEveryPairOfHeapAndDirectBuffers(int size) {
    byte[] raw = text(size, size);
    byte[] reference = encode(ZSTD, raw);
    if (size < 64) {
      assertThat(reference).as("a frame's header costs more than a tiny record saves").isNull();
    }
    if (reference == null) {
      assertThat(size).as("only small inputs are declined").isLessThan(4096);
      return;
    }
    assertThat(reference.length).isLessThan(size * 9 / 10);
    for (boolean rawDirect : new boolean[] {false, true}) {
      for (boolean storedDirect : new boolean[] {false, true}) {
        ByteBuffer in = rawDirect ? direct(raw) : ByteBuffer.wrap(raw);
        ByteBuffer stored = buffer(storedDirect, (int) ZSTD.maxStoredLength(size));
        int n = ZSTD.encode(in, stored);
        assertThat(n).as("raw direct %s, stored direct %s", rawDirect, storedDirect).isEqualTo(reference.length);
        assertThat(in.position()).isZero();
        assertThat(in.limit()).isEqualTo(size);
        assertThat(stored.position()).isZero();
        assertThat(stored.slice(0, n)).isEqualTo(ByteBuffer.wrap(reference));
        ByteBuffer back = buffer(rawDirect, size);
        ZSTD.decode(stored.slice(0, n), back);
        assertThat(back.position()).isZero();
        byte[] got = new byte[size];
        back.get(0, got);
        assertThat(got).isEqualTo(raw);
      }
    }
    // Read-only heap buffers have no accessible array: copied, same result.
    ByteBuffer stored = ByteBuffer.allocate(reference.length + 8);
    assertThat(ZSTD.encode(ByteBuffer.wrap(raw).asReadOnlyBuffer(), stored)).isEqualTo(reference.length);
    ByteBuffer back = ByteBuffer.allocate(size);
    ZSTD.decode(ByteBuffer.wrap(reference).asReadOnlyBuffer(), back);
    assertThat(back.array()).isEqualTo(raw);
  }

  @ParameterizedTest(name = "{0} bytes")
  @MethodSource("sizes")
  void incompressibleDataIsStoreRawAndCompressibleDataRoundTrips(int size) {
    assertThat(encode(ZSTD, incompressible(size, size))).isNull();
    byte[] raw = compressible(size, size);
    byte[] stored = encode(ZSTD, raw);
    if (stored != null) {
      assertThat(decode(ZSTD, stored, size)).isEqualTo(raw);
    } else {
      assertThat(size).as("only tiny inputs are declined").isLessThan(64);
    }
  }

  @Test
  void emptyAndOneByteAreStoreRaw() {
    ByteBuffer out = ByteBuffer.allocate(128);
    assertThat(ZSTD.encode(ByteBuffer.allocate(0), out)).isEqualTo(Codec.STORE_RAW);
    assertThat(ZSTD.encode(ByteBuffer.allocateDirect(0), ByteBuffer.allocateDirect(128))).isEqualTo(Codec.STORE_RAW);
    assertThat(ZSTD.encode(ByteBuffer.wrap(new byte[] {42}), out)).isEqualTo(Codec.STORE_RAW);
    assertThat(ZSTD.encode(ByteBuffer.wrap(new byte[] {42}), 0, 1, out)).isEqualTo(Codec.STORE_RAW);
    assertThat(out.position()).isZero();
  }

  @Test
  void eightMiBOfZerosDecodeWithinTheExpansionBoundAtEveryLevel() {
    byte[] zeros = new byte[8 << 20];
    for (int level : new int[] {-5, 1, 3, 9, 19}) {
      Codec codec = Codecs.from(new CodecSettings(0.1, level, 0.1, List.of())).zstd();
      byte[] stored = encode(codec, zeros);
      assertThat(stored).as("level %d", level).isNotNull();
      assertThat(codec.maxRawLength(stored.length)).as("level %d: %d stored bytes", level, stored.length)
          .isGreaterThanOrEqualTo(zeros.length);
      assertThat(decode(codec, stored, zeros.length)).isEqualTo(zeros);
    }
  }

  @ParameterizedTest(name = "level {0}")
  @ValueSource(ints = {-131072, -50, -1, 1, 3, 9, 19})
  void everyAllowedLevelRoundTripsAndDecodesWithAnyOther(int level) {
    Codecs at = Codecs.from(new CodecSettings(0.0, level, 0.0, List.of()));
    byte[] raw = text(300_000, level);
    byte[] stored = encode(at.zstd(), raw);
    if (stored == null) {
      assertThat(level).as("only the very fastest levels may fail to compress text").isLessThan(-1000);
      return;
    }
    assertThat(decode(at.zstd(), stored, raw.length)).isEqualTo(raw);
    assertThat(decode(ZSTD, stored, raw.length)).as("a level-3 codec reads it").isEqualTo(raw);
    assertThat(at.zstd()).hasToString("zstd(level=" + level + ", min-gain=0.0)");
  }

  @Test
  void higherLevelsCompressTextMore() {
    byte[] raw = text(1 << 20, 5);
    IntFunction<Integer> storedAt = level ->
        encode(Codecs.from(new CodecSettings(0.1, level, 0.1, List.of())).zstd(), raw).length;
    int fast = storedAt.apply(-5);
    int one = storedAt.apply(1);
    int nineteen = storedAt.apply(19);
    assertThat(fast).isGreaterThan(one);
    assertThat(one).isGreaterThan(nineteen);
  }

  /**
   * The absolute-offset forms give the same stored bytes as the relative ones, decode back exactly
   * into the middle of a shared buffer, and leave both buffers' positions and limits alone.
   */
  @ParameterizedTest(name = "{0} bytes at an offset")
  @MethodSource("sizes")
  void absoluteOffsetFormsMatchTheRelativeOnesAndMoveNoPosition(int size) {
    for (byte[] raw : List.of(text(size, 1), incompressible(size, 2))) {
      for (boolean isDirect : new boolean[] {true, false}) {
        ByteBuffer shared = buffer(isDirect, size + 100);
        shared.put(37, raw).position(5);
        ByteBuffer expected = ByteBuffer.allocate((int) ZSTD.maxStoredLength(size));
        int n = ZSTD.encode(ByteBuffer.wrap(raw), expected);
        ByteBuffer stored = buffer(isDirect, (int) ZSTD.maxStoredLength(size) + 9);
        stored.position(9);
        assertThat(ZSTD.encode(shared, 37, size, stored)).isEqualTo(n);
        assertThat(shared.position()).isEqualTo(5);
        assertThat(shared.limit()).isEqualTo(size + 100);
        assertThat(stored.position()).isEqualTo(9);
        if (n == Codec.STORE_RAW) {
          continue;
        }
        assertThat(stored.slice(9, n)).isEqualTo(expected.slice(0, n));
        ByteBuffer back = buffer(isDirect, size + 100);
        back.position(3);
        ByteBuffer in = stored.slice(9, n);
        ZSTD.decode(in, back, 50, size);
        assertThat(back.position()).isEqualTo(3);
        assertThat(back.limit()).isEqualTo(size + 100);
        assertThat(in.position()).isZero();
        byte[] got = new byte[size];
        back.get(50, got);
        assertThat(got).isEqualTo(raw);
      }
    }
    assertThatThrownBy(() -> ZSTD.encode(ByteBuffer.allocate(10), 5, 6, ByteBuffer.allocate(64)))
        .isInstanceOf(IndexOutOfBoundsException.class);
    assertThatThrownBy(() -> ZSTD.decode(ByteBuffer.allocate(10), ByteBuffer.allocate(10), 5, 6))
        .isInstanceOf(IndexOutOfBoundsException.class);
  }

  /**
   * Offered only the raw length of room (what the spill encoder offers): data that compresses comes
   * out byte for byte as with the full bound; data that does not is STORE_RAW, never an exception or
   * a write past the room.
   */
  @ParameterizedTest(name = "{0} bytes")
  @MethodSource("sizes")
  void roomOfTheRawLengthOnlyIsExactOrStoresRaw(int size) {
    for (byte[] raw : List.of(text(size, 3), incompressible(size, 4))) {
      ByteBuffer full = ByteBuffer.allocateDirect((int) ZSTD.maxStoredLength(size));
      ByteBuffer tight = ByteBuffer.allocateDirect(size + 8);
      tight.put(size, (byte) 0x5A).limit(size); // a guard byte just past the room offered
      int wide = ZSTD.encode(direct(raw), 0, size, full);
      int narrow = ZSTD.encode(direct(raw), 0, size, tight);
      assertThat(tight.limit(size + 8).get(size)).as("nothing written past the room").isEqualTo((byte) 0x5A);
      assertThat(narrow).isEqualTo(wide);
      if (narrow != Codec.STORE_RAW) {
        assertThat(tight.slice(0, narrow)).isEqualTo(full.slice(0, wide));
      }
    }
  }

  @Test
  void declinesWhenTheGainIsUnderMinGain() {
    // 85% random, 15% zeros: Zstd saves roughly 15%, which passes 10% but not 20%.
    byte[] mixed = incompressible(1 << 20, 2);
    Arrays.fill(mixed, 0, (int) (mixed.length * 0.15), (byte) 0);
    byte[] stored = encode(ZSTD, mixed);
    assertThat(stored).isNotNull();
    assertThat(stored.length).isLessThan((int) (mixed.length * 0.9));
    Codec strict = Codecs.from(new CodecSettings(0.10, 3, 0.20, List.of())).zstd();
    assertThat(encode(strict, mixed)).isNull();
    Codec any = Codecs.from(new CodecSettings(0.10, 3, 0.0, List.of())).zstd();
    byte[] slightly = incompressible(1 << 20, 3);
    Arrays.fill(slightly, 0, 4096, (byte) 0);
    assertThat(encode(any, slightly)).as("min-gain 0 keeps any frame shorter than the raw bytes").isNotNull();
    assertThat(encode(ZSTD, slightly)).isNull();
  }

  /** Every single byte of a frame flipped: a CodecException, or (a flip zstd ignores) the very bytes written. */
  @Test
  void everyFlippedByteFailsOrDecodesToTheOriginalNeverToOtherBytes() {
    byte[] raw = text(5000, 9);
    byte[] stored = encode(ZSTD, raw);
    assertThat(stored).isNotNull();
    int failed = 0;
    for (int i = 0; i < stored.length; i++) {
      for (int bit : new int[] {0x01, 0x80}) {
        byte[] bad = stored.clone();
        bad[i] ^= (byte) bit;
        for (boolean isDirect : new boolean[] {false, true}) {
          ByteBuffer out = buffer(isDirect, raw.length);
          try {
            ZSTD.decode(isDirect ? direct(bad) : ByteBuffer.wrap(bad), out);
          } catch (CodecException e) {
            assertThat(e).hasMessageStartingWith("zstd: ");
            failed++;
            continue;
          }
          byte[] got = new byte[raw.length];
          out.get(0, got);
          assertThat(got).as("byte %d flipped by 0x%02x was returned as data", i, bit).isEqualTo(raw);
        }
      }
    }
    assertThat(failed).as("flips caught of %d", 4 * stored.length).isGreaterThan(4 * stored.length * 9 / 10);
  }

  @Test
  void truncatedGarbageAndForgedLengthsFailWithCodecException() {
    byte[] raw = text(100_000, 11);
    byte[] stored = encode(ZSTD, raw);
    assertThat(stored).isNotNull();
    for (int cut = 0; cut < stored.length; cut++) {
      byte[] shortened = Arrays.copyOf(stored, cut);
      assertThatThrownBy(() -> decode(ZSTD, shortened, raw.length)).as("cut to %d", cut)
          .isInstanceOf(CodecException.class);
    }
    assertThatThrownBy(() -> decode(ZSTD, stored, raw.length + 1)).isInstanceOf(CodecException.class)
        .hasMessageContaining("decoded 100000 bytes, but the record's raw length is 100001");
    assertThatThrownBy(() -> decode(ZSTD, stored, raw.length - 1)).isInstanceOf(CodecException.class)
        .hasMessageContaining("malformed input");
    assertThatThrownBy(() -> decode(ZSTD, stored, 0)).isInstanceOf(CodecException.class);
    assertThatThrownBy(() -> decode(ZSTD, new byte[0], 0)).isInstanceOf(CodecException.class)
        .hasMessageContaining("no stored bytes");
    byte[] twoFrames = Arrays.copyOf(stored, 2 * stored.length);
    System.arraycopy(stored, 0, twoFrames, stored.length, stored.length);
    assertThatThrownBy(() -> decode(ZSTD, twoFrames, raw.length)).as("a second frame appended")
        .isInstanceOf(CodecException.class);
    byte[] trailing = Arrays.copyOf(stored, stored.length + 3);
    assertThatThrownBy(() -> decode(ZSTD, trailing, raw.length)).as("bytes after the frame")
        .isInstanceOf(CodecException.class);
    Random r = new Random(1);
    for (int i = 0; i < 200; i++) {
      byte[] garbage = new byte[1 + r.nextInt(300)];
      r.nextBytes(garbage);
      if (i % 2 == 0 && garbage.length >= 4) { // a zstd magic number in front: the header parser's turn
        garbage[0] = 0x28;
        garbage[1] = (byte) 0xB5;
        garbage[2] = 0x2F;
        garbage[3] = (byte) 0xFD;
      }
      assertThatThrownBy(() -> decode(ZSTD, garbage, 1000)).isInstanceOf(CodecException.class);
    }
  }

  @Test
  void boundsAreZstdsOwnAndStableIdsAndNamesResolve() {
    for (long raw : new long[] {0, 1, 100, 4096, 65_536, (128 << 10) - 1, 128 << 10, 1 << 20, 1 << 30}) {
      assertThat(ZSTD.maxStoredLength(raw)).as("bound of %d", raw).isEqualTo(Zstd.compressBound(raw));
    }
    assertThat(ZSTD.maxStoredLength(-1)).isEqualTo(-1);
    assertThat(ZSTD.maxStoredLength(Integer.MAX_VALUE)).isEqualTo(-1);
    assertThat(ZSTD.maxRawLength(0)).isZero();
    assertThat(ZSTD.maxRawLength(10)).isEqualTo(10 * 32_768L);
    assertThat(ZSTD.id()).isEqualTo(3);
    assertThat(ZSTD.name()).isEqualTo("zstd");
    assertThat(CODECS.byId(3)).isSameAs(ZSTD);
    assertThat(CODECS.byName("zstd")).isSameAs(ZSTD);
    assertThat(CODECS.byName(" ZSTD ")).isSameAs(ZSTD);
    assertThat(CODECS.byName("lz4")).isSameAs(CODECS.lz4());
    assertThat(CODECS.byName("raw")).isSameAs(CODECS.raw());
    assertThatThrownBy(() -> CODECS.byName("kryo")).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("unknown codec \"kryo\": allowed raw, lz4, zstd");
    assertThatThrownBy(() -> CODECS.byName(null)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("allowed raw, lz4, zstd");
    assertThatThrownBy(() -> new ZstdCodec(0, 0.1)).hasMessageContaining("zstd level = 0");
    assertThatThrownBy(() -> new ZstdCodec(20, 0.1)).hasMessageContaining("allowed 1 to 19");
    assertThatThrownBy(() -> new ZstdCodec(3, 1.0)).hasMessageContaining("zstd min-gain = 1.0");
    CODECS.checkAvailable(ZSTD);
    CODECS.checkAvailable(CODECS.lz4());
  }

  /** Many threads encoding and decoding at once through one codec: every result exact, few contexts kept. */
  @Test
  void isThreadSafeAndKeepsABoundedNumberOfContexts() throws Exception {
    ZstdCodec codec = new ZstdCodec(3, 0.1);
    int threads = 8;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<Integer>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int seed = t;
        Callable<Integer> work = () -> {
          int checked = 0;
          for (int i = 0; i < 200; i++) {
            byte[] raw = i % 5 == 0 ? incompressible(4096 + i, seed * 1000L + i) : text(4096 + i * 37, seed * 1000L + i);
            ByteBuffer in = direct(raw);
            ByteBuffer stored = ByteBuffer.allocateDirect(raw.length);
            int n = codec.encode(in, stored);
            if (n == Codec.STORE_RAW) {
              continue;
            }
            ByteBuffer back = ByteBuffer.allocateDirect(raw.length);
            codec.decode(stored.slice(0, n), back);
            byte[] got = new byte[raw.length];
            back.get(0, got);
            assertThat(got).isEqualTo(raw);
            checked++;
          }
          return checked;
        };
        done.add(pool.submit(work));
      }
      int total = 0;
      for (Future<Integer> f : done) {
        total += f.get(60, TimeUnit.SECONDS);
      }
      assertThat(total).isGreaterThan(threads * 150);
    } finally {
      pool.shutdownNow();
      assertThat(pool.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
    }
  }
}
