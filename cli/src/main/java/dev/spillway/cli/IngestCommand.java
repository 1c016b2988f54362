package dev.spillway.cli;

import akka.stream.IOResult;
import akka.stream.javadsl.FileIO;
import akka.stream.javadsl.Keep;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import akka.stream.javadsl.StreamConverters;
import akka.util.ByteString;
import com.typesafe.config.ConfigFactory;
import dev.spillway.actors.Spillway;
import dev.spillway.config.Sizes;
import dev.spillway.streams.bulk.IngestSummary;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.zip.CRC32C;

/**
 * {@code ingest <file|->}: stores a file (or standard input) as 64 KiB blocks through the streams API
 * under a memory budget (what does not fit in RAM spills as it goes), then reads every block back in
 * order and checks the CRC32C of what came back against the CRC32C of what went in.
 */
final class IngestCommand {
  static final int CHUNK = 64 << 10;

  private final PrintStream out;
  private final Supplier<InputStream> stdin;

  IngestCommand(PrintStream out, Supplier<InputStream> stdin) {
    this.out = out;
    this.stdin = stdin;
  }

  /** Returns the exit code: 0 when the checksums match, 1 otherwise or on an error (printed). */
  int run(String source) throws Exception {
    Source<ByteString, CompletionStage<IOResult>> input;
    if (source.equals("-")) {
      input = StreamConverters.fromInputStream(stdin::get, CHUNK);
    } else {
      Path file = Path.of(source);
      if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
        throw new CommandException("ingest: " + file.toAbsolutePath() + " is not a readable file"
            + (Files.exists(file) ? "" : " (it does not exist)"));
      }
      input = FileIO.fromPath(file, CHUNK);
    }
    long start = System.nanoTime();
    try (Spillway spillway = Spillway.create(ConfigFactory.parseString(
        "spillway { control.budget = 64 MiB, streams.ingest-resident-bytes = 16 MiB }"))) {
      CRC32C in = new CRC32C();
      IngestSummary summary = input
          .map(chunk -> {
            in.update(chunk.toArrayUnsafe());
            return chunk;
          })
          .toMat(spillway.ingestSink(), Keep.right())
          .run(spillwaySystem(spillway))
          .toCompletableFuture().get(1, TimeUnit.HOURS);
      CRC32C back = new CRC32C();
      spillway.export(summary.handles()).runWith(Sink.foreach(b -> back.update(b.toArrayUnsafe())),
          spillwaySystem(spillway)).toCompletableFuture().get(1, TimeUnit.HOURS);
      var spill = spillway.memory().stats().spill();
      for (long h : summary.handles()) {
        spillway.memory().free(h);
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      out.printf("ingested %s: %d blocks, %s in %.2f s (%.0f MiB/s); %d blocks spilled on the way (%s stored)%n",
          source.equals("-") ? "standard input" : source, summary.blocks(), Sizes.format(summary.bytes()), seconds,
          summary.bytes() / (double) (1 << 20) / seconds, spill.spills(), Sizes.format(spill.storedBytesWritten()));
      boolean ok = in.getValue() == back.getValue();
      out.printf("CRC32C in %08x, read back %08x: %s%n", in.getValue(), back.getValue(), ok ? "OK" : "MISMATCH");
      return ok ? 0 : 1;
    }
  }

  private static akka.actor.ClassicActorSystemProvider spillwaySystem(Spillway spillway) {
    return spillway.system();
  }
}
