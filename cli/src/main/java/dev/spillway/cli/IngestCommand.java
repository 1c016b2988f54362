package dev.spillway.cli;

import akka.stream.IOResult;
import akka.stream.javadsl.FileIO;
import akka.stream.javadsl.Keep;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import akka.stream.javadsl.StreamConverters;
import akka.util.ByteString;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigOrigin;
import com.typesafe.config.ConfigValueFactory;
import dev.spillway.Spillway;
import dev.spillway.config.Sizes;
import dev.spillway.memory.SpillStats;
import dev.spillway.streams.bulk.IngestSummary;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * {@code ingest}: stores a file (or standard input) as 64 KiB blocks through the streams API under the
 * memory budget of the user's configuration (what does not fit in RAM spills as it goes), then reads
 * every block back in order and compares a digest of what came back with a digest of what went in. It
 * prints the budget and the tier directory it used, and can print the SHA-256 of both sides (to
 * compare with {@code sha256sum}) or write what it read back to a file, so the round trip can be
 * checked with the user's own tools.
 */
final class IngestCommand {
  static final int CHUNK = 64 << 10;

  static final String HELP = """
      usage: spillway ingest [options] <file|->
             spillway ingest <file|dir|-> --into <dir> [--budget SIZE] [--codec raw|lz4|zstd] [--key NAME]
        With --into: stores a file, a whole tree or standard input (under --key, default "stdin") in the
        durable map in <dir> through the streams API, with a progress line: each path relative to the
        tree is a key, links are stored as links (never followed), modes are kept, files over 1 MiB go in
        chunks; everything is on the device when it ends. spillway ls / export / snapshot read it back.
        Without --into: stores a file (- for standard input) as 64 KiB blocks through the streams API
        under the memory budget (what does not fit in RAM spills to the tier as it goes), reads every
        block back in order and checks that the bytes are the ones stored. Exit 0 when they are, 1
        otherwise.
        Settings come from the usual places: application.conf, -Dconfig.file=..., -Dspillway.<key>=...
      options:
        --budget SIZE     memory budget, e.g. 64MiB or 2GiB (sets spillway.control.budget)
        --tier DIR        keep the tier in DIR (sets spillway.tier.directories = [DIR]); its segment files
                          stay after the command, for `spillway inspect DIR`, until the next start there
        --verify ALGO     crc32c (default) or sha256: the digest compared, and printed as `sha256sum` does
        --out FILE        also write what was read back to FILE (- for standard output; the report then
                          goes to standard error)
        --into DIR        store durably in the map in DIR instead (see above)
        --key NAME        with --into and -: the key standard input goes under (default stdin)
        --codec C         with --into: raw, lz4 or zstd for the records written (default: the map's)
        -h, --help        this text""";

  private final PrintStream out;
  private final PrintStream err;
  private final Supplier<InputStream> stdin;

  private final boolean terminal;

  IngestCommand(PrintStream out, PrintStream err, Supplier<InputStream> stdin) {
    this(out, err, stdin, false);
  }

  IngestCommand(PrintStream out, PrintStream err, Supplier<InputStream> stdin, boolean terminal) {
    this.out = out;
    this.err = err;
    this.stdin = stdin;
    this.terminal = terminal;
  }

