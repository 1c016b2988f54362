package dev.spillway.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.spillway.testing.FileTrees;
import dev.spillway.testing.Processes;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every command README.md shows works exactly as written on a fresh copy of the repository: each line
 * of every {@code ```sh} block runs, in order, with {@code bash} in a copy of the tracked files (what a
 * clone holds, without build output), and must exit 0. The one line not run is {@code mvn -B verify},
 * the command this test is part of. A line's trailing comment (two spaces, then {@code #}) is not part
 * of the command. This builds the project once more inside the copy (a minute or two).
 * Run: {@code mvn -B -pl cli -am test -Dsurefire.failIfNoSpecifiedTests=false -Dtest='ReadmeCommandsTest'}
 */
class ReadmeCommandsTest {
  /** The test command itself: running it here would recurse. */
  static final String TEST_COMMAND = "mvn -B verify";

  @TempDir Path tmp;

  /** The commands of README.md's {@code ```sh} blocks, in order, comments stripped. */
  static List<String> commands(String readme) {
    List<String> out = new ArrayList<>();
    boolean inShell = false;
    for (String line : readme.split("\n", -1)) {
      String t = line.strip();
      if (t.startsWith("```")) {
        inShell = !inShell && t.equals("```sh");
        continue;
      }
      if (!inShell || t.isEmpty() || t.startsWith("#")) {
        continue;
      }
      int comment = t.indexOf("  #");
      out.add((comment >= 0 ? t.substring(0, comment) : t).strip());
    }
    return out;
  }

  @Test
  void theCommandParserTakesShellBlocksOnly() {
    String readme = "x\n```sh\nls -l   # list\n# a comment\n\necho 'a # b'\n```\n```java\nint x;\n```\n```sh\npwd\n```\n";
    assertThat(commands(readme)).containsExactly("ls -l", "echo 'a # b'", "pwd");
  }

  @Test
  @Timeout(value = 20, unit = TimeUnit.MINUTES)
  void everyCommandInTheReadmeRunsAsWritten() throws Exception {
    Path repo = Path.of("").toAbsolutePath().getParent();
    String readme = Files.readString(repo.resolve("README.md"), StandardCharsets.UTF_8);
    List<String> lines = commands(readme);
    assertThat(lines).as("README shows its commands in ```sh blocks").contains(TEST_COMMAND);
    Path copy = tmp.resolve("spillway");
    copyTrackedFiles(repo, copy);
    List<Path> madeOutside = List.of(Path.of("/var/tmp/spillway-tier"));
    List<Path> existedBefore = madeOutside.stream().filter(Files::exists).toList();
    try {
      for (String line : lines) {
        if (line.equals(TEST_COMMAND)) {
          continue;
        }
        long start = System.nanoTime();
        Process p = new ProcessBuilder("bash", "-c", "set -eo pipefail; " + line).directory(copy.toFile())
            .redirectErrorStream(true).redirectOutput(tmp.resolve("out.txt").toFile()).start();
        Processes.awaitExit(p, Duration.ofMinutes(10), "README command `" + line + "`");
        String output = Files.readString(tmp.resolve("out.txt"));
        System.out.printf("README: %s  (exit %d, %.1f s)%n", line, p.exitValue(), (System.nanoTime() - start) / 1e9);
        assertThat(p.exitValue()).as("README command `%s` exited %d:%n%s", line, p.exitValue(), tail(output)).isZero();
      }
    } finally {
      for (Path p : madeOutside) {
        if (!existedBefore.contains(p)) {
          FileTrees.delete(p);
        }
      }
    }
  }

  private static String tail(String s) {
    return s.length() <= 20000 ? s : "..." + s.substring(s.length() - 20000);
  }

  /** The files a clone of {@code repo} holds (git's list when it is a work tree; else all but build output). */
  private static void copyTrackedFiles(Path repo, Path to) throws Exception {
    List<String> files = new ArrayList<>();
    Process git = new ProcessBuilder("git", "-C", repo.toString(), "ls-files", "-z", "--cached", "--others",
        "--exclude-standard").redirectError(ProcessBuilder.Redirect.DISCARD).start();
    byte[] listing = git.getInputStream().readAllBytes();
    if (git.waitFor() == 0) {
      for (String f : new String(listing, StandardCharsets.UTF_8).split("\0", -1)) {
        if (!f.isEmpty()) {
          files.add(f);
        }
      }
    } else {
      try (Stream<Path> all = Files.walk(repo)) {
        all.filter(Files::isRegularFile).map(repo::relativize).map(Path::toString)
            .filter(f -> !f.startsWith(".git/") && !f.contains("/target/") && !f.startsWith("target/"))
            .forEach(files::add);
      }
    }
    for (String f : files) {
      Path src = repo.resolve(f);
      if (!Files.exists(src, LinkOption.NOFOLLOW_LINKS)) {
        continue; // deleted in the work tree, not yet in git
      }
      Path dst = to.resolve(f);
      Files.createDirectories(dst.getParent());
      Files.copy(src, dst, StandardCopyOption.COPY_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
    }
  }
}
