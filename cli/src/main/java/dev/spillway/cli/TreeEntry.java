package dev.spillway.cli;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * How {@code ingest --into} stores a path of a tree in a durable map: the value of the path's key is
 * a 24-byte header followed by the payload. A file up to {@link #CHUNK} bytes is one value; a larger
 * file's head (kind {@code CHUNKED}, no payload) names how many chunks follow, each under the key
 * {@code <path>\0<index>}, which no path can be (paths hold no NUL), so listings skip them.
 *
 * <pre>
 *  0 magic "SPWF" u32 | 4 version u8 = 1 | 5 kind u8 | 6 mode u16 (permission bits, 0 to 07777)
 *  8 size u64 (the file's bytes; a link's target bytes) | 16 chunks u32 | 20 reserved u32 = 0
 *  kind: 1 file (payload: its bytes), 2 symbolic link (payload: its target, UTF-8, never followed),
 *        3 directory (no payload), 4 chunked file (no payload; chunks under path\0i)
 * </pre>
 */
final class TreeEntry {
  static final int MAGIC = 0x46575053; // "SPWF"
  static final int HEADER = 24;
  /** Files larger than this are stored in chunks of this size (1 MiB: a block a small budget still holds many of). */
  static final int CHUNK = 1 << 20;

  private final Kind kind;
  private final int mode;
  private final long size;
  private final int chunks;
  private final byte[] payload;

  TreeEntry(Kind kind, int mode, long size, int chunks, byte[] payload) {
    this.kind = kind;
    this.mode = mode;
    this.size = size;
    this.chunks = chunks;
    this.payload = payload;
  }

  Kind kind() {
    return kind;
  }

  int mode() {
    return mode;
  }

  long size() {
    return size;
  }

  int chunks() {
    return chunks;
  }

  /** The payload (not copied: callers only read it). */
  byte[] payload() {
    return payload;
  }

  enum Kind {
    FILE(1), LINK(2), DIRECTORY(3), CHUNKED(4);

    final int code;

    Kind(int code) {
      this.code = code;
    }

    static Kind of(int code) {
      for (Kind k : values()) {
        if (k.code == code) {
          return k;
        }
      }
      return null;
    }
  }

  /** The mode bit of {@code p} (0400 for the owner's read ... 0001 for others' execute). */
  static int bit(java.nio.file.attribute.PosixFilePermission p) {
    return switch (p) {
      case OWNER_READ -> 0400;
      case OWNER_WRITE -> 0200;
      case OWNER_EXECUTE -> 0100;
      case GROUP_READ -> 040;
      case GROUP_WRITE -> 020;
      case GROUP_EXECUTE -> 010;
      case OTHERS_READ -> 04;
      case OTHERS_WRITE -> 02;
      case OTHERS_EXECUTE -> 01;
    };
  }

  /** The key of chunk {@code index} of the file at {@code path}. */
  static String chunkKey(String path, int index) {
    return path + '\0' + index;
  }

  /** Whether {@code key} is a chunk's, not a path's. */
  static boolean isChunkKey(String key) {
    return key.indexOf('\0') >= 0;
  }

  byte[] encode() {
    ByteBuffer b = ByteBuffer.allocate(HEADER + payload.length).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(MAGIC).put((byte) 1).put((byte) kind.code).putShort((short) mode).putLong(size).putInt(chunks).putInt(0);
    b.put(payload);
    return b.array();
  }

  /**
   * Decodes the value stored under {@code key}.
   *
   * @throws IllegalArgumentException naming the key when the value is not one {@code ingest} wrote
   */
  static TreeEntry decode(String key, byte[] value) {
    if (value.length < HEADER) {
      throw new IllegalArgumentException("key \"" + key + "\": a value of " + value.length + " bytes is not a stored"
          + " path (shorter than its " + HEADER + "-byte header; written by something else than spillway ingest?)");
    }
    ByteBuffer b = ByteBuffer.wrap(value).order(ByteOrder.LITTLE_ENDIAN);
    Kind kind = Kind.of(b.get(5));
    int mode = Short.toUnsignedInt(b.getShort(6));
    long size = b.getLong(8);
    int chunks = b.getInt(16);
    if (b.getInt(0) != MAGIC || b.get(4) != 1 || kind == null || mode > 07777 || size < 0 || chunks < 0
        || b.getInt(20) != 0) {
      throw new IllegalArgumentException("key \"" + key + "\": its value is not a stored path (bad header; written by"
          + " something else than spillway ingest, or a newer version)");
    }
    byte[] payload = Arrays.copyOfRange(value, HEADER, value.length);
    boolean consistent = switch (kind) {
      case FILE, LINK -> payload.length == size && chunks == 0;
      case DIRECTORY -> payload.length == 0 && size == 0 && chunks == 0;
      case CHUNKED -> payload.length == 0 && chunks == (size + CHUNK - 1) / CHUNK;
    };
    if (!consistent) {
      throw new IllegalArgumentException("key \"" + key + "\": its " + kind + " header does not match its payload (size "
          + size + ", chunks " + chunks + ", payload " + payload.length + " bytes)");
    }
    return new TreeEntry(kind, mode, size, chunks, payload);
  }
}
