package dev.spillway.core.tier;

import dev.spillway.memory.TierStats;
import static dev.spillway.core.tier.SegmentDescriptor.*;

import dev.spillway.config.TierSettings;
import dev.spillway.config.TierSettings.Durability;
import dev.spillway.codec.Codec;
import dev.spillway.codec.Codecs;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The {@link SegmentLog} on local files. Appends, deletes and compaction hold {@link #writeLock};
 * reads hold the read side of {@link #lifecycle}, whose write side is taken only to close a segment
 * file (compaction deleting it, or {@link #close()}), so a read never sees a channel closed under it.
 * The index is updated only after a record is acknowledged, so a reader never reaches a record that
 * is still being written.
 */
final class FileSegmentLog implements SegmentLog {
  /** Records up to this many bytes (header included) are read with one system call. */
  static final int SMALL_READ = (64 << 10) + RECORD_HEADER_LENGTH;
  /** Per reading thread: the buffer small records are read into. */
  private static final ThreadLocal<ReadScratch> SCRATCH = ThreadLocal.withInitial(ReadScratch::new);

  /** A thread's read buffer and a memory-segment view of it, made once so a read allocates neither. */
  private static final class ReadScratch {
    final ByteBuffer buffer = ByteBuffer.allocateDirect(SMALL_READ).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    final MemorySegment segment = MemorySegment.ofBuffer(buffer);
    /** A located record ({@link EntryTable#locate}). */
    final long[] where = new long[EntryTable.LOC_FIELDS];
    /** A record header rebuilt from the index, for the CRC of a payload read alone. */
    final ByteBuffer header = RecordFormat.allocateHeader();
    final java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
  }

  /** How often a read by key retries when compaction moved its record between lookup and read. */
  private static final int MOVED_RETRIES = 8;

  private final TierSettings settings;
  private final Codecs codecs;
  private final RecordEncoder encoder;
  private final TierDirectories directories;
  private final List<DirectoryLock> lockFiles;
  private final NavigableMap<Long, SegmentFile> segments;
  private final LogIndex index;
  private final SegmentWriter writer;
  private final RecoveryReport report;
  /** Every segment compaction has retired; extended (under {@link #writeLock}) by each RETIRE record. */
  private RetiredSegments retired;
  private final ReentrantLock writeLock = new ReentrantLock();
  /**
   * Not reentrant, and no read path takes it twice. A {@code StampedLock} rather than a
   * {@code ReentrantReadWriteLock}, whose read side allocates a hold counter per reading thread on
   * almost every acquisition when two threads take turns (a restore is frequent).
   */
  private final java.util.concurrent.locks.StampedLock lifecycle = new java.util.concurrent.locks.StampedLock();
  private volatile boolean closed;
  /** Compaction's copy buffer ({@link #copyBuffer}), made by the first pass, freed by {@link #close}. */
  private Arena copyArena;
  private ByteBuffer copyBuffer;

  private FileSegmentLog(TierSettings settings, Codecs codecs, TierDirectories directories,
      List<DirectoryLock> lockFiles, Recovery.State state) {
    this.settings = settings;
    this.codecs = codecs;
    this.encoder = new RecordEncoder(codecs);
    this.directories = directories;
    this.lockFiles = lockFiles;
    this.segments = state.segments();
    this.index = state.index();
    this.report = state.report();
    this.retired = state.retired();
    this.writer = new SegmentWriter(directories, segments, settings.segmentSize(), state.active(),
        state.nextSegmentId(), state.nextSequence());
  }

  static FileSegmentLog open(TierSettings settings, Codecs codecs) throws IOException {
    return open(settings, codecs, ChannelOpener.FILES);
  }

  /** Opens the log with segment files opened through {@code opener} (tests inject faults here). */
  static FileSegmentLog open(TierSettings settings, Codecs codecs, ChannelOpener opener) throws IOException {
    return open(settings, codecs, opener, false);
  }

  /** Opens the log; with {@code discardExisting} its segment files are deleted once the locks are held. */
  static FileSegmentLog open(TierSettings settings, Codecs codecs, ChannelOpener opener, boolean discardExisting)
      throws IOException {
    TierDirectories directories = TierDirectories.open(settings.directories(), opener);
    List<DirectoryLock> locks = new ArrayList<>();
    boolean success = false;
    try {
      for (Path dir : directories.all()) {
        locks.add(DirectoryLock.acquire(dir));
      }
      if (discardExisting) {
        for (Path file : directories.listSegments().values()) {
          Files.delete(file);
        }
        for (Path dir : directories.all()) {
          TierDirectories.syncDirectory(dir);
        }
      }
      Recovery.State state = Recovery.run(directories, codecs, settings.segmentSize());
      FileSegmentLog log = new FileSegmentLog(settings, codecs, directories, locks, state);
      success = true;
      return log;
    } finally {
      if (!success) {
        for (DirectoryLock lock : locks) {
          lock.close();
        }
      }
    }
  }

  @Override
  public RecoveryReport recoveryReport() {
    return report;
  }

  @Override
  public List<RecordLocation> append(List<Write> batch) throws IOException {
    if (batch.isEmpty()) {
      return List.of();
    }
    List<EncodedRecord> encoded = new ArrayList<>(batch.size());
    try {
      for (Write w : batch) {
        encoded.add(encode(w, false));
      }
      return appendEncoded(encoded);
    } finally {
      encoded.forEach(EncodedRecord::release);
    }
  }

  @Override
  public List<RecordLocation> appendEncoded(List<EncodedRecord> batch) throws IOException {
    if (batch.isEmpty()) {
      return List.of();
    }
    List<SegmentWriter.Pending> pending = new ArrayList<>(batch.size());
    for (EncodedRecord r : batch) {
      pending.add(r.pending());
    }
    List<RecordLocation> out = new ArrayList<>(batch.size());
    writeLock.lock();
    try {
      ensureOpen();
      writer.write(pending, settings.durability(), (r, seq, loc) -> {
        apply(r, seq, loc);
        out.add(loc);
      });
    } finally {
      writeLock.unlock();
    }
    return out;
  }

  @Override
  public EncodedRecord encode(Write w, boolean copy) {
    return encoder.encode(w, copy);
  }

  @Override
  public EncodedRecord encode(long key, int generation, Codec codec, ByteBuffer source, int offset, int length) {
    return encoder.encode(key, generation, codec, source, offset, length);
  }

  /** Indexes a record the writer acknowledged, building no entry object. */
  private void apply(SegmentWriter.Pending r, long seq, RecordLocation loc) {
    index.apply(r.key(), r.generation(), seq, r.codec(), r.rawLength(), r.kind() == KIND_TOMBSTONE, loc, r.crc());
  }

  @Override
  public boolean delete(long key) throws IOException {
    return deleteAll(new long[] {key}, 1) == 1;
  }

  @Override
  public int deleteAll(long[] keys, int count) throws IOException {
    java.util.Objects.checkFromIndexSize(0, count, keys.length);
    writeLock.lock();
    try {
      ensureOpen();
      List<SegmentWriter.Pending> tombstones = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        LogIndex.Entry e = index.get(keys[i]);
        if (e != null && !e.tombstone()) {
          tombstones.add(new SegmentWriter.Pending(
              KIND_TOMBSTONE, codecs.raw().id(), e.generation(), keys[i], 0, null));
        }
      }
      if (!tombstones.isEmpty()) {
        writer.write(tombstones, settings.durability(), (r, seq, loc) -> apply(r, seq, loc));
      }
      return tombstones.size();
    } finally {
      writeLock.unlock();
    }
  }

  @Override
  public Optional<RecordInfo> lookup(long key) {
    ensureOpen();
    LogIndex.Entry e = index.get(key);
    return e == null || e.tombstone() ? Optional.empty() : Optional.of(e.info());
  }

  @Override
  public Optional<byte[]> read(long key) throws IOException {
    for (int attempt = 0; ; attempt++) {
      Optional<RecordInfo> info = lookup(key);
      if (info.isEmpty()) {
        return Optional.empty();
      }
      try {
        return Optional.of(read(info.get().location()));
      } catch (SegmentGoneException e) {
        if (attempt >= MOVED_RETRIES) {
          throw e;
        }
      }
    }
  }

  @Override
  public long readInto(long key, MemorySegment dst) throws IOException {
    return readByKey(key, dst, null, 0, dst.byteSize());
  }

  @Override
  public long readInto(long key, ByteBuffer dst, int offset, int capacity) throws IOException {
    java.util.Objects.checkFromIndexSize(offset, capacity, dst.limit());
    return readByKey(key, null, dst, offset, capacity);
  }

  /**
   * A read by key into {@code [offset, offset + capacity)} of {@code dst}, or of {@code view} when
   * {@code dst} is null (a buffer the caller shares: small records then go through this thread's
   * scratch buffer, and no segment is made of it unless needed, so the read allocates nothing once
   * compiled). A record stored raw whose destination is off the heap is read by
   * {@link #readPayloadInto}; others are read whole and checked, then copied or decoded.
   */
  private long readByKey(long key, MemorySegment dst, ByteBuffer view, long offset, long capacity)
      throws IOException {
    ReadScratch scratch = SCRATCH.get();
    long[] where = scratch.where;
    for (int attempt = 0; ; attempt++) {
      ensureOpen();
      if (!index.locate(key, where)) { // primitive: a restore allocates no entry or location
        return -1;
      }
      long segmentId = where[EntryTable.LOC_SEGMENT];
      long at = where[EntryTable.LOC_OFFSET];
      int length = (int) where[EntryTable.LOC_LENGTH];
      int raw = (int) where[EntryTable.LOC_RAW];
      boolean offHeap = dst != null ? dst.isNative() : view.isDirect();
      boolean direct = offHeap && NativeFiles.available() && length - RECORD_HEADER_LENGTH == raw
          && RecordEncoder.storesRaw(codecs.byId((int) where[EntryTable.LOC_CODEC]), raw);
      try {
        if (!direct && (length > SMALL_READ || view == null)) {
          return readInto(new RecordLocation(segmentId, at, length), segmentOf(dst, view).asSlice(offset, capacity));
        }
        long stamp = lifecycle.readLock();
        try {
          SegmentFile segment = segments.get(segmentId);
          if (segment == null) {
            throw new SegmentGoneException(new RecordLocation(segmentId, at, length));
          }
          if (direct && segment.fd >= 0) {
            return readPayloadInto(segment, key, where, segmentOf(dst, view), offset, capacity, scratch);
          }
          if (length <= SMALL_READ && view != null) {
            return readSmallInto(segment, at, length, view, (int) offset, (int) capacity);
          }
        } finally {
          lifecycle.unlockRead(stamp);
        }
        // A segment without a native descriptor: the whole-record read, which takes the lock itself
        // (a read lock is not taken twice: a waiting writer would make the second wait forever).
        return readInto(new RecordLocation(segmentId, at, length), segmentOf(dst, view).asSlice(offset, capacity));
      } catch (SegmentGoneException e) {
        if (attempt >= MOVED_RETRIES) {
          throw e;
        }
      }
    }
  }

  private static MemorySegment segmentOf(MemorySegment dst, ByteBuffer view) {
    return dst != null ? dst : MemorySegment.ofBuffer(view);
  }

  /**
   * A record stored raw, read the restore's way: its payload alone, with one {@code pread} straight
   * into {@code dst[offset, offset + raw)} (no scratch buffer, no copy), then checked there. The
   * header is not read: the index holds every field of it (see {@link EntryTable#locate}), so the
   * record's CRC32C is recomputed over the header as the index describes it and the payload as read,
   * and compared with the CRC the index recorded when the record was written (or recovered). A payload
   * that differs in any bit from what was written fails that check; a damaged header on disk does not
   * matter to this read (its bytes are not returned), and recovery and {@code inspect} still see it.
   */
  private long readPayloadInto(SegmentFile segment, long key, long[] where, MemorySegment dst, long offset,
      long capacity, ReadScratch scratch) throws IOException {
    long at = where[EntryTable.LOC_OFFSET];
    int raw = (int) where[EntryTable.LOC_RAW];
    int codec = (int) where[EntryTable.LOC_CODEC];
    if (raw > capacity) {
      throw new IllegalArgumentException("record at segment " + segment.id + " offset " + at + " has " + raw
          + " raw bytes but the destination holds only " + capacity);
    }
    if (at < FILE_HEADER_LENGTH || segment.size() - at < RECORD_HEADER_LENGTH + (long) raw) {
      throw new CorruptRecordException(segment.path, at, "no room for a " + (RECORD_HEADER_LENGTH + raw)
          + "-byte record (file holds " + segment.size() + " bytes)");
    }
    MemorySegment into = dst.asSlice(offset, raw); // bounds checked against dst: the pread writes only here
    NativeFiles.readFully(segment.fd, into.address(), raw, at + RECORD_HEADER_LENGTH, segment.path);
    java.util.zip.CRC32C crc = scratch.crc;
    crc.reset();
    RecordFormat.writeHeader(scratch.header, 0, KIND_DATA, codec, (int) where[EntryTable.LOC_GENERATION], key,
        where[EntryTable.LOC_SEQUENCE], raw, raw);
    RecordFormat.crcHeader(crc, scratch.header, 0);
    crc.update(into.asByteBuffer());
    int expected = (int) where[EntryTable.LOC_CRC];
    if ((int) crc.getValue() != expected) {
      throw new CorruptRecordException(segment.path, at, String.format(java.util.Locale.ROOT,
          "checksum mismatch of the payload read (the record was written with 0x%08x, the bytes read give"
              + " 0x%08x)", expected, (int) crc.getValue()));
    }
    return raw;
  }

  @Override
  public byte[] read(RecordLocation location) throws IOException {
    long stamp = lifecycle.readLock();
    try {
      SegmentFile segment = segmentOf(location);
      RecordReader.Verified v = RecordReader.read(segment.channel, segment.path, location.offset(),
          segment.size(), codecs, h -> ByteBuffer.allocate(h.storedLength()));
      checkIsData(v.header(), segment, location);
      if (RecordEncoder.storesRaw(codecs.byId(v.header().codec()), v.header().rawLength())) {
        return v.stored().array(); // raw and Kryo payloads are stored as they are
      }
      byte[] raw = new byte[v.header().rawLength()];
      RecordReader.decode(v, codecs, ByteBuffer.wrap(raw), segment.path, location.offset());
      return raw;
    } finally {
      lifecycle.unlockRead(stamp);
    }
  }

  @Override
  public long readInto(RecordLocation location, MemorySegment dst) throws IOException {
    long stamp = lifecycle.readLock();
    try {
      SegmentFile segment = segmentOf(location);
      if (location.length() <= SMALL_READ) {
        return readSmallInto(segment, location, dst);
      }
      try (Arena arena = Arena.ofConfined()) {
        // Payloads stored as raw bytes are read straight into the destination and checked there.
        RecordReader.Verified v = RecordReader.read(segment.channel, segment.path, location.offset(),
            segment.size(), codecs, h -> {
              checkFits(h, location, dst);
              return RecordEncoder.storesRaw(codecs.byId(h.codec()), h.rawLength())
                  ? dst.asSlice(0, h.storedLength()).asByteBuffer()
                  : arena.allocate(Math.max(1, h.storedLength())).asByteBuffer().limit(h.storedLength());
            });
        checkIsData(v.header(), segment, location);
        if (!RecordEncoder.storesRaw(codecs.byId(v.header().codec()), v.header().rawLength())) {
          RecordReader.decode(v, codecs, dst.asSlice(0, v.header().rawLength()).asByteBuffer(), segment.path,
              location.offset());
        }
        return v.header().rawLength();
      }
    } finally {
      lifecycle.unlockRead(stamp);
    }
  }

  /**
   * A record of at most {@link #SMALL_READ} bytes: one positional read of header and payload into this
   * thread's scratch buffer, then a copy or decode into {@code dst}; one system call instead of two, and
   * nothing allocated.
   */
  private long readSmallInto(SegmentFile segment, RecordLocation location, MemorySegment dst) throws IOException {
    ReadScratch scratch = SCRATCH.get();
    ByteBuffer buf = scratch.buffer;
    int raw = readSmall(segment, location.offset(), location.length(), dst.byteSize(), buf);
    int codec = RecordFormat.codecAt(buf, 0);
    if (RecordEncoder.storesRaw(codecs.byId(codec), raw)) {
      MemorySegment.copy(scratch.segment, RECORD_HEADER_LENGTH, dst, 0, raw);
    } else {
      RecordReader.decode(codec, buf, codecs, dst.asSlice(0, raw).asByteBuffer(), segment.path, location.offset());
    }
    return raw;
  }

  /**
   * A small record into {@code dst[at, at + capacity)}, addressed absolutely, allocating nothing: one
   * read into this thread's scratch buffer, validated there, then a bulk copy (raw) or a decode.
   */
  private long readSmallInto(SegmentFile segment, long offset, int length, ByteBuffer dst, int at, int capacity)
      throws IOException {
    ByteBuffer buf = SCRATCH.get().buffer;
    int raw = readSmall(segment, offset, length, capacity, buf);
    try {
      codecs.byId(RecordFormat.codecAt(buf, 0)).decode(buf, dst, at, raw);
    } catch (dev.spillway.codec.CodecException | IndexOutOfBoundsException e) {
      throw new CorruptRecordException(segment.path, offset, "payload does not decode: " + e.getMessage(), e);
    }
    return raw;
  }

  /**
   * Reads and verifies the small record at {@code offset} into {@code buf} (header at 0, payload framed
   * by position and limit); checks it is data and fits {@code capacity}; returns its raw length.
   */
  private int readSmall(SegmentFile segment, long offset, int length, long capacity, ByteBuffer buf)
      throws IOException {
    RecordReader.readWhole(segment.channel, segment.path, offset, segment.size(), codecs, length, buf, 0);
    int raw = RecordFormat.rawLengthAt(buf, 0);
    if (RecordFormat.kindAt(buf, 0) != KIND_DATA) {
      throw new IllegalArgumentException("segment " + segment.id + " offset " + offset + " holds "
          + notData(RecordFormat.kindAt(buf, 0), RecordFormat.keyAt(buf, 0)));
    }
    if (raw > capacity) {
      throw new IllegalArgumentException("record at segment " + segment.id + " offset " + offset + " has " + raw
          + " raw bytes but the destination holds only " + capacity);
    }
    return raw;
  }

  private static void checkFits(RecordFormat.Header h, RecordLocation location, MemorySegment dst) {
    if (h.rawLength() > dst.byteSize()) {
      throw new IllegalArgumentException("record at " + location + " has " + h.rawLength()
          + " raw bytes but the destination holds only " + dst.byteSize());
    }
  }

  private SegmentFile segmentOf(RecordLocation location) throws IOException {
    ensureOpen();
    SegmentFile segment = segments.get(location.segmentId());
    if (segment == null) {
      throw new SegmentGoneException(location);
    }
    if (location.offset() < FILE_HEADER_LENGTH || location.length() < RECORD_HEADER_LENGTH
        || location.offset() + location.length() > segment.size()) {
      throw new IllegalArgumentException("location " + location + " is outside segment " + segment.path
          + " (" + segment.size() + " bytes)");
    }
    return segment;
  }

  private static void checkIsData(RecordFormat.Header h, SegmentFile segment, RecordLocation location)
      throws CorruptRecordException {
    if (h.length() != location.length()) {
      throw new CorruptRecordException(segment.path, location.offset(), "record length " + h.length()
          + " differs from the indexed length " + location.length());
    }
    if (h.kind() != KIND_DATA) {
      throw new IllegalArgumentException("location " + location + " holds " + notData(h.kind(), h.key()));
    }
  }

  private static String notData(byte kind, long key) {
    return kind == KIND_TOMBSTONE ? "a tombstone (key " + key + " was deleted)" : "a retire record, not data";
  }

  /** A record's segment was deleted by compaction after its location was looked up. */
  static final class SegmentGoneException extends IOException {
    private static final long serialVersionUID = 1L;

    SegmentGoneException(RecordLocation location) {
      super("segment " + location.segmentId() + " no longer exists (compaction moved its records): read by key"
          + " or look the key up again");
    }
  }

  @Override
  public CompactionResult compact() throws IOException {
    return compact(Long.MAX_VALUE);
  }

  @Override
  public CompactionResult compact(long maxCopyBytes) throws IOException {
    writeLock.lock();
    try {
      ensureOpen();
      return new Compaction(this, maxCopyBytes).run();
    } finally {
      writeLock.unlock();
    }
  }

  @Override
  public int forget(long[] keys, int count) {
    java.util.Objects.checkFromIndexSize(0, count, keys.length);
    writeLock.lock();
    try {
      ensureOpen();
      int n = 0;
      long[] scratch = SCRATCH.get().where;
      for (int i = 0; i < count; i++) {
        if (index.removeKey(keys[i], scratch)) {
          n++;
        }
      }
      return n;
    } finally {
      writeLock.unlock();
    }
  }

  // ---- used by Compaction, under writeLock ----

  TierSettings settings() {
    return settings;
  }

  Codecs codecs() {
    return codecs;
  }

  LogIndex index() {
    return index;
  }

  NavigableMap<Long, SegmentFile> segments() {
    return segments;
  }

  SegmentWriter writer() {
    return writer;
  }

  /** The segments retired so far (the set the next RETIRE record extends). */
  RetiredSegments retired() {
    return retired;
  }

  /** Records that a RETIRE record naming {@code value} is durable. */
  void retired(RetiredSegments value) {
    retired = value;
  }

  /** The buffer compaction reads records into: little-endian, {@link Compaction#COPY_BATCH_BYTES} long. */
  // The arena is kept in copyArena and closed with the log.
  @SuppressWarnings("MustBeClosedChecker")
  ByteBuffer copyBuffer() {
    if (copyBuffer == null) {
      copyArena = Arena.ofShared();
      copyBuffer = copyArena.allocate(Compaction.COPY_BATCH_BYTES).asByteBuffer().order(java.nio.ByteOrder.LITTLE_ENDIAN);
    }
    return copyBuffer;
  }

  /** The durability compaction copies need: forced before the original may go, whatever the setting. */
  static Durability copyDurability() {
    return Durability.BATCH;
  }

  /** Removes a segment from the log and deletes its file; waits for reads of it to finish. */
  void deleteSegment(SegmentFile segment) throws IOException {
    long lifecycleStamp = lifecycle.writeLock();
    try {
      segments.remove(segment.id);
      segment.close();
    } finally {
      lifecycle.unlockWrite(lifecycleStamp);
    }
    java.nio.file.Files.deleteIfExists(segment.path);
    TierDirectories.syncDirectory(segment.directory);
  }

  @Override
  public TierStats stats() {
    long bytes = 0;
    int count = 0;
    for (SegmentFile s : segments.values()) {
      bytes += s.size();
      count++;
    }
    long tombstones = index.tombstones();
    return new TierStats(count, bytes, index.liveBytes(), index.keys() - tombstones, tombstones,
        writer.nextSequence());
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("segment log over " + directories.all() + " is closed");
    }
  }

  @Override
  public void close() throws IOException {
    writeLock.lock();
    long lifecycleStamp = lifecycle.writeLock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      IOException failure = null;
      for (SegmentFile s : segments.values()) {
        try {
          if (settings.durability() != Durability.NONE) {
            s.channel.force(true);
          }
          s.close();
        } catch (IOException e) {
          failure = failure == null ? e : failure;
        }
      }
      if (copyArena != null) {
        copyArena.close();
        copyArena = null;
        copyBuffer = null;
      }
      for (DirectoryLock lock : lockFiles) {
        try {
          lock.close();
        } catch (IOException e) {
          failure = failure == null ? e : failure;
        }
      }
      if (failure != null) {
        throw failure;
      }
    } finally {
      lifecycle.unlockWrite(lifecycleStamp);
      writeLock.unlock();
    }
  }
}
