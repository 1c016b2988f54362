package dev.spillway.streams.bulk;

import static org.assertj.core.api.Assertions.assertThat;

import akka.stream.javadsl.Keep;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import akka.stream.testkit.TestSubscriber;
import akka.stream.testkit.javadsl.TestSink;
import akka.util.ByteString;
import dev.spillway.config.SpillwaySettings;
import dev.spillway.codec.Codecs;
import dev.spillway.codec.KryoCodec;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.memory.InvalidHandleException;
import dev.spillway.streams.StreamsTestBase;
import dev.spillway.streams.spill.SpillPipeline;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

/**
 * Bulk ingestion (4× the RAM budget, byte-exact), the ingestion summary and its failures, objects
 * through Kryo, export in order without restoring, and prefetch.
 */
class BulkStreamsTest extends StreamsTestBase {

  /** A registered Kryo type for the object flows. */
  public record Reading(long sensor, double value, String unit) {}

  private static List<ByteString> chunks(int count, int maxSize, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    List<ByteString> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      out.add(ByteString.fromArrayUnsafe(pattern(seed * 1_000_003 + i, 1 + r.nextInt(maxSize), r.nextBoolean())));
    }
    return out;
  }

  private static long crcOf(List<ByteString> chunks) {
    CRC32C crc = new CRC32C();
    chunks.forEach(c -> crc.update(c.toArrayUnsafe()));
    return crc.getValue();
  }

  @Test
  void ingestingFourTimesTheBudgetSpillsAsItGoesAndEverythingReadsBackByteExact() throws Exception {
    // Budget 1 MiB; about 4 MiB of chunks of 1 B to 16 KiB, half of them compressible.
    SpillwaySettings s = settings(tmp, "tier.durability = none, streams.ingest-resident-bytes = 1 MiB,"
        + " spill.pipeline.queue-size = 64");
    BlockAllocator a = allocator(s);
    SpillPipeline pipeline = closeAfter(SpillPipeline.start(a, s.spill(), system()));
    List<ByteString> input = chunks(512, 16 << 10, 7);
    long total = input.stream().mapToLong(ByteString::size).sum();
    assertThat(total).as("about 4× the budget").isGreaterThan((4L << 20) - (256 << 10));
    AtomicLong maxInRam = new AtomicLong();
    IngestSummary summary = await(Source.from(input)
        .via(Ingest.flow(a, pipeline, s.streams()))
        .map(h -> {
          maxInRam.accumulateAndGet(a.stats().requestedBytes(), Math::max);
          return h;
        })
        .runWith(Sink.seq(), system())
        .thenApply(handles -> new IngestSummary(handles.size(), 0,
            handles.stream().mapToLong(Long::longValue).toArray())));
    assertThat(summary.blocks()).isEqualTo(512);
    assertThat(maxInRam.get()).as("bytes in RAM stay within the budget plus one chunk")
        .isLessThanOrEqualTo((1L << 20) + (16 << 10));
    assertThat(a.stats().spill().spilledBlocks()).as("most of it went to the tier").isGreaterThan(300);
    long restoresBefore = a.stats().spill().restores();
    List<ByteString> back = await(Export.source(a, summary.handles(), s.streams(), system())
        .runWith(Sink.seq(), system()));
    assertThat(back).hasSize(512);
    assertThat(crcOf(back)).isEqualTo(crcOf(input));
    for (int i = 0; i < 512; i++) {
      assertThat(back.get(i)).as("element %d", i).isEqualTo(input.get(i));
    }
    assertThat(a.stats().spill().restores()).as("export reads records without restoring")
        .isEqualTo(restoresBefore);
    for (long h : summary.handles()) {
      a.free(h);
    }
  }

  @Test
  void aPoolSmallerThanTheBudgetIsMadeRoomForBySpilling() throws Exception {
    // The 4 KiB pool holds 64 blocks (256 KiB) but the ingestion budget is 1 MiB: every allocation past
    // the pool's limit has to spill the ingestion's own older blocks first.
    SpillwaySettings s = settings(tmp, "tier.durability = none, streams.ingest-resident-bytes = 1 MiB,"
        + " memory { small-slab-size = 64 KiB, pools.classes { \"4KiB\" { max-blocks = 64 } } }");
    BlockAllocator a = allocator(s);
    SpillPipeline pipeline = closeAfter(SpillPipeline.start(a, s.spill(), system()));
    List<ByteString> input = new ArrayList<>();
    for (int i = 0; i < 400; i++) {
      input.add(ByteString.fromArrayUnsafe(pattern(i, 4096, false)));
    }
    IngestSummary summary = await(Source.from(input).runWith(Ingest.sink(a, pipeline, s.streams()), system()));
    assertThat(summary.blocks()).isEqualTo(400);
    assertThat(summary.bytes()).isEqualTo(400 * 4096L);
    assertThat(a.stats().pool("4KiB").blocksInUse()).isLessThanOrEqualTo(64);
    List<ByteString> back = await(Export.source(a, summary.handles(), s.streams(), system()).runWith(Sink.seq(),
        system()));
    assertThat(back).isEqualTo(input);
    for (long h : summary.handles()) {
      a.free(h);
    }
  }

  @Test
  void anOversizeOrEmptyChunkFailsTheStreamAndKeepsWhatWasStored() throws Exception {
    SpillwaySettings s = settings(tmp, "memory.max-block-size = 64 KiB");
    BlockAllocator a = allocator(s);
    SpillPipeline pipeline = closeAfter(SpillPipeline.start(a, s.spill(), system()));
    List<ByteString> input = new ArrayList<>(chunks(3, 1000, 3));
    input.add(ByteString.fromArrayUnsafe(new byte[(64 << 10) + 1]));
    input.add(ByteString.fromArrayUnsafe(new byte[10]));
    try {
      await(Source.from(input).runWith(Ingest.sink(a, pipeline, s.streams()), system()));
      throw new AssertionError("expected the ingestion to fail");
    } catch (IngestFailedException e) {
      assertThat(e.getCause()).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("element 3 is a chunk of 65537 bytes: allowed 1 B to 65536 bytes")
          .hasMessageContaining("spillway.memory.max-block-size");
      IngestSummary stored = e.stored();
      assertThat(stored.blocks()).isEqualTo(3);
      assertThat(e).hasMessageContaining("stay valid");
      for (int i = 0; i < 3; i++) {
        byte[] got = new byte[input.get(i).size()];
        a.read(stored.handles()[i], 0, got, 0, got.length);
        assertThat(ByteString.fromArrayUnsafe(got)).isEqualTo(input.get(i));
        a.free(stored.handles()[i]);
      }
    }
    try {
      await(Source.single(ByteString.emptyByteString()).runWith(Ingest.sink(a, pipeline, s.streams()), system()));
      throw new AssertionError("expected the ingestion to fail");
    } catch (IngestFailedException e) {
      assertThat(e.getCause()).hasMessageContaining("element 0 is a chunk of 0 bytes: allowed 1 B");
      assertThat(e.stored().blocks()).isZero();
    }
  }

  @Test
  void aNullElementFailsTheStreamAndKeepsWhatWasStored() throws Exception {
    SpillwaySettings s = settings(tmp, "");
    BlockAllocator a = allocator(s);
    SpillPipeline pipeline = closeAfter(SpillPipeline.start(a, s.spill(), system()));
    List<ByteString> input = Arrays.asList(ByteString.fromString("first"), ByteString.fromString("second"), null);
    try {
      await(Source.from(input).runWith(Ingest.sink(a, pipeline, s.streams()), system()));
      throw new AssertionError("expected the ingestion to fail");
    } catch (IngestFailedException e) {
      assertThat(e.getCause()).isInstanceOf(NullPointerException.class);
      assertThat(e.stored().blocks()).isEqualTo(2);
      for (long h : e.stored().handles()) {
        assertThat(a.size(h)).isIn(5L, 6L);
        a.free(h);
      }
    }
  }

  @Test
  void objectsGoInThroughKryoAndComeBackInOrder() throws Exception {
    SpillwaySettings s = settings(tmp, "tier.durability = none");
    BlockAllocator a = allocator(s);
    SpillPipeline pipeline = closeAfter(SpillPipeline.start(a, s.spill(), system()));
    KryoCodec kryo = Codecs.builder(s.codec()).registerKryo(Reading.class).build().kryo();
    List<Reading> readings = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      readings.add(new Reading(i, i * 0.5, i % 2 == 0 ? "kPa" : "°C"));
    }
    IngestSummary summary = await(Source.from(readings).runWith(Ingest.objectSink(a, pipeline, s.streams(), kryo),
        system()));
    assertThat(summary.blocks()).isEqualTo(200);
    for (int i = 0; i < 200; i += 2) {
      assertThat(await(pipeline.spill(summary.handles()[i]))).isNotNull();
    }
    List<Reading> back = await(Export.objects(a, summary.handles(), s.streams(), system(), kryo, Reading.class)
        .runWith(Sink.seq(), system()));
    assertThat(back).isEqualTo(readings);
    for (long h : summary.handles()) {
      a.free(h);
    }
    KryoCodec unregistered = Codecs.from(s.codec()).kryo();
    try {
      await(Source.single(new Reading(1, 1, "x")).runWith(Ingest.objectSink(a, pipeline, s.streams(), unregistered),
          system()));
      throw new AssertionError("expected the ingestion to fail");
    } catch (IngestFailedException e) {
      assertThat(e.getCause().getMessage()).contains(Reading.class.getName());
      assertThat(e.stored().blocks()).isZero();
    }
  }

  @Test
  void exportFailsOnAHandleOfNoBlockAfterEmittingTheOnesBefore() throws Exception {
    SpillwaySettings s = settings(tmp, "");
    BlockAllocator a = allocator(s);
    long h = a.allocate(16);
    a.putLong(h, 0, 42);
    long gone = a.allocate(16);
    a.free(gone);
    TestSubscriber.Probe<ByteString> probe = Export.source(a, new long[] {h, gone}, s.streams(), system())
        .toMat(TestSink.create(system()), Keep.right()).run(system());
    probe.request(2);
    assertThat(probe.expectNext().size()).isEqualTo(16);
    assertThat(probe.expectError()).isInstanceOf(InvalidHandleException.class);
    a.free(h);
  }

  @Test
  void prefetchBringsSpilledBlocksBackAheadOfUseInOrder() throws Exception {
    SpillwaySettings s = settings(tmp, "tier.durability = none, streams.restore-parallelism = 3");
    BlockAllocator a = allocator(s);
    long[] h = new long[50];
    for (int i = 0; i < h.length; i++) {
      h[i] = a.allocate(3000);
      a.write(h[i], 0, pattern(i, 3000, true), 0, 3000);
    }
    a.control().spill(h, 0, h.length);
    List<Long> order = Arrays.stream(h).boxed().toList();
    List<Long> emitted = await(Source.from(order).via(Prefetch.flow(a, s.streams(), system()))
        .map(x -> {
          assertThat(a.isResident(x)).as("resident when emitted").isTrue();
          return x;
        })
        .runWith(Sink.seq(), system()));
    assertThat(emitted).isEqualTo(order);
    assertThat(a.stats().spill().restores()).isEqualTo(50);
    for (int i = 0; i < h.length; i++) {
      byte[] got = new byte[3000];
      a.read(h[i], 0, got, 0, 3000);
      assertThat(got).isEqualTo(pattern(i, 3000, true));
      a.free(h[i]);
    }
  }
}
