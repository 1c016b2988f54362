package dev.spillway.map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spillway.config.MapSettings;
import dev.spillway.config.TierSettings.Durability;
import dev.spillway.core.tier.MapLog;
import dev.spillway.core.tier.MapLogRecovery;
import dev.spillway.memory.BlockAllocator;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Durable maps: reopening gives back exactly what was written, through checkpoints, torn tails and compaction. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DurableMapTest {
  @TempDir Path tier;
  @TempDir Path dir;
  private BlockAllocator memory;

  @BeforeEach
  void open() {
    memory = MapTestSupport.tiered(tier);
  }

  @AfterEach
  void close() {
    try {
      assertThat(memory.stats().blocksInUse()).as("blocks left by the maps").isZero();
    } finally {
      memory.close();
    }
  }

  private SpillMap<String, byte[]> map(UnaryOperator<MapSettings.Builder> tune) {
    MapSettings settings = tune.apply(MapSettings.builder("durable").durable(dir).segments(4)).build();
    return SpillMaps.builder(memory, "durable", String.class, byte[].class).settings(settings).build();
  }

  private SpillMap<String, byte[]> map() {
    return map(b -> b);
  }

  private static MapLog log(SpillMap<?, ?> m) {
    return ((OffHeapSpillMap<?, ?>) m).durabilityForTests().log();
  }

  private static byte[] value(long seed, int length) {
    byte[] b = new byte[length];
    new SplittableRandom(seed).nextBytes(b);
    return b;
  }

  private static void assertSameContents(SpillMap<String, byte[]> m, Map<String, byte[]> expected) {
    assertThat(m.size()).isEqualTo(expected.size());
    for (Map.Entry<String, byte[]> e : expected.entrySet()) {
      assertThat(m.get(e.getKey())).as("value of %s", e.getKey()).isEqualTo(e.getValue());
    }
  }

  @Test
  void putsRemovesAndReplacesComeBackAfterAReopenFromTheCheckpointAlone() {
    Map<String, byte[]> expected = new HashMap<>();
    try (SpillMap<String, byte[]> m = map()) {
      for (int i = 0; i < 500; i++) {
        String key = (i % 3 == 0 ? "a-rather-long-key-that-does-not-fit-inline/" : "k") + i;
        byte[] v = value(i, i % 7 == 0 ? 0 : 10 + i * 13 % 5000);
        m.put(key, v);
        expected.put(key, v);
      }
      for (int i = 0; i < 500; i += 5) {
        String key = (i % 3 == 0 ? "a-rather-long-key-that-does-not-fit-inline/" : "k") + i;
        m.remove(key);
        expected.remove(key);
      }
      for (int i = 1; i < 500; i += 7) {
        String key = (i % 3 == 0 ? "a-rather-long-key-that-does-not-fit-inline/" : "k") + i;
        byte[] v = value(i + 1000, 3000);
        m.replace(key, v);
        if (expected.containsKey(key)) {
          expected.put(key, v);
        }
      }
      assertSameContents(m, expected);
    }
    try (SpillMap<String, byte[]> m = map()) {
      MapLogRecovery.Report r = log(m).recoveryReport();
      assertThat(r.checkpoint()).as("the checkpoint written at close").isNotNull();
      assertThat(r.checkpointEntries()).isEqualTo(expected.size());
      assertThat(r.tailRecords()).as("nothing after the checkpoint").isZero();
      assertThat(m.isResident("k1")).as("reopened entries wait in the log").isFalse();
      assertSameContents(m, expected);
      assertThat(m.stats().l3Hits()).isEqualTo(expected.size());
      assertThat(m.isResident("k1")).as("read back into RAM").isTrue();
    }
  }

  @Test
  void demotedEntriesAreReadFromTheLogAndTheirRamIsFreedWithoutAWrite() {
    try (SpillMap<String, byte[]> m = map()) {
      for (int i = 0; i < 100; i++) {
        m.put("key-number-" + i + "-with-a-long-name", value(i, 4096));
      }
      long written = log(m).end();
      long freed = m.demote(Long.MAX_VALUE);
      assertThat(freed).as("RAM freed").isGreaterThanOrEqualTo(100L * 4000);
      assertThat(log(m).end()).as("demotion wrote nothing").isEqualTo(written);
      assertThat(m.isResident("key-number-5-with-a-long-name")).isFalse();
      for (int i = 0; i < 100; i++) {
        assertThat(m.get("key-number-" + i + "-with-a-long-name")).isEqualTo(value(i, 4096));
      }
      // A value that lives only in the log is the old value a put returns, and what remove gives back.
      m.demote(Long.MAX_VALUE);
      assertThat(m.put("key-number-1-with-a-long-name", new byte[] {1})).isEqualTo(value(1, 4096));
      assertThat(m.remove("key-number-2-with-a-long-name")).isEqualTo(value(2, 4096));
      assertThat(m.replace("key-number-3-with-a-long-name", value(3, 4096), new byte[] {3})).isTrue();
    }
    try (SpillMap<String, byte[]> m = map()) {
      assertThat(m.size()).isEqualTo(99);
      assertThat(m.get("key-number-1-with-a-long-name")).containsExactly(1);
      assertThat(m.get("key-number-3-with-a-long-name")).containsExactly(3);
      assertThat(m.get("key-number-2-with-a-long-name")).isNull();
    }
  }

  @Test
  void aRandomHistoryWithReopensMatchesAPlainMap() {
    SplittableRandom random = new SplittableRandom(42);
    Map<String, byte[]> expected = new HashMap<>();
    for (int round = 0; round < 12; round++) {
      try (SpillMap<String, byte[]> m = map(b -> b.persistence(b.build().persistence().withSegmentSize(1 << 20)
          .withCheckpointInterval(1 << 20)))) {
        assertSameContents(m, expected);
        for (int op = 0; op < 3000; op++) {
          String key = (random.nextBoolean() ? "k" : "a-long-key-for-the-block/") + random.nextInt(400);
          switch (random.nextInt(10)) {
            case 0, 1 -> assertThat(m.remove(key)).isEqualTo(expected.remove(key));
            case 2 -> m.demote(random.nextInt(1 << 20));
            case 3 -> {
              if (random.nextInt(20) == 0) {
                log(m).checkpoint(((OffHeapSpillMap<String, byte[]>) m).durabilityForTests());
              } else if (random.nextInt(10) == 0) {
                log(m).compactIfNeeded(((OffHeapSpillMap<String, byte[]>) m).durabilityForTests());
              }
            }
            default -> {
              byte[] v = value(random.nextLong(), random.nextInt(6000));
              assertThat(m.put(key, v)).isEqualTo(expected.put(key, v));
            }
          }
        }
        assertSameContents(m, expected);
      } catch (IOException e) {
        throw new AssertionError(e);
      }
    }
  }

  @Test
  void aRandomHistoryWithCrashesMatchesAPlainMap() throws IOException, InterruptedException {
    SplittableRandom random = new SplittableRandom(4242);
    Map<String, byte[]> expected = new HashMap<>();
    for (int round = 0; round < 12; round++) {
      SpillMap<String, byte[]> m = map(b -> b.persistence(b.build().persistence().withSegmentSize(1 << 20)
          .withCheckpointInterval(1 << 20).withDurability(Durability.NONE)));
      assertSameContents(m, expected);
      OffHeapSpillMap<String, byte[]> map = (OffHeapSpillMap<String, byte[]>) m;
      int ops = 200 + random.nextInt(3000);
      java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
      java.util.concurrent.atomic.AtomicReference<Throwable> maintenanceFailure = new java.util.concurrent.atomic.AtomicReference<>();
      Thread maintenance = Thread.ofPlatform().start(() -> {
        try {
          while (!stop.get()) {
            log(m).compactIfNeeded(map.durabilityForTests());
            log(m).checkpoint(map.durabilityForTests());
            java.util.concurrent.locks.LockSupport.parkNanos(2_000_000); // let the writer run between rounds
          }
        } catch (Throwable t) {
          if (!stop.get()) {
            maintenanceFailure.set(t);
          }
        }
      });
      for (int op = 0; op < ops; op++) {
        String key = (random.nextBoolean() ? "k" : "a-long-key-for-the-block/") + random.nextInt(400);
        switch (random.nextInt(12)) {
          case 0, 1 -> assertThat(m.remove(key)).isEqualTo(expected.remove(key));
          case 2 -> m.demote(random.nextInt(1 << 20));
          case 3 -> log(m).checkpoint(map.durabilityForTests());
          case 4 -> log(m).compactIfNeeded(map.durabilityForTests());
          default -> {
            byte[] v = value(random.nextLong(), random.nextInt(4000));
            assertThat(m.put(key, v)).isEqualTo(expected.put(key, v));
          }
        }
      }
      stop.set(true);
      maintenance.join();
      assertThat(maintenanceFailure.get()).isNull();
      map.crashForTests();
    }
    try (SpillMap<String, byte[]> m = map()) {
      assertSameContents(m, expected);
    }
  }

  @Test
  void compactionKeepsTheFilesUnderTwiceTheLiveBytesUnderChurnAndLosesNothing() throws IOException {
    Map<String, byte[]> expected = new HashMap<>();
    SplittableRandom random = new SplittableRandom(7);
    long maxRatioTimesHundred = 0;
    try (SpillMap<String, byte[]> m = map(b -> b.persistence(b.build().persistence().withSegmentSize(1 << 20)
        .withCheckpointInterval(1 << 20)))) {
      MapLog log = log(m);
      for (int i = 0; i < 40_000; i++) {
        String key = "key-" + random.nextInt(1000);
        byte[] v = value(i, 1000 + random.nextInt(2000));
        m.put(key, v);
        expected.put(key, v);
        if (i % 500 == 499) {
          log.compactIfNeeded(((OffHeapSpillMap<String, byte[]>) m).durabilityForTests());
          maxRatioTimesHundred = Math.max(maxRatioTimesHundred, 100 * log.diskBytes() / log.liveBytes());
        }
      }
      assertThat(log.diskBytes()).as("files after churn of ~80 MiB over ~2 MiB live").isLessThan(2 * log.liveBytes()
          + 2L * (1 << 20));
      assertSameContents(m, expected);
    }
    try (SpillMap<String, byte[]> m = map()) {
      assertSameContents(m, expected);
    }
    assertThat(maxRatioTimesHundred).as("disk / live, x100, right after each compaction check").isLessThan(300);
  }

  @Test
  void aTornTailIsCutOffAndEverythingBeforeItComesBack() throws IOException {
    try (SpillMap<String, byte[]> m = map(b -> b.persistence(b.build().persistence().withDurability(Durability.NONE)))) {
      m.put("a", value(1, 100));
      m.put("b", value(2, 100));
    }
    Path newest = segments().getLast();
    long size = Files.size(newest);
    try (FileChannel ch = FileChannel.open(newest, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap("SPWR half a record".getBytes(StandardCharsets.US_ASCII)), size);
    }
    try (SpillMap<String, byte[]> m = map()) {
      assertThat(log(m).recoveryReport().notes()).anyMatch(n -> n.contains("torn tail"));
      assertThat(m.get("a")).isEqualTo(value(1, 100));
      assertThat(m.get("b")).isEqualTo(value(2, 100));
      m.put("c", value(3, 10));
    }
    assertThat(Files.size(newest)).isGreaterThan(size);
    try (SpillMap<String, byte[]> m = map()) {
      assertThat(m.get("c")).isEqualTo(value(3, 10));
      assertThat(m.size()).isEqualTo(3);
    }
  }

  @Test
  void aHalfWrittenOrDamagedCheckpointIsPassedOverAndTheLogGivesTheStateBack() throws IOException {
    Map<String, byte[]> expected = new HashMap<>();
    try (SpillMap<String, byte[]> m = map()) {
      for (int i = 0; i < 50; i++) {
        m.put("k" + i, value(i, 500));
        expected.put("k" + i, value(i, 500));
      }
    }
    Path checkpoint = checkpoints().getLast();
    try (FileChannel ch = FileChannel.open(checkpoint, StandardOpenOption.WRITE)) {
      ch.truncate(ch.size() / 2);
    }
    Files.writeString(dir.resolve(checkpoint.getFileName() + ".tmp"), "left by a crash mid-write");
    try (SpillMap<String, byte[]> m = map()) {
      MapLogRecovery.Report r = log(m).recoveryReport();
      assertThat(r.notes()).anyMatch(n -> n.contains("damaged checkpoint")).anyMatch(n -> n.contains(".tmp"));
      assertSameContents(m, expected);
    }
    // Flip a byte inside the entries of the new checkpoint: its CRC catches it.
    Path newest = checkpoints().getLast();
    try (FileChannel ch = FileChannel.open(newest, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer one = ByteBuffer.allocate(1);
      ch.read(one, 100);
      one.put(0, (byte) (one.get(0) ^ 0x40)).rewind();
      ch.write(one, 100);
    }
    try (SpillMap<String, byte[]> m = map()) {
      assertThat(log(m).recoveryReport().notes()).anyMatch(n -> n.contains("checksum"));
      assertSameContents(m, expected);
    }
  }

  @Test
  void aForeignFileANewerVersionAndASpillLogEachFailTheOpenNamingTheFile() throws IOException {
    try (SpillMap<String, byte[]> m = map()) {
      m.put("a", value(1, 10));
    }
    Path foreign = dir.resolve("notes.txt");
    Files.writeString(foreign, "mine");
    assertThatThrownBy(this::map).hasMessageContaining("notes.txt").hasMessageContaining("not a file of a Spillway map");
    Files.delete(foreign);

    Path segment = segments().getFirst();
    byte[] original = Files.readAllBytes(segment);
    byte[] newer = original.clone();
    ByteBuffer header = ByteBuffer.wrap(newer).order(java.nio.ByteOrder.LITTLE_ENDIAN).putShort(4, (short) 9);
    java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
    crc.update(newer, 0, 28);
    header.putInt(28, (int) crc.getValue()); // a header as a newer release would write it
    Files.write(segment, newer);
    assertThatThrownBy(this::map).hasMessageContaining(segment.getFileName().toString())
        .hasMessageContaining("version 9");
    Files.write(segment, original);
    try (SpillMap<String, byte[]> m = map()) {
      assertThat(m.get("a")).as("nothing was changed by the failed opens").isEqualTo(value(1, 10));
    }
  }

  @Test
  void aDamagedRecordIsNeverReturnedAsData() throws IOException {
    try (SpillMap<String, byte[]> m = map(b -> b.persistence(b.build().persistence().withCodec("raw")))) {
      m.put("victim", value(9, 2000));
      m.put("other", value(8, 10));
    }
    Path segment = segments().getFirst();
    try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer one = ByteBuffer.allocate(1);
      ch.read(one, 32 + 48 + 8 + 6 + 500); // inside the first record's value
      one.put(0, (byte) (one.get(0) ^ 1)).rewind();
      ch.write(one, 32 + 48 + 8 + 6 + 500);
    }
    try (SpillMap<String, byte[]> m = map()) {
      assertThatThrownBy(() -> m.get("victim")).hasMessageContaining("checksum").hasMessageContaining("victim")
          .satisfies(e -> assertThat(e).isInstanceOf(java.io.UncheckedIOException.class));
      assertThat(m.get("other")).isEqualTo(value(8, 10));
    }
  }

  @Test
  void eachCodecStoresAndGivesBackTheSameBytes() {
    for (String codec : List.of("raw", "lz4", "zstd")) {
      byte[] text = ("a line of text that repeats, " + codec + "\n").repeat(200).getBytes(StandardCharsets.UTF_8);
      try (SpillMap<String, byte[]> m = map(b -> b.persistence(b.build().persistence().withCodec(codec)))) {
        long before = log(m).diskBytes();
        m.put("text-" + codec, text);
        m.put("noise-" + codec, value(3, 5000));
        long grown = log(m).diskBytes() - before;
        if (codec.equals("raw")) {
          assertThat(grown).isGreaterThanOrEqualTo(text.length + 5000L);
        } else {
          assertThat(grown).as("%s compresses the text, and stores the noise raw", codec)
              .isLessThan(text.length / 4 + 5000L + 400);
        }
      }
      try (SpillMap<String, byte[]> m = map()) {
        assertThat(m.get("text-" + codec)).isEqualTo(text);
        assertThat(m.get("noise-" + codec)).isEqualTo(value(3, 5000));
      }
    }
  }

  @Test
  void durabilityAlwaysForcesBeforeThePutReturns() {
    try (SpillMap<String, byte[]> m = map(b -> b.persistence(b.build().persistence().withDurability(Durability.ALWAYS)))) {
      m.put("a", value(1, 10));
      assertThat(log(m).isDirtyForTests()).as("forced before put returned").isFalse();
    }
  }

  @Test
  void aSnapshotTakenWhileWritesGoOnOpensReadOnlyVerifiesAndRestores(@TempDir Path snapshots) throws Exception {
    Path snap = snapshots.resolve("snap");
    try (SpillMap<String, byte[]> m = map(b -> b.persistence(b.build().persistence().withSegmentSize(1 << 20)))) {
      for (int i = 0; i < 1200; i++) {
        m.put("key-" + i, value(i, 1500));
      }
      // A writer runs while the snapshot is taken: the snapshot is some prefix of its writes, whole.
      java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
      java.util.concurrent.atomic.AtomicInteger written = new java.util.concurrent.atomic.AtomicInteger();
      Thread writer = Thread.ofPlatform().start(() -> {
        for (int i = 0; !stop.get(); i++) {
          m.put("late-" + i, value(100_000 + i, 700));
          written.set(i + 1);
        }
      });
      await(() -> written.get() > 100);
      SnapshotInfo info = m.snapshot(snap);
      stop.set(true);
      writer.join();
      assertThat(info.linked()).as("sealed segments hard-linked").isPositive();
      assertThat(info.files()).isEqualTo(info.linked() + 2); // + the copied active segment and the checkpoint
      m.put("after", value(7, 10));
    }
    assertThat(dev.spillway.core.tier.MapSnapshot.verify(snap)).isEmpty();
    int late;
    try (SpillMap<String, byte[]> ro = SpillMaps.builder(memory, "durable", String.class, byte[].class)
        .settings(MapSettings.builder("durable").durable(snap).segments(4).build().withPersistence(
            MapSettings.builder("durable").durable(snap).build().persistence().asReadOnly())).build()) {
      for (int i = 0; i < 1200; i++) {
        assertThat(ro.get("key-" + i)).isEqualTo(value(i, 1500));
      }
      assertThat(ro.get("after")).as("written after the snapshot").isNull();
      late = 0;
      while (ro.containsKey("late-" + late)) {
        assertThat(ro.get("late-" + late)).isEqualTo(value(100_000 + late, 700));
        late++;
      }
      assertThat(ro.size()).as("a prefix of the late writes, no gap").isEqualTo(1200 + late);
      assertThatThrownBy(() -> ro.put("x", new byte[1])).isInstanceOf(UnsupportedOperationException.class)
          .hasMessageContaining("read-only");
      assertThat(ro.get("x")).isNull();
    }
    assertThat(dev.spillway.core.tier.MapSnapshot.verify(snap)).as("reading changed nothing").isEmpty();

    // Tampering: one byte of a segment, then the manifest itself.
    Path segment;
    try (Stream<Path> files = Files.list(snap)) {
      segment = files.filter(p -> p.toString().endsWith(".spm")).sorted().toList().getLast();
    }
    byte[] original = Files.readAllBytes(segment);
    byte[] changed = original.clone();
    changed[changed.length / 2] ^= 1;
    Files.write(segment, changed);
    assertThat(SpillMaps.verifySnapshot(snap)).singleElement().asString()
        .contains(segment.getFileName().toString()).contains("SHA-256");
    Path restored = snapshots.resolve("restored");
    assertThatThrownBy(() -> SpillMaps.restoreSnapshot(snap, restored))
        .isInstanceOf(java.io.UncheckedIOException.class)
        .hasMessageContaining("fails its manifest").hasMessageContaining(segment.getFileName().toString());
    assertThat(restored).doesNotExist();
    Files.write(segment, original);
    String manifest = Files.readString(snap.resolve("MANIFEST"));
    Files.writeString(snap.resolve("MANIFEST"), manifest.replaceFirst("map durable", "map other"));
    assertThat(dev.spillway.core.tier.MapSnapshot.verify(snap)).singleElement().asString()
        .contains("manifest was changed");
    Files.writeString(snap.resolve("MANIFEST"), manifest);

    SpillMaps.restoreSnapshot(snap, restored);
    try (SpillMap<String, byte[]> back = SpillMaps.builder(memory, "durable", String.class, byte[].class)
        .settings(MapSettings.builder("durable").durable(restored).segments(4).build()).build()) {
      assertThat(back.size()).isEqualTo(1200 + late);
      assertThat(back.get("key-7")).isEqualTo(value(7, 1500));
      back.put("new", value(1, 1));
    }
    assertThat(dev.spillway.core.tier.MapSnapshot.verify(snap)).as("the restored copy shares nothing").isEmpty();
  }

  @Test
  void aMapThatIsNotDurableHasNoSnapshot() {
    try (SpillMap<String, byte[]> m = SpillMaps.builder(memory, "plain", String.class, byte[].class).build()) {
      assertThatThrownBy(() -> m.snapshot(dir.resolve("s"))).isInstanceOf(UnsupportedOperationException.class)
          .hasMessageContaining("not durable");
      m.sync(); // nothing to force
    }
  }

  private static void await(java.util.function.BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("condition not met in 30 s");
      }
      Thread.sleep(1);
    }
  }

  private List<Path> segments() throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.getFileName().toString().endsWith(".spm")).sorted().toList();
    }
  }

  private List<Path> checkpoints() throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.getFileName().toString().endsWith(".spi")).sorted().toList();
    }
  }
}
