package dev.spillway.map;

import dev.spillway.codec.Codec;
import dev.spillway.codec.Codecs;
import dev.spillway.config.MapPersistence;
import dev.spillway.config.SpillwaySettings;
import dev.spillway.config.TierSettings.Durability;
import dev.spillway.core.tier.MapLog;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The durable side of one {@link SpillMap}: its {@link MapLog}, the log's owner (recovery, checkpoints
 * and compaction reach the map's segments through it, each under the segment's lock), and a
 * maintenance thread of its own that forces the log every sync interval ({@code batch}), writes an
 * index checkpoint every checkpoint interval of log, and compacts the log when its files hold more
 * than 1.25 times the live bytes. A failure of maintenance (a full disk) is logged and retried on the
 * next round; it never loses data, as nothing is deleted before what replaces it is on disk.
 */
final class MapDurability<K, V> implements MapLog.Owner, AutoCloseable {
  private static final System.Logger LOG = System.getLogger(MapDurability.class.getName());
  /** Per thread: the location of the last record it appended (for {@code always}). */
  private static final ThreadLocal<long[]> LAST = ThreadLocal.withInitial(() -> new long[] {-1});

  private final OffHeapSpillMap<K, V> map;
  private final MapSegment<K, V>[] segments;
  private final MapPersistence settings;
  private final MapLog log;
  private final ScheduledExecutorService maintenance;
  private volatile String lastFailure;
  private volatile boolean closing;

