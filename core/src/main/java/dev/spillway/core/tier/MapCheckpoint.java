package dev.spillway.core.tier;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Index checkpoints of a durable map: every live entry (key, location, lengths, time) as of a point
 * in the log, so that reopening reads the checkpoint and only the records after that point. Written
 * to a temporary file, forced, then renamed into place and the directory forced: a checkpoint file
 * under its final name is always whole, and a crash mid-write leaves only a {@code .tmp} that the next
 * open deletes. The newest {@value #KEEP} are kept; if the newest is damaged the one before it serves.
 *
 * <pre>
 * index-&lt;16 hex digits of the end location&gt;.spi
 * header (64 bytes)
 *  0 magic "SPWI" u32 | 4 version u16 = 1 | 6 reserved u16 = 0 | 8 created millis u64
 *  16 end location u64 (the entries are those of the records before it)
 *  24 next sequence u64 | 32 entry count u64 | 40 entry bytes u64 | 48 CRC32C of the entry bytes u32
 *  52 reserved u32 = 0 | 56 reserved u32 = 0 | 60 CRC32C of bytes [0, 60) u32
 * entries, back to back (36 bytes + the key each)
 *  key hash u64 | location u64 | record length u32 | value length u32 | time millis u64 | key length u32 | key
 * </pre>
 */
final class MapCheckpoint {
  static final int KEEP = 2;
  static final int HEADER = 64;
  static final int MAGIC = 0x49575053; // "SPWI"
  static final short VERSION = 1;
  static final int ENTRY_FIXED = 36;
  static final String PREFIX = "index-";
  static final String SUFFIX = ".spi";

  /** A checkpoint file whose header was read and checked. */
  record Header(Path file, long createdMillis, long end, long nextSequence, long entries, long entryBytes,
      int entriesCrc) {}

  private final Path directory;
  private final String name;
  /** Valid-looking checkpoint files, newest first. */
  private final List<Path> files;

  /** The end of the newest checkpoint written or replayed; -1 when there is none. */
  private long lastEnd;

  MapCheckpoint(Path directory, String name, List<Path> files, long lastEnd) {
    this.directory = directory;
    this.name = name;
    this.files = new ArrayList<>(files);
    this.lastEnd = lastEnd;
  }

  /** The end of the newest checkpoint written or replayed; -1 when there is none. */
  long lastEnd() {
    return lastEnd;
  }

  static String fileName(long end) {
    return PREFIX + String.format("%016x", end) + SUFFIX;
  }

  /** The end location in a checkpoint file's name, or -1 when it is not one. */
  static long parseFileName(String fileName) {
    return SegmentDescriptor.parseHexName(fileName, PREFIX, SUFFIX);
  }

  /** The checkpoint files, newest first. */
  List<Path> files() {
    return List.copyOf(files);
  }

  /**
   * Writes a checkpoint of every entry of {@code owner} before {@code end}, then deletes all but the
   * newest {@value #KEEP}.
   */
  void write(long end, long nextSequence, MapLog.Owner owner) throws IOException {
    Path target = directory.resolve(fileName(end));
    Path tmp = directory.resolve(fileName(end) + ".tmp");
    Files.deleteIfExists(tmp);
    long[] count = {0};
    CRC32C crc = new CRC32C();
    try (FileChannel ch = TierDirectories.createFile(tmp)) {
      ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
      long[] at = {HEADER};
      MemorySegment bufSeg = MemorySegment.ofBuffer(buf);
      owner.forEachEntry(end, (hash, key, keyLength, location, recordLength, valueLength, time) -> {
        int need = ENTRY_FIXED + keyLength;
        if (buf.remaining() < need) {
          at[0] += flush(ch, buf, at[0], crc);
        }
        if (buf.remaining() < need) { // a key over the buffer: write it through a buffer of its own
          ByteBuffer big = ByteBuffer.allocate(need).order(ByteOrder.LITTLE_ENDIAN);
          put(big, MemorySegment.ofBuffer(big), hash, key, keyLength, location, recordLength, valueLength, time);
          at[0] += flush(ch, big, at[0], crc);
        } else {
          put(buf, bufSeg, hash, key, keyLength, location, recordLength, valueLength, time);
        }
        count[0]++;
      });
      at[0] += flush(ch, buf, at[0], crc);
      ByteBuffer h = ByteBuffer.allocate(HEADER).order(ByteOrder.LITTLE_ENDIAN);
      h.putInt(0, MAGIC).putShort(4, VERSION).putShort(6, (short) 0).putLong(8, System.currentTimeMillis())
          .putLong(16, end).putLong(24, nextSequence).putLong(32, count[0]).putLong(40, at[0] - HEADER)
          .putInt(48, (int) crc.getValue()).putInt(52, 0).putInt(56, 0);
      h.putInt(60, headerCrc(h));
      while (h.hasRemaining()) {
        ch.write(h, h.position());
      }
      ch.force(true);
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(tmp);
      throw e;
    }
    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    TierDirectories.syncDirectory(directory);
    files.remove(target);
    files.addFirst(target);
    lastEnd = end;
    while (files.size() > KEEP) {
      Files.deleteIfExists(files.removeLast());
    }
  }

  private static void put(ByteBuffer buf, MemorySegment seg, long hash, MemorySegment key, int keyLength,
      long location, int recordLength, int valueLength, long time) {
    int p = buf.position();
    buf.putLong(p, hash).putLong(p + 8, location).putInt(p + 16, recordLength).putInt(p + 20, valueLength)
        .putLong(p + 24, time).putInt(p + 32, keyLength);
    MemorySegment.copy(key, 0, seg, p + ENTRY_FIXED, keyLength);
    buf.position(p + ENTRY_FIXED + keyLength);
  }

  private static int flush(FileChannel ch, ByteBuffer buf, long at, CRC32C crc) throws IOException {
    buf.flip();
    crc.update(buf.duplicate());
    int n = buf.remaining();
    long pos = at;
    while (buf.hasRemaining()) {
      pos += ch.write(buf, pos);
    }
    buf.clear();
    return n;
  }

  private static int headerCrc(ByteBuffer h) {
    CRC32C crc = new CRC32C();
    crc.update(h.duplicate().clear().limit(60));
    return (int) crc.getValue();
  }

  /** Reads and checks the header of checkpoint {@code file} (not its entries). */
  static Header readHeader(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = ch.size();
      if (size < HEADER) {
        throw new CorruptRecordException(file, 0, "an index checkpoint shorter than its header (" + size
            + " of " + HEADER + " bytes): half-written");
      }
      ByteBuffer h = ByteBuffer.allocate(HEADER).order(ByteOrder.LITTLE_ENDIAN);
      while (h.hasRemaining()) {
        if (ch.read(h, h.position()) < 0) {
          break;
        }
      }
      if (h.getInt(0) != MAGIC) {
        throw new CorruptRecordException(file, 0, String.format("bad magic 0x%08x (expected 0x%08x): not an index"
            + " checkpoint of a Spillway map", h.getInt(0), MAGIC));
      }
      if (h.getInt(60) != headerCrc(h)) {
        throw new CorruptRecordException(file, 0, "index checkpoint header checksum mismatch: damaged or half-written");
      }
      int version = Short.toUnsignedInt(h.getShort(4));
      if (version != VERSION) {
        throw new CorruptRecordException(file, 0, "index checkpoint version " + version + " is "
            + (version > VERSION ? "newer than this build reads" : "unknown") + " (this build reads " + VERSION + ")");
      }
      long entries = h.getLong(32);
      long bytes = h.getLong(40);
      if (bytes != size - HEADER || entries < 0 || entries > bytes / ENTRY_FIXED) {
        throw new CorruptRecordException(file, 0, "index checkpoint holds " + (size - HEADER) + " entry bytes, its"
            + " header says " + bytes + " bytes of " + entries + " entries: half-written or damaged");
      }
      return new Header(file, h.getLong(8), h.getLong(16), h.getLong(24), entries, bytes, h.getInt(48));
    }
  }

  /**
   * Reads checkpoint {@code header.file()}: checks the CRC of all its entries first, then each entry's
   * lengths and that its location lies in {@code segments} before the checkpoint's end, and only then
   * passes them to {@code owner}, so a damaged checkpoint changes nothing.
   */
  static void replay(Header header, java.util.function.LongPredicate segmentExists, MapLog.Owner owner)
      throws IOException {
    try (Arena arena = Arena.ofConfined(); FileChannel ch = FileChannel.open(header.file(), StandardOpenOption.READ)) {
      long bytes = header.entryBytes();
      MemorySegment all = bytes == 0 ? MemorySegment.NULL
          : ch.map(FileChannel.MapMode.READ_ONLY, HEADER, bytes, arena);
      CRC32C crc = new CRC32C();
      for (long off = 0; off < bytes; off += Integer.MAX_VALUE >> 1) {
        crc.update(all.asSlice(off, Math.min(Integer.MAX_VALUE >> 1, bytes - off)).asByteBuffer());
      }
      if ((int) crc.getValue() != header.entriesCrc()) {
        throw new CorruptRecordException(header.file(), HEADER, "index checkpoint entries checksum mismatch: damaged");
      }
      for (int pass = 0; pass < 2; pass++) {
        long at = 0;
        for (long i = 0; i < header.entries(); i++) {
          if (bytes - at < ENTRY_FIXED) {
            throw corrupt(header, at, "entry " + i + " runs past the end of the entries");
          }
          long hash = all.get(LONG, at);
          long location = all.get(LONG, at + 8);
          int recordLength = all.get(INT, at + 16);
          int valueLength = all.get(INT, at + 20);
          long time = all.get(LONG, at + 24);
          int keyLength = all.get(INT, at + 32);
          if (keyLength < 0 || keyLength > bytes - at - ENTRY_FIXED) {
            throw corrupt(header, at, "entry " + i + " has a key length of " + Integer.toUnsignedString(keyLength)
                + ", more than the bytes left");
          }
          if (pass == 0) {
            if (Long.compareUnsigned(location, header.end()) >= 0 || !segmentExists.test(MapLogFormat.segmentOf(location))
                || recordLength < SegmentDescriptor.RECORD_HEADER_LENGTH || valueLength < 0) {
              throw corrupt(header, at, "entry " + i + " names " + MapLogFormat.describe(location) + " ("
                  + recordLength + " bytes), not a record before the checkpoint's end in a segment that exists");
            }
          } else {
            owner.recover(false, hash, all.asSlice(at + ENTRY_FIXED, keyLength), keyLength, location, recordLength,
                valueLength, time);
          }
          at += ENTRY_FIXED + keyLength;
        }
        if (at != bytes) {
          throw corrupt(header, at, "the entries end " + (bytes - at) + " bytes before the file does");
        }
      }
    }
  }

  private static CorruptRecordException corrupt(Header h, long at, String why) {
    return new CorruptRecordException(h.file(), HEADER + at, "index checkpoint: " + why);
  }

  private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  /** Checkpoints in {@code files}, newest (highest end) first. */
  static List<Path> newestFirst(List<Path> files) {
    List<Path> out = new ArrayList<>(files);
    out.sort(Comparator.comparingLong((Path p) -> parseFileName(p.getFileName().toString()))
        .reversed());
    return out;
  }

  @Override
  public String toString() {
    return "checkpoints of map '" + name + "' in " + directory;
  }
}
