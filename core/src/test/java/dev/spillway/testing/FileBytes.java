package dev.spillway.testing;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Damage done to a file in place, as a failing device or a careless hand would: flips, cuts, zeros. */
public final class FileBytes {
  private FileBytes() {}

  /** XORs the byte at {@code offset} of {@code file} with {@code mask}. */
  public static void flip(Path file, long offset, int mask) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer b = ByteBuffer.allocate(1);
      ch.read(b, offset);
      b.put(0, (byte) (b.get(0) ^ mask)).rewind();
      ch.write(b, offset);
    }
  }

  /** Cuts {@code file} to {@code size} bytes. */
  public static void truncate(Path file, long size) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.truncate(size);
    }
  }

  /** Overwrites {@code [from, to)} of {@code file} with zeros. */
  public static void zero(Path file, long from, long to) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ByteBuffer zeros = ByteBuffer.allocate((int) (to - from));
      while (zeros.hasRemaining()) {
        ch.write(zeros, from + zeros.position());
      }
    }
  }
}