  private MapDurability(OffHeapSpillMap<K, V> map, MapSegment<K, V>[] segments, MapPersistence settings) throws IOException {
    this.map = map;
    this.segments = segments;
    this.settings = settings;
    Codecs codecs = Codecs.from(SpillwaySettings.defaults().codec());
    this.log = MapLog.open(settings.directory(), map.name(), new MapLog.Options(settings.segmentSize(),
        settings.durability(), codec(codecs, settings.codec(), map.name()), settings.checkpointInterval()), codecs, this,
        settings.readOnly());
    try {
      for (MapSegment<K, V> seg : segments) {
        seg.countLive(log);
      }
    } catch (RuntimeException | Error e) {
      log.close();
      throw e;
    }
    if (settings.readOnly()) {
      this.maintenance = null; // nothing is written, so nothing to force, checkpoint or compact
      return;
    }
    this.maintenance = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "spillway-map-" + map.name());
      t.setDaemon(true);
      return t;
    });
    long tick = settings.durability() == Durability.BATCH ? settings.syncInterval().toMillis() : 100;
    var _ = maintenance.scheduleWithFixedDelay(this::maintain, tick, Math.max(1, tick), TimeUnit.MILLISECONDS);
  }

  /** Opens the log of {@code map} and replays it into {@code segments}. */
  static <K, V> MapDurability<K, V> open(OffHeapSpillMap<K, V> map, MapSegment<K, V>[] segments, MapPersistence settings) {
    try {
      return new MapDurability<>(map, segments, settings);
    } catch (IOException e) {
      String message = String.valueOf(e.getMessage());
      throw new UncheckedIOException(message.startsWith("map '") ? message : "map '" + map.name()
          + "': opening its directory " + settings.directory() + " failed: " + message, e);
    }
  }

  private static Codec codec(Codecs codecs, String name, String map) {
    Codec codec;
    try {
      codec = codecs.byName(name);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("spillway.maps." + map + ".codec: " + e.getMessage(), e);
    }
    codecs.checkAvailable(codec); // a zstd that cannot load fails the open, not the first write
    return codec;
  }

  MapLog log() {
    return log;
  }

  /** The last maintenance failure, or null. */
  String lastFailure() {
    return lastFailure;
  }

  /** Remembers where this thread's last record went. */
  void appended(long location) {
    LAST.get()[0] = location;
  }

  /** After the segment's lock is released: with {@code always}, waits until this thread's last record is on the device. */
  void acknowledge() {
    long[] last = LAST.get();
    if (last[0] < 0) {
      return;
    }
    long location = last[0];
    last[0] = -1;
    try {
      log.awaitDurable(location);
    } catch (IOException e) {
      throw failure("forcing its log to the device", e);
    }
  }

  /** An I/O failure of the log, as thrown to the map's caller. */
  UncheckedIOException failure(String doing, IOException e) {
    return new UncheckedIOException("map '" + map.name() + "': " + doing + " in " + log.directory() + " failed: "
        + e.getMessage() + (doing.startsWith("writing") ? " (the entry is as it was before this call)" : ""), e);
  }

  private void maintain() {
    if (closing) {
      return;
    }
    try {
      if (settings.durability() == Durability.BATCH) {
        log.sync();
      }
      if (log.appendedSinceCheckpointBytes() >= settings.checkpointInterval()) {
        log.checkpoint(this);
      }
      log.compactIfNeeded(this);
      lastFailure = null;
    } catch (IOException | RuntimeException e) {
      if (closing || log.isClosed()) {
        return; // stopped by close(), which writes the last checkpoint itself
      }
      String message = e.toString();
      if (!message.equals(lastFailure)) {
        LOG.log(Level.WARNING, "map '" + map.name() + "': maintenance of its log failed (retried): " + message);
      }
      lastFailure = message;
    }
  }

  // ---- MapLog.Owner --------------------------------------------------------------------------

  @Override
  public void recover(boolean remove, long keyHash, MemorySegment key, int keyLength, long location,
      int recordLength, int valueLength, long timeMillis) {
    MapSegment<K, V> seg = segments[map.segmentIndex(keyHash)];
    seg.lock.lock();
    try {
      seg.recover(remove, keyHash, key, keyLength, location, recordLength, valueLength, timeMillis);
    } finally {
      seg.lock.unlock();
    }
  }

  @Override
  public void forEachEntry(long end, MapLog.EntrySink sink) throws IOException {
    for (MapSegment<K, V> seg : segments) {
      seg.lock.lock();
      try {
        seg.forEachEntry(end, sink);
      } finally {
        seg.lock.unlock();
      }
    }
  }

  @Override
  public boolean moveIfCurrent(long keyHash, long location, MapLog.RecordCopy copy) throws IOException {
    MapSegment<K, V> seg = segments[map.segmentIndex(keyHash)];
    seg.lock.lock();
    try {
      return seg.moveIfCurrent(keyHash, location, copy);
    } finally {
      seg.lock.unlock();
    }
  }

  /** Forces everything written to the device. */
  void sync() {
    try {
      log.sync();
    } catch (IOException e) {
      throw failure("forcing its log to the device", e);
    }
  }

  /** Stops maintenance and closes the log as a crash would: no sync, no checkpoint (tests). */
  void crashForTests() throws IOException {
    closing = true;
    stopMaintenance();
    log.abandonForTests();
  }

  private void stopMaintenance() {
    if (maintenance == null) {
      return;
    }
    // Not shutdownNow: an interrupt in the middle of file I/O would close the log's channels under it.
    maintenance.shutdown();
    try {
      maintenance.awaitTermination(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** See {@link SpillMap#snapshot}. */
  SnapshotInfo snapshot(java.nio.file.Path dest) {
    try {
      dev.spillway.core.tier.MapSnapshot.Result r = log.snapshot(dest, this);
      return new SnapshotInfo(r.directory(), r.files().size(), r.linked(), r.bytes());
    } catch (IOException e) {
      throw failure("taking a snapshot into " + dest, e);
    }
  }

  /** Stops maintenance, writes a last checkpoint (so the next open reads no tail) and closes the log. */
  @Override
  public void close() {
    closing = true;
    stopMaintenance();
    try {
      try {
        if (!log.readOnly()) {
          log.checkpoint(this);
        }
      } catch (IOException e) {
        // The log is the truth; the last checkpoint only spares the next open a longer replay.
        LOG.log(Level.WARNING, "map '" + map.name() + "': its last checkpoint could not be written (" + e
            + "); the next open replays the log after the previous one");
      } finally {
        log.close();
      }
    } catch (IOException e) {
      throw failure("closing its log", e);
    }
  }
}
