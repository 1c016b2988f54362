package dev.spillway.core.tier;

import dev.spillway.memory.TierStats;
import dev.spillway.config.TierSettings;
import dev.spillway.codec.Codec;
import dev.spillway.codec.Codecs;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;

/**
 * The NVMe tier's append-only log of keyed records in segment files (format: {@link RecordFormat},
 * {@code docs/FORMAT.md}). {@link #open} recovers what is on disk (every checksum verified, the index
 * rebuilt, a torn tail truncated, corruption reported in {@link #recoveryReport()} rather than
 * failing); {@link #append} writes a batch with one gathering write per segment touched and returns
 * once the configured durability is met, which is when its records count as acknowledged; reads
 * validate every length and the CRC and either return exactly the bytes written or throw
 * {@link CorruptRecordException}. Appends, deletes and compaction are serialized internally; reads run
 * concurrently with them and with each other. Operations after {@link #close()} fail with
 * {@link IllegalStateException}.
 */
public interface SegmentLog extends AutoCloseable {

  /** Opens (creating directories as needed) and recovers the log described by {@code settings}. */
  static SegmentLog open(TierSettings settings, Codecs codecs) throws IOException {
    return FileSegmentLog.open(settings, codecs);
  }

  /**
   * Opens the log described by {@code settings} after deleting every segment file its directories
   * hold. For logs whose records only mean something to the process that wrote them (spilled blocks:
   * their handles die with the process). The directory locks are taken first, so a log another live
   * process holds is never touched.
   */
  static SegmentLog openEmpty(TierSettings settings, Codecs codecs) throws IOException {
    return FileSegmentLog.open(settings, codecs, ChannelOpener.FILES, true);
  }

  /** What recovery found at open. */
  RecoveryReport recoveryReport();

  /** Appends {@code batch} in order; returns each record's location once the batch is acknowledged. */
  List<RecordLocation> append(List<Write> batch) throws IOException;

  /**
   * Encodes {@code write} for a later {@link #appendEncoded}, on the calling thread and without any
   * lock, so several threads can encode while one appends. With {@code copy} the stored payload is
   * copied into memory the record owns, and {@code write.data()} may change (or go away) as soon as
   * this returns; without it a payload stored raw still points at {@code write.data()}.
   *
   * @throws IllegalArgumentException when the data is over 1 GiB or the codec is not this log's
   */
  EncodedRecord encode(Write write, boolean copy);

  /**
   * {@link #encode} with a copy, of the bytes {@code source[offset, offset + length)} addressed
   * absolutely within {@code source}'s limit (its position is neither used nor moved, so threads may
   * share it): no {@link Write} and no view per record.
   */
  EncodedRecord encode(long key, int generation, Codec codec, ByteBuffer source, int offset, int length);

  /**
   * Appends records of {@link #encode} in order, exactly as {@link #append} would have written their
   * writes; returns each location once the batch is acknowledged. The records are not released.
   */
  List<RecordLocation> appendEncoded(List<EncodedRecord> batch) throws IOException;

  /** Appends one record. */
  default RecordLocation append(Write write) throws IOException {
    return append(List.of(write)).getFirst();
  }

  /** Writes a tombstone for {@code key}; returns false (and writes nothing) when the key has no record. */
  boolean delete(long key) throws IOException;

  /**
   * Writes tombstones for every key of {@code keys} that has a record, in one batch; returns how many
   * were written.
   */
  int deleteAll(long[] keys, int count) throws IOException;

  /**
   * Drops {@code keys} from the index without writing tombstones; returns how many had a record. Their
   * bytes become dead space that compaction reclaims. Only for a log that is never recovered (the
   * spill log, discarded at every open): after a crash, recovery would bring the records back.
   */
  int forget(long[] keys, int count);

  /** The index's knowledge of {@code key}'s current record, if it has a readable one. */
  Optional<RecordInfo> lookup(long key);

  /** The raw bytes of {@code key}'s current record, if any. */
  Optional<byte[]> read(long key) throws IOException;

  /** The raw bytes of the record at {@code location}. */
  byte[] read(RecordLocation location) throws IOException;

  /**
   * Decodes {@code key}'s current record into the start of {@code dst} (which may be off-heap); returns
   * its raw length, or -1 when the key has no record. On an exception {@code dst}'s contents are
   * unspecified.
   */
  long readInto(long key, MemorySegment dst) throws IOException;

  /**
   * {@link #readInto(long, MemorySegment)} into {@code dst[offset, offset + capacity)}, addressed
   * absolutely within {@code dst}'s limit (its position is neither used nor moved, so threads may share
   * it).
   */
  long readInto(long key, ByteBuffer dst, int offset, int capacity) throws IOException;

  /** Decodes the record at {@code location} into the start of {@code dst}; returns its raw length. */
  long readInto(RecordLocation location, MemorySegment dst) throws IOException;

  /**
   * Rewrites every sealed segment whose live fraction is under {@code compaction.live-fraction-below}:
   * live records are copied to the active segment and forced, then the old file is deleted.
   */
  CompactionResult compact() throws IOException;

  /**
   * {@link #compact()}, emptiest segments first, stopping once about {@code maxCopyBytes} of live
   * records were copied (at least one segment is done), so that a pass holds appends up only briefly.
   */
  CompactionResult compact(long maxCopyBytes) throws IOException;

  /** A snapshot of segments, bytes and records. */
  TierStats stats();

  /** Closes every segment file; acknowledged records stay on disk for the next open. */
  @Override
  void close() throws IOException;
}
