package dev.spillway.codec;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDecompressCtx;
import com.github.luben.zstd.ZstdException;
import dev.spillway.config.CodecSettings;
import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * Zstd through zstd-jni: one standard zstd frame per record, with its content size and its XXH64
 * content checksum. Slower than LZ4 and smaller; a record whose frame saves less than {@code minGain}
 * of its raw bytes is declined ({@link Codec#STORE_RAW}), because decoding raw bytes costs nothing.
 *
 * <p><b>Why the checksum</b>, when every record already has a CRC32C: a codec must never return
 * corrupt input as data, also to a caller that decodes bytes no CRC covered. A zstd frame without a
 * checksum decodes a flipped literal byte into a wrong byte of the right length; with it, the decoder
 * fails. It costs 4 bytes a record and a hash that runs at memory speed.
 *
 * <p><b>Buffers.</b> Direct to direct goes through zstd-jni's direct-buffer calls, without a copy.
 * Heap buffers go through its byte-array calls (bounds-checked against the arrays); a heap buffer
 * without an accessible array (read-only), or one direct and one heap buffer, are copied through a
 * temporary array: correct, not fast, and not what the segment log does. Positions and limits are
 * never moved.
 *
 * <p><b>Threads and native memory.</b> Contexts are borrowed from {@link ContextPool}s per call, so
 * the codec is thread-safe and holds at most a few idle contexts per pool whatever the number of
 * threads; a {@link Cleaner} frees the idle ones once the codec is unreachable (codecs have no close:
 * {@link Codecs} is shared by logs and readers that do not know each other's lifetimes).
 *
 * <p><b>Native library.</b> Nothing native loads until the first encode or decode, so a process
 * that never uses Zstd never extracts or loads zstd-jni's library ({@link #checkAvailable} loads it
 * early where a failure should stop a start).
 */
final class ZstdCodec implements Codec {
  static final int ID = 3;

  /**
   * Most raw bytes one stored byte can stand for. A zstd block decodes to at most 128 KiB and takes
   * at least 4 bytes (an RLE block: a 3-byte header and the byte), so no frame decodes to more than
   * 32,768 times its length; 8 MiB of zeros at level 19 measured 30,284 times.
   */
  static final long MAX_EXPANSION = (128 << 10) / 4;

  private static final Cleaner CLEANER = Cleaner.create();
  /** Idle contexts kept per pool: twice the cores, as many threads may spill and restore at once. */
  private static final int POOL_CAPACITY = Math.clamp(2L * Runtime.getRuntime().availableProcessors(), 2, 64);

  private final int level;
  private final double minGain;
  private final ContextPool<ZstdCompressCtx> compressors;
  private final ContextPool<ZstdDecompressCtx> decompressors;

  ZstdCodec(int level, double minGain) {
    if (!CodecSettings.isZstdLevel(level)) {
      throw new IllegalArgumentException("zstd level = " + level + " is out of range: allowed "
          + CodecSettings.ZSTD_LEVELS);
    }
    if (!(minGain >= 0.0 && minGain < 1.0)) {
      throw new IllegalArgumentException("zstd min-gain = " + minGain + " is out of range: allowed 0 <= value < 1");
    }
    this.level = level;
    this.minGain = minGain;
    this.compressors = new ContextPool<>(POOL_CAPACITY, () -> newCompressor(level));
    this.decompressors = new ContextPool<>(POOL_CAPACITY, ZstdDecompressCtx::new);
    CLEANER.register(this, closer(compressors, decompressors));
  }

  /** Static, so the action holds the pools and not the codec (which would then never be unreachable). */
  private static Runnable closer(ContextPool<ZstdCompressCtx> c, ContextPool<ZstdDecompressCtx> d) {
    return () -> {
      c.closeAll();
      d.closeAll();
    };
  }

  private static ZstdCompressCtx newCompressor(int level) {
    ZstdCompressCtx ctx = new ZstdCompressCtx();
    ctx.setLevel(level);
    ctx.setChecksum(true);
    ctx.setContentSize(true);
    return ctx;
  }

  /**
   * Loads zstd-jni's native library now, failing with a {@link CodecException} that says why when it
   * cannot be loaded (a platform the jar has no library for, a temporary directory mounted
   * {@code noexec}).
   */
  void checkAvailable() {
    try {
      compressors.give(compressors.take());
    } catch (LinkageError | RuntimeException e) {
      throw new CodecException("zstd: zstd-jni's native library cannot be used here: " + e, e);
    }
  }

  @Override
  public int id() {
    return ID;
  }

  @Override
  public String name() {
    return "zstd";
  }

  /** The configured level. */
  int level() {
    return level;
  }

  /** zstd's {@code ZSTD_COMPRESSBOUND}, in Java so that asking loads nothing native. */
  @Override
  public long maxStoredLength(long rawLength) {
    if (rawLength < 0) {
      return -1;
    }
    long margin = rawLength < (128 << 10) ? ((128 << 10) - rawLength) >> 11 : 0;
    long bound = rawLength + (rawLength >> 8) + margin;
    return bound > Integer.MAX_VALUE ? -1 : bound; // beyond one buffer; the format caps raw at 1 GiB anyway
  }

  @Override
  public long maxRawLength(long storedLength) {
    return storedLength <= 0 ? 0 : storedLength * MAX_EXPANSION;
  }

  @Override
  public int encode(ByteBuffer raw, ByteBuffer stored) {
    return encode(raw, raw.position(), raw.remaining(), stored);
  }

  @Override
  public int encode(ByteBuffer raw, int offset, int rawLength, ByteBuffer stored) {
    Objects.checkFromIndexSize(offset, rawLength, raw.limit());
    if (rawLength == 0) {
      return STORE_RAW;
    }
    // Room for the longest frame worth keeping, no more: on data that does not compress, zstd stops
    // at the first block that overflows it instead of compressing the whole record for nothing.
    long keep = Math.min(rawLength - 1L, rawLength - (long) Math.ceil(minGain * rawLength));
    int room = (int) Math.min(stored.remaining(), keep);
    if (room <= 0) {
      return STORE_RAW;
    }
    ZstdCompressCtx ctx = borrowCompressor();
    int n;
    try {
      n = compress(ctx, raw, offset, rawLength, stored, stored.position(), room);
    } catch (ZstdException e) {
      if (e.getErrorCode() == Zstd.errDstSizeTooSmall()) {
        return STORE_RAW; // longer than the room: it does not pay
      }
      throw new CodecException("zstd: compressing " + rawLength + " bytes at level " + level + " failed: "
          + e.getMessage(), e);
    } finally {
      compressors.give(ctx);
      Reference.reachabilityFence(this); // the cleaner must not free the pools while a context is out
    }
    if (rawLength - n < minGain * rawLength || n >= rawLength) {
      return STORE_RAW;
    }
    return n;
  }

  private static int compress(ZstdCompressCtx ctx, ByteBuffer raw, int offset, int length, ByteBuffer stored,
      int at, int room) {
    if (raw.isDirect() && stored.isDirect()) {
      return ctx.compressDirectByteBuffer(stored, at, room, raw, offset, length);
    }
    byte[] src = raw.hasArray() ? raw.array() : copyOf(raw, offset, length);
    int srcAt = raw.hasArray() ? raw.arrayOffset() + offset : 0;
    if (stored.hasArray()) {
      return ctx.compressByteArray(stored.array(), stored.arrayOffset() + at, room, src, srcAt, length);
    }
    byte[] out = new byte[room];
    int n = ctx.compressByteArray(out, 0, room, src, srcAt, length);
    stored.put(at, out, 0, n);
    return n;
  }

  @Override
  public void decode(ByteBuffer stored, ByteBuffer raw) {
    decode(stored, raw, raw.position(), raw.remaining());
  }

  @Override
  public void decode(ByteBuffer stored, ByteBuffer raw, int offset, int expected) {
    Objects.checkFromIndexSize(offset, expected, raw.limit());
    int length = stored.remaining();
    if (length == 0) {
      // zstd reads no bytes as no frames and "decodes" them to nothing; no record is stored so
      throw new CodecException("zstd: no stored bytes for a raw length of " + expected);
    }
    ZstdDecompressCtx ctx = borrowDecompressor();
    int got;
    try {
      got = decompress(ctx, stored, stored.position(), length, raw, offset, expected);
    } catch (ZstdException e) {
      throw new CodecException("zstd: malformed input of " + length + " bytes for a raw length of " + expected
          + ": " + e.getMessage(), e);
    } finally {
      decompressors.give(ctx);
      Reference.reachabilityFence(this);
    }
    if (got != expected) {
      throw new CodecException("zstd: decoded " + got + " bytes, but the record's raw length is " + expected);
    }
  }

  private static int decompress(ZstdDecompressCtx ctx, ByteBuffer stored, int from, int length, ByteBuffer raw,
      int at, int expected) {
    if (stored.isDirect() && raw.isDirect()) {
      return ctx.decompressDirectByteBuffer(raw, at, expected, stored, from, length);
    }
    if (raw.isDirect()) { // heap to direct
      byte[] src = stored.hasArray() ? stored.array() : copyOf(stored, from, length);
      int srcAt = stored.hasArray() ? stored.arrayOffset() + from : 0;
      return ctx.decompressByteArrayToDirectByteBuffer(raw, at, expected, src, srcAt, length);
    }
    if (stored.isDirect()) { // direct to heap
      return ctx.decompressDirectByteBufferToByteArray(raw.array(), raw.arrayOffset() + at, expected, stored, from,
          length);
    }
    byte[] src = stored.hasArray() ? stored.array() : copyOf(stored, from, length);
    int srcAt = stored.hasArray() ? stored.arrayOffset() + from : 0;
    return ctx.decompressByteArray(raw.array(), raw.arrayOffset() + at, expected, src, srcAt, length);
  }

  private static byte[] copyOf(ByteBuffer b, int from, int length) {
    byte[] copy = new byte[length];
    b.get(from, copy);
    return copy;
  }

  private ZstdCompressCtx borrowCompressor() {
    try {
      return compressors.take();
    } catch (LinkageError e) {
      throw new CodecException("zstd: zstd-jni's native library cannot be used here: " + e, e);
    }
  }

  private ZstdDecompressCtx borrowDecompressor() {
    try {
      return decompressors.take();
    } catch (LinkageError e) {
      throw new CodecException("zstd: zstd-jni's native library cannot be used here: " + e, e);
    }
  }

  @Override
  public String toString() {
    return "zstd(level=" + level + ", min-gain=" + minGain + ")";
  }
}
