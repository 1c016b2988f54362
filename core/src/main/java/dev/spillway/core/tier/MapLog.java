package dev.spillway.core.tier;

import static dev.spillway.core.tier.SegmentDescriptor.*;

import dev.spillway.codec.Codec;
import dev.spillway.codec.Codecs;
import dev.spillway.config.TierSettings.Durability;
import dev.spillway.core.memory.CompressionProbe;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.zip.CRC32C;

/**
 * The log of a durable map, in the map's own directory ({@link MapLogFormat}): every put appends an
 * ENTRY record, every removal (explicit, expired, evicted) a REMOVE record, and the latest record of a
 * key in log order is its state. The map's off-heap index is the log's index: it keeps each entry's
 * {@linkplain MapLogFormat#location location} and record length, so the log keeps no per-key state of
 * its own, only the live bytes of each segment (for compaction).
 *
 * <p>Reopening reads the newest valid index checkpoint ({@link MapCheckpoint}) and the records after it
 * (the tail), never the whole log when a checkpoint is there ({@link MapLogRecovery}). Compaction
 * ({@link MapLogCompactor}) copies the live entries of the oldest segments to the end of the log and
 * deletes those segments, so that what remains is always a suffix of the log's history: replaying it
 * from any point gives the exact state, deletions included.
 *
 * <p>Durability ({@link Durability}): with {@code none} a record is acknowledged once written to the
 * operating system (it survives the process, not a power cut); with {@code batch} the log forces its
 * file every sync interval, so a power cut loses at most that interval's records; with {@code always}
 * {@link #awaitDurable} returns only once the record is on the device, one fsync serving every writer
 * waiting at that moment. Sealed segments are forced before the next one starts (unless {@code none}).
 *
 * <p>Thread-safety: appends are serialized by a lock held only for the write itself (encoding happens
 * before it, on the caller's thread); reads are positional and run concurrently with everything.
 */