  /** Returns the exit code: 0 when what was read back equals what went in, 1 otherwise. */
  int run(String[] words) throws Exception {
    Options o = Options.parse("ingest", words, Set.of("--budget", "--tier", "--verify", "--out", "--into", "--key",
        "--codec"), Set.of());
    if (o.has("--help")) {
      out.println(HELP);
      return 0;
    }
    if (o.has("--into")) {
      if (o.arguments().size() != 1) {
        throw new Options.UsageException("ingest --into takes one file, directory or - (standard input), got "
            + (o.arguments().isEmpty() ? "none" : String.join(" ", o.arguments())));
      }
      if (o.has("--tier") || o.has("--verify") || o.has("--out")) {
        throw new Options.UsageException("ingest --into stores durably; --tier, --verify and --out belong to the"
            + " round trip without it (spillway export gives the tree back)");
      }
      return new TreeIngest(out, err, stdin, terminal).run(o);
    }
    if (o.has("--key") || o.has("--codec")) {
      throw new Options.UsageException("ingest: --key and --codec go with --into DIR");
    }
    if (o.arguments().size() != 1) {
      throw new Options.UsageException("ingest takes one file (or - for standard input), got "
          + (o.arguments().isEmpty() ? "none" : String.join(" ", o.arguments())));
    }
    String source = o.arguments().getFirst();
    String algorithm = o.value("--verify", "crc32c").toLowerCase(Locale.ROOT);
    if (!algorithm.equals("crc32c") && !algorithm.equals("sha256")) {
      throw new Options.UsageException("ingest: --verify " + o.value("--verify", "") + " is not known: allowed crc32c,"
          + " sha256");
    }
    String outTarget = o.value("--out", null);
    PrintStream report = "-".equals(outTarget) ? err : out; // standard output carries the data then
    Source<ByteString, CompletionStage<IOResult>> input = input(source);
    Config overrides = overrides(o);
    Config effective = overrides.withFallback(ConfigFactory.load());

    long start = System.nanoTime();
    try (Spillway spillway = Spillway.create(overrides)) {
      report.printf("ingest: budget %s (%s), tier %s%n", Sizes.format(spillway.memory().control().budgetBytes()),
          budgetSource(o, effective), tierDescription(spillway, o));
      Digest in = Digest.of(algorithm);
      IngestSummary summary = input
          .map(chunk -> {
            in.update(chunk);
            return chunk;
          })
          .toMat(spillway.ingestSink(), Keep.right())
          .run(spillway.system())
          .toCompletableFuture().get(1, TimeUnit.DAYS);
      double storedSeconds = (System.nanoTime() - start) / 1e9;
      SpillStats spill = spillway.memory().stats().spill();
      report.printf(Locale.ROOT, "stored %s: %d blocks, %s in %.2f s (%.0f MiB/s); %d blocks spilled on the way"
              + " (%s stored)%n", source.equals("-") ? "standard input" : source, summary.blocks(),
          Sizes.format(summary.bytes()), storedSeconds, summary.bytes() / (double) (1 << 20) / storedSeconds,
          spill.spills(), Sizes.format(spill.storedBytesWritten()));

      long readStart = System.nanoTime();
      Digest back = Digest.of(algorithm);
      Source<ByteString, ?> readBack = spillway.export(summary.handles()).map(chunk -> {
        back.update(chunk);
        return chunk;
      });
      if (outTarget == null) {
        readBack.runWith(Sink.ignore(), spillway.system()).toCompletableFuture().get(1, TimeUnit.DAYS);
      } else if (outTarget.equals("-")) {
        OutputStream stdout = out;
        readBack.runWith(StreamConverters.fromOutputStream(() -> stdout, /* autoFlush= */ false), spillway.system())
            .toCompletableFuture().get(1, TimeUnit.DAYS);
        out.flush();
      } else {
        readBack.runWith(FileIO.toPath(Path.of(outTarget)), spillway.system()).toCompletableFuture()
            .get(1, TimeUnit.DAYS);
      }
      double readSeconds = (System.nanoTime() - readStart) / 1e9;
      for (long h : summary.handles()) {
        spillway.memory().free(h);
      }
      report.printf(Locale.ROOT, "read back %s in %.2f s (%.0f MiB/s)%s%n", Sizes.format(summary.bytes()), readSeconds,
          summary.bytes() / (double) (1 << 20) / readSeconds,
          outTarget == null ? "" : outTarget.equals("-") ? " to standard output" : " into " + outTarget);
      String name = source.equals("-") ? "-" : source;
      boolean ok = in.hex().equals(back.hex());
      if (algorithm.equals("sha256")) {
        report.printf("%s  %s%n", in.hex(), name); // as sha256sum prints it
        report.printf("%s  (read back): %s%n", back.hex(), ok ? "OK" : "MISMATCH");
      } else {
        report.printf("CRC32C in %s, read back %s: %s%n", in.hex(), back.hex(), ok ? "OK" : "MISMATCH");
      }
      return ok ? 0 : 1;
    }
  }

  private Source<ByteString, CompletionStage<IOResult>> input(String source) throws CommandException {
    if (source.equals("-")) {
      return StreamConverters.fromInputStream(stdin::get, CHUNK);
    }
    Path file = Path.of(source);
    if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
      throw new CommandException("ingest: " + file.toAbsolutePath() + " is not a readable file"
          + (Files.exists(file) ? "" : " (it does not exist)"));
    }
    return FileIO.fromPath(file, CHUNK);
  }

  /** The settings the options stand for, over everything else. */
  private static Config overrides(Options o) throws CommandException {
    Config c = ConfigFactory.empty();
    if (o.has("--budget")) {
      c = c.withValue("spillway.control.budget", ConfigValueFactory.fromAnyRef(o.value("--budget", ""), "--budget"));
    }
    if (o.has("--tier")) {
      Path dir = Path.of(o.value("--tier", "")).toAbsolutePath().normalize();
      c = c.withValue("spillway.tier.directories", ConfigValueFactory.fromIterable(List.of(dir.toString()), "--tier"));
    }
    return c;
  }

  private static String budgetSource(Options o, Config effective) {
    if (o.has("--budget")) {
      return "--budget";
    }
    String value = effective.getValue("spillway.control.budget").unwrapped().toString();
    ConfigOrigin origin = effective.getValue("spillway.control.budget").origin();
    String where = origin.filename() != null && !origin.filename().endsWith("reference.conf")
        ? origin.filename() + ":" + origin.lineNumber()
        : origin.resource() != null && origin.resource().endsWith("reference.conf") ? "the default"
            : origin.description();
    return "spillway.control.budget = " + value + ", " + where
        + ("auto".equals(value) ? "; --budget sets another" : "");
  }

  private static String tierDescription(Spillway spillway, Options o) {
    String dirs = String.join(", ", spillway.tierDirectories().stream().map(Path::toString).toList());
    return spillway.settings().tier().isPrivate() ? dirs + " (private: deleted when this command ends)"
        : dirs + (o.has("--tier") ? " (kept: `spillway inspect " + dirs + "` reads it)" : "");
  }

  /** CRC32C or SHA-256 over a stream of chunks. */
  private interface Digest {
    void update(ByteString chunk);

    String hex();

    static Digest of(String algorithm) throws java.security.NoSuchAlgorithmException {
      if (algorithm.equals("sha256")) {
        java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
        return new Digest() {
          private String hex;

          @Override
          public void update(ByteString chunk) {
            sha.update(chunk.asByteBuffer());
          }

          @Override
          public String hex() {
            if (hex == null) {
              hex = HexFormat.of().formatHex(sha.digest());
            }
            return hex;
          }
        };
      }
      java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
      return new Digest() {
        @Override
        public void update(ByteString chunk) {
          crc.update(chunk.asByteBuffer());
        }

        @Override
        public String hex() {
          return String.format("%08x", crc.getValue());
        }
      };
    }
  }
}
