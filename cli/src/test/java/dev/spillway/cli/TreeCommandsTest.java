package dev.spillway.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code ingest --into}, {@code export}, {@code ls}, {@code snapshot} and {@code inspect} of a durable map, end to end. */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class TreeCommandsTest {
  @TempDir Path tmp;
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int run(String... args) {
    return run(new ByteArrayInputStream(new byte[0]), args);
  }

  private int run(InputStream stdin, String... args) {
    out.reset();
    err.reset();
    return Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), () -> stdin, false);
  }

  private String output() {
    return out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8);
  }

  /** Every path under {@code root}: a file's SHA-256 and mode, a link's target, a directory's mode. */
  private static Map<String, String> describe(Path root) throws IOException {
    Map<String, String> d = new TreeMap<>();
    try (Stream<Path> all = Files.walk(root)) {
      for (Path p : all.toList()) {
        if (p.equals(root)) {
          continue;
        }
        String key = root.relativize(p).toString();
        if (Files.isSymbolicLink(p)) {
          d.put(key, "link " + Files.readSymbolicLink(p));
        } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
          d.put(key, "dir " + PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS)));
        } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
          d.put(key, "file " + sha256(p) + " " + PosixFilePermissions.toString(Files.getPosixFilePermissions(p,
              LinkOption.NOFOLLOW_LINKS)));
        }
      }
    }
    return d;
  }

  private static String sha256(Path p) throws IOException {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      try (InputStream in = Files.newInputStream(p)) {
        byte[] b = new byte[1 << 16];
        for (int n; (n = in.read(b)) > 0; ) {
          md.update(b, 0, n);
        }
      }
      return HexFormat.of().formatHex(md.digest());
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  private static long bytesOf(Path root) throws IOException {
    try (Stream<Path> all = Files.walk(root)) {
      return all.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).mapToLong(p -> p.toFile().length()).sum();
    }
  }

  /** A tree with what a real one has: nested directories, a large (chunked) file, an empty file and directory, links, modes. */
  private Path syntheticTree() throws IOException {
    Path t = tmp.resolve("tree");
    Files.createDirectories(t.resolve("a/b/c"));
    Files.createDirectories(t.resolve("empty-dir"));
    SplittableRandom r = new SplittableRandom(1);
    byte[] big = new byte[(9 << 20) + 123]; // ten chunks, the last one short
    r.nextBytes(big);
    Files.write(t.resolve("a/big.bin"), big);
    Files.writeString(t.resolve("a/b/c/notes.txt"), "text ".repeat(10_000));
    Files.write(t.resolve("empty"), new byte[0]);
    Path tool = t.resolve("a/tool.sh");
    Files.writeString(tool, "#!/bin/sh\necho hi\n");
    Files.setPosixFilePermissions(tool, PosixFilePermissions.fromString("rwxr-x---"));
    Files.createSymbolicLink(t.resolve("a/b/link-to-notes"), Path.of("c/notes.txt"));
    Files.createSymbolicLink(t.resolve("outside"), Path.of("/etc/hostname")); // stored as a link, never followed
    return t;
  }

  @Test
  void aTreeComesBackByteForByteWithItsModesAndLinks() throws IOException {
    Path tree = syntheticTree();
    Path map = tmp.resolve("map");
    assertThat(run("ingest", tree.toString(), "--into", map.toString(), "--budget", "8MiB")).as(output()).isZero();
    assertThat(output()).contains("stored 4 files, 2 links, 4 directories").contains("durable");

    assertThat(run("ls", map.toString())).as(output()).isZero();
    assertThat(output()).contains("a/big.bin").contains("-rwx".isEmpty() ? "" : "0750").contains("l 0777")
        .contains("outside -> /etc/hostname").doesNotContain("\0");

    Path back = tmp.resolve("back");
    assertThat(run("export", map.toString(), "--to", back.toString())).as(output()).isZero();
    assertThat(describe(back)).isEqualTo(describe(tree));

    assertThat(run("export", map.toString(), "a/big.bin", "--to", tmp.resolve("one.bin").toString())).isZero();
    assertThat(sha256(tmp.resolve("one.bin"))).isEqualTo(sha256(tree.resolve("a/big.bin")));
    assertThat(run("export", map.toString(), "nope", "--to", "-")).isEqualTo(1);
    assertThat(output()).contains("no key \"nope\"");

    // inspect agrees with the map: one live entry per path and per chunk (9 MiB + 123 B: 10 chunks of 1 MiB).
    assertThat(run("inspect", map.toString())).as(output()).isZero();
    assertThat(output()).contains((describe(tree).size() + 10) + " live entries").contains("verdict: OK");
  }

  @Test
  void standardInputGoesUnderItsKeyAndComesBack() throws IOException {
    byte[] data = new byte[(5 << 20) + 7];
    new SplittableRandom(2).nextBytes(data);
    Path map = tmp.resolve("map");
    assertThat(run(new ByteArrayInputStream(data), "ingest", "-", "--into", map.toString(), "--key", "stream.bin",
        "--codec", "zstd")).as(output()).isZero();
    Path back = tmp.resolve("stream.bin");
    assertThat(run("export", map.toString(), "stream.bin", "--to", back.toString())).as(output()).isZero();
    assertThat(Files.size(back)).as(output()).isEqualTo(data.length);
    assertThat(Files.readAllBytes(back)).isEqualTo(data);
  }

  @Test
  void aRealTreeRoundTripsUnderAnEighthOfItsSizeInRam() throws IOException {
    Path doc = Path.of("/usr/share/doc");
    Path tree = Files.isDirectory(doc) && bytesOf(doc) > (16 << 20) ? doc : syntheticTree();
    long input = bytesOf(tree);
    String budget = Math.max(8, (input / 8) >> 20) + "MiB";
    Path map = tmp.resolve("map");
    assertThat(run("ingest", tree.toString(), "--into", map.toString(), "--budget", budget)).as(output()).isZero();
    System.out.println("real tree " + tree + ": " + input + " bytes, budget " + budget + ": " + output().trim());
    Path back = tmp.resolve("back");
    assertThat(run("export", map.toString(), "--to", back.toString(), "--budget", budget)).as(output()).isZero();
    Map<String, String> expected = describe(tree);
    Map<String, String> actual = describe(back);
    assertThat(actual.keySet()).isEqualTo(expected.keySet());
    for (Map.Entry<String, String> e : expected.entrySet()) {
      assertThat(actual.get(e.getKey())).as(e.getKey()).isEqualTo(e.getValue());
    }
  }

  @Test
  void aSnapshotIsVerifiedTamperingIsCaughtAndARestoreOpens() throws IOException {
    Path tree = syntheticTree();
    Path map = tmp.resolve("map");
    assertThat(run("ingest", tree.toString(), "--into", map.toString())).isZero();
    Path snap = tmp.resolve("snap");
    assertThat(run("snapshot", map.toString(), snap.toString())).as(output()).isZero();
    assertThat(output()).contains("MANIFEST");
    assertThat(run("inspect", "--verify", snap.toString())).as(output()).isZero();
    assertThat(output()).contains("every file's size and SHA-256 match");
    assertThat(run("ls", snap.toString())).as(output()).isZero();
    assertThat(output()).contains("(a snapshot)");

    Path segment;
    try (Stream<Path> s = Files.list(snap)) {
      segment = s.filter(p -> p.toString().endsWith(".spm")).sorted().toList().getFirst();
    }
    byte[] original = Files.readAllBytes(segment);
    byte[] changed = original.clone();
    changed[original.length - 10] ^= 0x20;
    Files.write(segment, changed);
    assertThat(run("inspect", "--verify", snap.toString())).isEqualTo(1);
    assertThat(output()).contains("DOES NOT MATCH").contains(segment.getFileName().toString()).contains("SHA-256");
    assertThat(run("snapshot", "--restore", snap.toString(), tmp.resolve("restored").toString())).isEqualTo(1);
    assertThat(output()).contains("fails its manifest");
    Files.write(segment, original);

    assertThat(run("snapshot", "--restore", snap.toString(), tmp.resolve("restored").toString())).as(output()).isZero();
    Path back = tmp.resolve("back");
    assertThat(run("export", tmp.resolve("restored").toString(), "--to", back.toString())).as(output()).isZero();
    assertThat(describe(back)).isEqualTo(describe(tree));
    assertThat(run("inspect", "--verify", map.toString())).as("a map directory has no manifest").isEqualTo(1);
  }

  @Test
  void keysThatClimbOutOfTheTargetAreRefusedAndNothingIsWrittenOutside() throws IOException {
    Path map = tmp.resolve("map");
    Path tree = tmp.resolve("small");
    Files.createDirectories(tree);
    Files.writeString(tree.resolve("ok.txt"), "fine");
    assertThat(run("ingest", tree.toString(), "--into", map.toString())).isZero();
    // Hostile keys written straight through the API, as a tampered or foreign map could hold them.
    try (var spillway = dev.spillway.Spillway.create(com.typesafe.config.ConfigFactory.empty())) {
      var settings = spillway.settings().mapSettings(MapDirectory.NAME);
      try (var m = spillway.map(MapDirectory.NAME, String.class, byte[].class,
          b -> b.settings(settings.withPersistence(settings.persistence().withDirectory(map))))) {
        byte[] v = new TreeEntry(TreeEntry.Kind.FILE, 0644, 4, 0, "evil".getBytes(StandardCharsets.UTF_8)).encode();
        m.put("../escaped.txt", v);
        m.put("/tmp/absolute.txt", v);
        m.put("a/../../up.txt", v);
      }
    }
    Path back = tmp.resolve("out/back");
    assertThat(run("export", map.toString(), "--to", back.toString())).isEqualTo(1);
    assertThat(output()).contains("refused key \"../escaped.txt\"").contains("refused key \"/tmp/absolute.txt\"")
        .contains("refused key \"a/../../up.txt\"");
    assertThat(back.resolve("ok.txt")).hasContent("fine");
    assertThat(tmp.resolve("out/escaped.txt")).doesNotExist();
    assertThat(tmp.resolve("up.txt")).doesNotExist();
    assertThat(java.util.Arrays.asList(TreeExport.safe(back, "x/../../y"), TreeExport.safe(back, ""), TreeExport.safe(back, "./a")))
        .containsOnlyNulls();
  }

  @Test
  void badInputGetsAClearMessage() throws IOException {
    assertThat(run("ingest", tmp.resolve("missing").toString(), "--into", tmp.resolve("m").toString())).isEqualTo(1);
    assertThat(output()).contains("does not exist");
    assertThat(run("ls", tmp.resolve("nothing").toString())).isEqualTo(1);
    assertThat(output()).contains("is not a directory");
    assertThat(run("export", tmp.toString())).isEqualTo(2);
    assertThat(output()).contains("--to");
    assertThat(run("ingest", "-", "--into", tmp.resolve("m").toString(), "--out", "x")).isEqualTo(2);
    Path foreign = tmp.resolve("foreign");
    Files.createDirectories(foreign);
    Files.writeString(foreign.resolve("map-0000000000000000.spm"), "not a segment at all, but named like one");
    assertThat(run("ls", foreign.toString())).isEqualTo(1);
    assertThat(output()).contains("map-0000000000000000.spm").contains("not a file of a Spillway map");
    assertThat(run("inspect", foreign.toString())).isEqualTo(1);
    assertThat(output()).contains("DAMAGE");
  }
}
