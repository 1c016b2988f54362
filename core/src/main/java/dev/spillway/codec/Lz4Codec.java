package dev.spillway.codec;

import java.nio.ByteBuffer;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

/**
 * LZ4 block compression from the maintained {@code at.yawk.lz4} fork: the fast compressor and only the
 * safe decompressor (bounds-checked against the destination, so forged input cannot write outside
 * it). A record whose compressed form saves less than {@code minGain} of its raw bytes is declined
 * ({@link Codec#STORE_RAW}), because decoding raw bytes costs nothing.
 */
final class Lz4Codec implements Codec {
  static final int ID = 1;

  private final LZ4Compressor compressor;
  private final LZ4SafeDecompressor decompressor;
  private final double minGain;

  Lz4Codec(double minGain) {
    if (!(minGain >= 0.0 && minGain < 1.0)) {
      throw new IllegalArgumentException("LZ4 min-gain = " + minGain + " is out of range: allowed 0 <= value < 1");
    }
    LZ4Factory factory = LZ4Factory.fastestInstance();
    this.compressor = factory.fastCompressor();
    this.decompressor = factory.safeDecompressor();
    this.minGain = minGain;
  }

  @Override
  public int id() {
    return ID;
  }

  @Override
  public String name() {
    return "lz4";
  }

  @Override
  public long maxStoredLength(long rawLength) {
    if (rawLength < 0 || rawLength > Integer.MAX_VALUE - (Integer.MAX_VALUE / 255) - 16) {
      return -1; // beyond what LZ4 blocks can express; the format rejects such lengths anyway
    }
    return compressor.maxCompressedLength((int) rawLength);
  }

  @Override
  public long maxRawLength(long storedLength) {
    // An LZ4 sequence token plus run-length bytes of 255 expand at most about 255 times.
    return storedLength * 256 + 16;
  }

  @Override
  public int encode(ByteBuffer raw, ByteBuffer stored) {
    return encode(raw, raw.position(), raw.remaining(), stored);
  }

  @Override
  public int encode(ByteBuffer raw, int offset, int rawLength, ByteBuffer stored) {
    if (rawLength == 0) {
      return STORE_RAW;
    }
    // Absolute offsets: lz4 moves neither buffer's position.
    int stored0;
    try {
      stored0 = compressor.compress(raw, offset, rawLength, stored, stored.position(), stored.remaining());
    } catch (LZ4Exception tooLarge) {
      if (stored.remaining() >= maxStoredLength(rawLength)) {
        throw tooLarge; // not for want of room: a bug, not incompressible data
      }
      return STORE_RAW; // more than the room offered, which is at least the raw length: does not pay
    }
    // Keep LZ4 only when it saves at least minGain of the raw bytes.
    if (rawLength - stored0 < minGain * rawLength || stored0 >= rawLength) {
      return STORE_RAW;
    }
    return stored0;
  }

  @Override
  public void decode(ByteBuffer stored, ByteBuffer raw) {
    decode(stored, raw, raw.position(), raw.remaining());
  }

  @Override
  public void decode(ByteBuffer stored, ByteBuffer raw, int offset, int expected) {
    int got;
    try {
      got = decompressor.decompress(stored, stored.position(), stored.remaining(), raw, offset, expected);
    } catch (LZ4Exception e) {
      throw new CodecException("lz4: malformed input of " + stored.remaining() + " bytes for a raw length of "
          + expected + ": " + e.getMessage(), e);
    }
    if (got != expected) {
      throw new CodecException("lz4: decoded " + got + " bytes, but the record's raw length is " + expected);
    }
  }

  @Override
  public String toString() {
    return "lz4(min-gain=" + minGain + ")";
  }
}
