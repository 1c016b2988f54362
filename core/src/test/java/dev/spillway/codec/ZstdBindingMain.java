package dev.spillway.codec;

import dev.spillway.config.CodecSettings;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;

/**
 * A child JVM for {@link ZstdBindingsTest}: round-trips text through the Zstd codec with every pair of
 * heap and direct buffers, then prints which zstd-jni binding ran ({@code ffm}: its classes for JDK
 * 22+, the jar's multi-release part; {@code jni}: its base classes, as in a shaded jar that is not
 * multi-release) and {@code ok}. Fails with a stack trace otherwise.
 */
public final class ZstdBindingMain {
  private ZstdBindingMain() {}

  public static void main(String[] args) throws Exception {
    Codec zstd = Codecs.from(new CodecSettings(0.10, List.of())).zstd();
    byte[] raw = ZstdCodecTest.text(64 << 10, 1);
    for (boolean rawDirect : new boolean[] {false, true}) {
      for (boolean storedDirect : new boolean[] {false, true}) {
        ByteBuffer in = rawDirect ? ByteBuffer.allocateDirect(raw.length).put(0, raw) : ByteBuffer.wrap(raw);
        ByteBuffer stored = storedDirect ? ByteBuffer.allocateDirect(raw.length) : ByteBuffer.allocate(raw.length);
        int n = zstd.encode(in, stored);
        if (n == Codec.STORE_RAW) {
          throw new AssertionError("text did not compress");
        }
        ByteBuffer back = rawDirect ? ByteBuffer.allocateDirect(raw.length) : ByteBuffer.allocate(raw.length);
        zstd.decode(stored.slice(0, n), back);
        byte[] got = new byte[raw.length];
        back.get(0, got);
        if (!Arrays.equals(got, raw)) {
          throw new AssertionError("round trip differs: raw direct " + rawDirect + ", stored direct " + storedDirect);
        }
      }
    }
    boolean ffm = Arrays.stream(com.github.luben.zstd.ZstdCompressCtx.class.getDeclaredFields())
        .anyMatch(f -> f.getType() == java.lang.foreign.MemorySegment.class);
    System.out.println((ffm ? "ffm" : "jni") + " ok");
  }
}