public final class MapLog implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(MapLog.class.getName());

  /** How the log is written. */
  public record Options(long segmentSize, Durability durability, Codec codec, long checkpointBytes) {
    public Options {
      if (segmentSize < 1 << 20 || segmentSize > 1L << MapLogFormat.OFFSET_BITS) {
        throw new IllegalArgumentException("segmentSize = " + segmentSize + ": allowed 1 MiB to 1 TiB");
      }
    }
  }

  /** What the map does for the log: recovery feeds it records, checkpoints and compaction ask it. */
  public interface Owner {
    /**
     * Recovery, in log order: an ENTRY ({@code remove} false) puts the key at {@code location}; a
     * REMOVE deletes it. {@code key} is valid only during the call.
     */
    void recover(boolean remove, long keyHash, MemorySegment key, int keyLength, long location, int recordLength,
        int valueLength, long timeMillis);

    /** Every entry whose record lies before {@code end}, each passed to {@code sink} (under the entry's lock). */
    void forEachEntry(long end, EntrySink sink) throws IOException;

    /**
     * Compaction: if the entry of {@code keyHash} still lives at {@code location}, calls {@code copy}
     * (which appends the record again and returns its new location) and points the entry there, all
     * under the entry's lock; returns whether it did.
     */
    boolean moveIfCurrent(long keyHash, long location, RecordCopy copy) throws IOException;
  }

  /** Receives the entries of a checkpoint. */
  public interface EntrySink {
    void entry(long keyHash, MemorySegment key, int keyLength, long location, int recordLength, int valueLength,
        long timeMillis) throws IOException;
  }

  /** Appends a record's bytes again; returns the new location. */
  public interface RecordCopy {
    long copy() throws IOException;
  }

  /** One segment file and the bytes of its records still live. */
  static final class Segment {
    final SegmentFile file;
    final AtomicLong live = new AtomicLong();

    Segment(SegmentFile file) {
      this.file = file;
    }
  }

  /** Per writing thread: the raw payload and its encoded form. */
  private static final ThreadLocal<Buffers> BUFFERS = ThreadLocal.withInitial(Buffers::new);

  private static final class Buffers {
    ByteBuffer raw = ByteBuffer.allocateDirect(8192).order(ByteOrder.LITTLE_ENDIAN);
    ByteBuffer stored = ByteBuffer.allocateDirect(8192).order(ByteOrder.LITTLE_ENDIAN);
    final ByteBuffer header = RecordFormat.allocateHeader();

    ByteBuffer raw(int n) {
      if (raw.capacity() < n) {
        raw = ByteBuffer.allocateDirect(grow(n)).order(ByteOrder.LITTLE_ENDIAN);
      }
      return raw.clear().limit(n);
    }

    ByteBuffer stored(int n) {
      if (stored.capacity() < n) {
        stored = ByteBuffer.allocateDirect(grow(n)).order(ByteOrder.LITTLE_ENDIAN);
      }
      return stored.clear().limit(n);
    }

    private static int grow(int n) {
      return (int) Math.min(Integer.MAX_VALUE - 8, Math.max(8192, Long.highestOneBit(n - 1L) << 1));
    }

    /** Drops buffers over 4 MiB, so one huge value does not pin its buffers to the thread for good. */
    void trim() {
      if (raw.capacity() > 4 << 20) {
        raw = ByteBuffer.allocateDirect(8192).order(ByteOrder.LITTLE_ENDIAN);
      }
      if (stored.capacity() > 4 << 20) {
        stored = ByteBuffer.allocateDirect(8192).order(ByteOrder.LITTLE_ENDIAN);
      }
    }
  }

  private final Path directory;
  private final String name;
  private final Options options;
  private final Codecs codecs;
  private final DirectoryLock lock;
  final ConcurrentSkipListMap<Long, Segment> segments;
  private final CompressionProbe probe = new CompressionProbe();
  private final ReentrantLock appendLock = new ReentrantLock();
  private final ReentrantLock syncLock = new ReentrantLock();
  /** Checkpoints and compaction, one at a time. */
  private final ReentrantLock maintenanceLock = new ReentrantLock();
  /** The segment appends go to; null until the first append after a full segment. */
  private Segment active;
  private long nextSegmentId;
  private long nextSequence;
  /** The location just past the last complete record. */
  private volatile long end;
  /** Every record before this location is on the device. */
  private volatile long synced;
  private final AtomicLong appendedSinceCheckpoint = new AtomicLong();
  private final MapCheckpoint checkpoints;
  private final MapLogRecovery.Report report;
  private volatile boolean closed;
  /** Opened without changing anything (a snapshot): appends, checkpoints and compaction are refused. */
  private final boolean readOnly;

  private MapLog(Path directory, String name, Options options, Codecs codecs, DirectoryLock lock,
      MapLogRecovery.State state, boolean readOnly) {
    this.readOnly = readOnly;
    this.directory = directory;
    this.name = name;
    this.options = options;
    this.codecs = codecs;
    this.lock = lock;
    this.segments = state.segments();
    this.nextSegmentId = state.nextSegmentId();
    this.nextSequence = state.nextSequence();
    this.checkpoints = state.checkpoints();
    this.report = state.report();
    Map.Entry<Long, Segment> last = segments.lastEntry();
    if (last != null && last.getValue().file.size() < options.segmentSize()) {
      active = last.getValue();
    }
    this.end = last == null ? MapLogFormat.location(0, FILE_HEADER_LENGTH)
        : MapLogFormat.location(last.getKey(), last.getValue().file.size());
    this.synced = end;
  }

  /**
   * Opens the map log in {@code directory} (created 0700 when missing, locked against every other
   * user) and replays it into {@code owner}: the newest valid checkpoint, then the records after it.
   *
   * @param name the map's name, for messages
   * @throws IOException naming the file and what is wrong: a newer format version, a foreign file, a
   *     damaged record in the middle of the log; nothing is changed on disk but a torn tail cut off and
   *     unfinished temporary files removed
   */
  public static MapLog open(Path directory, String name, Options options, Codecs codecs, Owner owner)
      throws IOException {
    return open(directory, name, options, codecs, owner, false);
  }

  /**
   * {@link #open}, or with {@code readOnly} the directory is only read: it must exist, it is not
   * locked, nothing is deleted or cut (a torn tail or an unfinished file fails the open instead), and
   * every write is refused. For snapshots, which never change.
   */
  public static MapLog open(Path directory, String name, Options options, Codecs codecs, Owner owner,
      boolean readOnly) throws IOException {
    Path dir = directory.toAbsolutePath();
    DirectoryLock lock = null;
    if (readOnly) {
      if (!java.nio.file.Files.isDirectory(dir)) {
        throw new java.nio.file.NoSuchFileException(dir.toString(), null, "map '" + name + "': no such directory"
            + " to open read-only");
      }
    } else if (java.nio.file.Files.isDirectory(dir)) {
      // An existing map is opened without the write probe of a new directory: a full device must not
      // keep the acknowledged entries from being read. Its lock file (empty) names this process's user.
      lock = DirectoryLock.acquire(dir);
      if (OwnedDirectory.posix(dir)) {
        try {
          int uid = (Integer) java.nio.file.Files.getAttribute(dir.resolve(DirectoryLock.FILE_NAME), "unix:uid");
          OwnedDirectory.checkOwnedAndPrivate(dir, uid, "spillway.maps." + name + ".directory");
        } catch (IOException | RuntimeException e) {
          lock.close();
          throw e;
        }
      }
    } else {
      OwnedDirectory.prepare(dir, "spillway.maps." + name + ".directory");
      lock = DirectoryLock.acquire(dir);
    }
    try {
      MapLogRecovery.State state = MapLogRecovery.run(dir, name, codecs, owner, readOnly);
      return new MapLog(dir, name, options, codecs, lock, state, readOnly);
    } catch (IOException | RuntimeException | Error e) {
      if (lock != null) {
        lock.close();
      }
      throw e;
    }
  }

  /** Whether the log was opened read-only. */
  public boolean readOnly() {
    return readOnly;
  }

  /** The map's directory. */
  public Path directory() {
    return directory;
  }

  /** What recovery found at open. */
  public MapLogRecovery.Report recoveryReport() {
    return report;
  }

  public Options options() {
    return options;
  }

  Codecs codecs() {
    return codecs;
  }

  MapCheckpoint checkpoints() {
    return checkpoints;
  }

  /** The location just past the last complete record. */
  public long end() {
    return end;
  }

  /** Bytes of all segment files. */
  public long diskBytes() {
    long sum = 0;
    for (Segment s : segments.values()) {
      sum += s.file.size();
    }
    return sum;
  }

  /** Bytes of the records that hold live entries. */
  public long liveBytes() {
    long sum = 0;
    for (Segment s : segments.values()) {
      sum += s.live.get();
    }
    return sum;
  }

  /** Bytes appended since the last checkpoint. */
  public long appendedSinceCheckpointBytes() {
    return appendedSinceCheckpoint.get();
  }

  /**
   * Compacts the log when its files hold more than {@value MapLogCompactor#TRIGGER} times the live
   * bytes (see {@link MapLogCompactor}); returns whether it did.
   */
  public boolean compactIfNeeded(Owner owner) throws IOException {
    maintenanceLock.lock();
    try {
      ensureWritable();
      return MapLogCompactor.compactIfNeeded(this, owner) != null;
    } finally {
      maintenanceLock.unlock();
    }
  }

  /** Counts the record at {@code location} as live (recovery, once the state is known). */
  public void live(long location, int recordLength) {
    Segment s = segments.get(MapLogFormat.segmentOf(location));
    if (s != null) {
      s.live.addAndGet(recordLength);
    }
  }

  /** The record at {@code location} no longer holds a live entry (replaced or removed). */
  public void obsolete(long location, int recordLength) {
    Segment s = segments.get(MapLogFormat.segmentOf(location));
    if (s != null) {
      s.live.addAndGet(-recordLength);
    }
  }

  /**
   * Appends an ENTRY for {@code key[0, keyLength)} with {@code value[0, valueLength)}, encoded with the
   * log's codec when that pays; returns its location. Its length is {@link #lastRecordLength()}.
   */
  public long appendEntry(long keyHash, MemorySegment key, int keyLength, MemorySegment value, long valueLength,
      long timeMillis) throws IOException {
    long rawLength = MapLogFormat.TIME_BYTES + (long) keyLength + valueLength;
    if (rawLength > MAX_RAW_LENGTH) {
      throw new IllegalArgumentException("map '" + name + "': an entry of " + keyLength + " key bytes and "
          + valueLength + " value bytes is over the log's limit of " + MAX_RAW_LENGTH + " bytes per record");
    }
    Buffers b = BUFFERS.get();
    ByteBuffer raw = b.raw((int) rawLength);
    raw.putLong(0, timeMillis);
    MemorySegment rawSeg = MemorySegment.ofBuffer(raw);
    MemorySegment.copy(key, 0, rawSeg, MapLogFormat.TIME_BYTES, keyLength);
    if (valueLength > 0) {
      MemorySegment.copy(value, 0, rawSeg, MapLogFormat.TIME_BYTES + keyLength, valueLength);
    }
    Codec codec = options.codec();
    ByteBuffer payload = raw;
    if (codec.id() != codecs.raw().id() && probe.shouldTry()) {
      ByteBuffer stored = b.stored((int) Math.min(Integer.MAX_VALUE - 8, codec.maxStoredLength(rawLength)));
      int n = codec.encode(raw, stored);
      probe.attempted(n != Codec.STORE_RAW);
      if (n != Codec.STORE_RAW) {
        payload = stored.limit(n);
      } else {
        codec = codecs.raw();
      }
    } else {
      codec = codecs.raw();
    }
    try {
      return append(b.header, MapLogFormat.KIND_ENTRY, codec.id(), keyLength, keyHash, (int) rawLength, payload);
    } finally {
      b.trim();
    }
  }

  /** Appends a REMOVE of {@code key[0, keyLength)}; returns its location. */
  public long appendRemove(long keyHash, MemorySegment key, int keyLength, long timeMillis) throws IOException {
    int rawLength = MapLogFormat.TIME_BYTES + keyLength;
    Buffers b = BUFFERS.get();
    ByteBuffer raw = b.raw(rawLength);
    raw.putLong(0, timeMillis);
    MemorySegment.copy(key, 0, MemorySegment.ofBuffer(raw), MapLogFormat.TIME_BYTES, keyLength);
    return append(b.header, MapLogFormat.KIND_REMOVE, codecs.raw().id(), keyLength, keyHash, rawLength, raw);
  }

  private static final ThreadLocal<int[]> LAST_LENGTH = ThreadLocal.withInitial(() -> new int[1]);

  /** The record length of this thread's last append. */
  public int lastRecordLength() {
    return LAST_LENGTH.get()[0];
  }

  private long append(ByteBuffer header, byte kind, int codecId, int keyLength, long keyHash, int rawLength,
      ByteBuffer payload) throws IOException {
    int stored = payload.remaining();
    int length = RECORD_HEADER_LENGTH + stored;
    appendLock.lock();
    try {
      ensureWritable();
      Segment s = activeFor(length);
      long sequence = nextSequence;
      RecordFormat.writeHeader(header, 0, kind, codecId, keyLength, keyHash, sequence, rawLength, stored);
      RecordFormat.sealCrc(header, payload);
      long offset = s.file.size();
      writeFully(s.file, new ByteBuffer[] {header.clear(), payload.duplicate()}, offset, length);
      s.file.size(offset + length);
      nextSequence = sequence + 1;
      if (kind == MapLogFormat.KIND_ENTRY) {
        s.live.addAndGet(length);
      }
      long location = MapLogFormat.location(s.file.id, offset);
      end = MapLogFormat.location(s.file.id, offset + length);
      appendedSinceCheckpoint.addAndGet(length);
      LAST_LENGTH.get()[0] = length;
      return location;
    } finally {
      appendLock.unlock();
    }
  }

  /**
   * Compaction: appends {@code record} (a whole record, header and payload, already valid) again as it
   * is, and counts it live; returns its new location.
   */
  long appendCopy(ByteBuffer record) throws IOException {
    int length = record.remaining();
    appendLock.lock();
    try {
      ensureWritable();
      Segment s = activeFor(length);
      long offset = s.file.size();
      writeFully(s.file, new ByteBuffer[] {record.duplicate()}, offset, length);
      s.file.size(offset + length);
      s.live.addAndGet(length);
      end = MapLogFormat.location(s.file.id, offset + length);
      return MapLogFormat.location(s.file.id, offset);
    } finally {
      appendLock.unlock();
    }
  }

  private static void writeFully(SegmentFile f, ByteBuffer[] parts, long offset, int length) throws IOException {
    long at = offset;
    for (ByteBuffer p : parts) {
      while (p.hasRemaining()) {
        at += f.channel.write(p, at);
      }
    }
    if (at != offset + length) {
      throw new IOException("short write to " + f.path + ": " + (at - offset) + " of " + length + " bytes");
    }
  }

  /** The segment with room for {@code length} more bytes: the active one, or a new one (under appendLock). */
  private Segment activeFor(int length) throws IOException {
    if (active != null && (active.file.size() + length <= options.segmentSize()
        || active.file.size() == FILE_HEADER_LENGTH)) {
      return active;
    }
    if (active != null && options.durability() != Durability.NONE) {
      active.file.channel.force(false); // sealed: on the device before anything after it
    }
    long id = nextSegmentId;
    if (id > MapLogFormat.MAX_SEGMENT_ID) {
      throw new IOException("map '" + name + "': segment ids are used up (" + id + ")");
    }
    Path path = directory.resolve(MapLogFormat.fileName(id));
    java.nio.channels.FileChannel ch = TierDirectories.createFile(path);
    try {
      ByteBuffer h = MapLogFormat.fileHeader(id, System.currentTimeMillis());
      while (h.hasRemaining()) {
        ch.write(h, h.position());
      }
      if (options.durability() != Durability.NONE) {
        ch.force(true);
        TierDirectories.syncDirectory(directory);
      }
    } catch (IOException | RuntimeException e) {
      ch.close();
      java.nio.file.Files.deleteIfExists(path);
      throw e;
    }
    nextSegmentId = id + 1;
    Segment s = new Segment(new SegmentFile(id, path, ch, FILE_HEADER_LENGTH));
    segments.put(id, s);
    active = s;
    return s;
  }

  /**
   * With durability {@code always}: returns once every record up to and including the one at
   * {@code location} is on the device (one fsync serves every thread waiting); otherwise at once.
   */
  public void awaitDurable(long location) throws IOException {
    if (options.durability() == Durability.ALWAYS && synced <= location) {
      sync();
    }
  }

  /** Forces every record written so far to the device. */
  public void sync() throws IOException {
    syncLock.lock();
    try {
      long target = end;
      if (synced >= target) {
        return;
      }
      Segment s;
      appendLock.lock();
      try {
        s = active;
      } finally {
        appendLock.unlock();
      }
      // Records of earlier segments were forced when their segment was sealed.
      if (s != null && !closed) {
        s.file.channel.force(false);
      }
      synced = target;
    } finally {
      syncLock.unlock();
    }
  }

  /** Whether records were written since the last {@link #sync}. */
  public boolean isDirtyForTests() {
    return synced < end;
  }

  /**
   * Reads the ENTRY at {@code location} ({@code recordLength} bytes) and returns its raw payload (time,
   * key, value) decoded into a buffer of this thread's, valid until its next read: checked against the
   * header's lengths, the CRC, and {@code keyHash}. A record that fails any check is a
   * {@link CorruptRecordException}, never data.
   */
  public ByteBuffer readEntry(long location, int recordLength, long keyHash) throws IOException {
    Segment s = segments.get(MapLogFormat.segmentOf(location));
    long offset = MapLogFormat.offsetOf(location);
    if (s == null) {
      throw new CorruptRecordException(directory.resolve(MapLogFormat.fileName(MapLogFormat.segmentOf(location))),
          offset, "map '" + name + "': the segment of an entry is missing");
    }
    if (recordLength < RECORD_HEADER_LENGTH || offset + recordLength > s.file.size()) {
      throw new CorruptRecordException(s.file.path, offset, "map '" + name + "': a record of " + recordLength
          + " bytes does not fit in the segment's " + s.file.size() + " bytes");
    }
    Buffers b = BUFFERS.get();
    ByteBuffer record = b.stored(recordLength);
    readFully(s.file, record, offset);
    record.flip();
    RecordFormat.Header h = RecordFormat.parseKeyedHeader(record, 0, s.file.path, offset, s.file.size(), codecs);
    if (h.length() != recordLength || h.kind() != MapLogFormat.KIND_ENTRY || h.key() != keyHash) {
      throw new CorruptRecordException(s.file.path, offset, "map '" + name + "': the record there is not the"
          + " entry the index expects (kind " + h.kind() + ", " + h.length() + " bytes, key hash "
          + Long.toHexString(h.key()) + "; expected an entry of " + recordLength + " bytes, key hash "
          + Long.toHexString(keyHash) + ")");
    }
    ByteBuffer payload = record.slice(RECORD_HEADER_LENGTH, h.storedLength()).order(ByteOrder.LITTLE_ENDIAN);
    checkCrc(record, payload, h, s.file.path, offset);
    if (h.codec() == codecs.raw().id()) {
      return payload;
    }
    ByteBuffer raw = b.raw(h.rawLength());
    try {
      codecs.byId(h.codec()).decode(payload, raw);
    } catch (RuntimeException e) {
      throw new CorruptRecordException(s.file.path, offset, "map '" + name + "': the payload does not decode: " + e, e);
    }
    return raw;
  }

  static void checkCrc(ByteBuffer record, ByteBuffer payload, RecordFormat.Header h, Path file, long offset)
      throws CorruptRecordException {
    CRC32C crc = new CRC32C();
    RecordFormat.crcHeader(crc, record, 0);
    RecordFormat.crcPayload(crc, payload);
    if ((int) crc.getValue() != h.crc()) {
      throw new CorruptRecordException(file, offset, String.format("record checksum mismatch (stored 0x%08x,"
          + " computed 0x%08x)", h.crc(), (int) crc.getValue()));
    }
  }

  static void readFully(SegmentFile f, ByteBuffer into, long offset) throws IOException {
    long at = offset;
    while (into.hasRemaining()) {
      int n = f.channel.read(into, at);
      if (n < 0) {
        throw new CorruptRecordException(f.path, offset, "the file ends before the record does");
      }
      at += n;
    }
  }

  /** Writes a checkpoint of {@code owner}'s entries now (see {@link MapCheckpoint}). */
  public void checkpoint(Owner owner) throws IOException {
    maintenanceLock.lock();
    try {
      writeCheckpoint(owner);
    } finally {
      maintenanceLock.unlock();
    }
  }

  private void writeCheckpoint(Owner owner) throws IOException {
    ensureWritable();
    sync(); // a checkpoint never names a record the device may not have
    long upTo = end;
    long sequence;
    appendLock.lock();
    try {
      sequence = nextSequence;
    } finally {
      appendLock.unlock();
    }
    long before = appendedSinceCheckpoint.get();
    checkpoints.write(upTo, sequence, owner);
    appendedSinceCheckpoint.addAndGet(-before);
  }

  /** Forces every segment from {@code segmentId} on (compaction's copies, before their originals go). */
  void forceFrom(long segmentId) throws IOException {
    for (Segment s : segments.tailMap(segmentId, true).values()) {
      s.file.channel.force(false);
    }
  }

  /**
   * Deletes segment {@code id} (compaction, after its live entries moved and a checkpoint past it is on
   * disk).
   */
  void delete(long id) throws IOException {
    Segment s = segments.remove(id);
    if (s != null) {
      s.file.close();
      java.nio.file.Files.deleteIfExists(s.file.path);
    }
  }

  /** The segments in log order, the active one last. */
  List<Segment> segmentsInOrder() {
    return new ArrayList<>(segments.values());
  }

  /** The id of the active segment, or -1 when appends will start a new one. */
  long activeId() {
    appendLock.lock();
    try {
      return active == null ? -1 : active.file.id;
    } finally {
      appendLock.unlock();
    }
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("map '" + name + "': its log is closed");
    }
  }

  private void ensureWritable() {
    ensureOpen();
    if (readOnly) {
      throw new UnsupportedOperationException("map '" + name + "' is opened read-only (" + directory
          + "): writes, removals and checkpoints are refused. Fix: restore the snapshot into a new directory"
          + " and open that");
    }
  }

  /**
   * Takes a snapshot into {@code dest}: a checkpoint first, then the log up to the end after it (see
   * {@link MapSnapshot}); writes may go on meanwhile, compaction waits.
   */
  public MapSnapshot.Result snapshot(Path dest, Owner owner) throws IOException {
    maintenanceLock.lock();
    try {
      writeCheckpoint(owner);
      long upTo;
      appendLock.lock();
      try {
        upTo = end;
      } finally {
        appendLock.unlock();
      }
      return MapSnapshot.take(this, name, dest, upTo, checkpoints.files().getFirst());
    } finally {
      maintenanceLock.unlock();
    }
  }

  public boolean isClosed() {
    return closed;
  }

  /**
   * Closes the files and the lock without forcing anything: what a crash of the process leaves
   * (everything written is in the page cache). For tests of recovery.
   */
  public void abandonForTests() throws IOException {
    IOException failure = closeFiles(null);
    if (failure != null) {
      throw failure;
    }
  }

  /** Closes every segment file and the lock; returns {@code failure}, or the first failure of its own. */
  private IOException closeFiles(IOException failure) {
    appendLock.lock();
    try {
      closed = true;
      for (Segment s : segments.values()) {
        try {
          s.file.close();
        } catch (IOException e) {
          if (failure == null) {
            failure = e;
          }
        }
      }
    } finally {
      appendLock.unlock();
    }
    if (lock != null) {
      try {
        lock.close();
      } catch (IOException e) {
        if (failure == null) {
          failure = e;
        }
      }
    }
    return failure;
  }

  /** Forces what was written (unless durability is {@code none}) and closes the files and the lock. */
  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    IOException failure = null;
    try {
      if (options.durability() != Durability.NONE && !readOnly) {
        sync();
      }
    } catch (IOException e) {
      failure = e;
    }
    failure = closeFiles(failure);
    if (failure != null) {
      LOG.log(System.Logger.Level.WARNING, "map '" + name + "': closing its log failed: " + failure);
      throw failure;
    }
  }
}
