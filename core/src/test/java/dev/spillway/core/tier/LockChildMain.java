package dev.spillway.core.tier;

import dev.spillway.testing.ChildJvm;
import dev.spillway.testing.Processes;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * A second process for lock tests. {@code hold <dir>} locks {@code dir} as a live Spillway would, prints
 * {@code locked} and keeps the lock until its standard input closes or it is killed; {@code probe <dir>}
 * prints {@code free} when it could take the lock of {@code dir} (and releases it), {@code held} when
 * another process holds it.
 */
public final class LockChildMain {
  private LockChildMain() {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[1]);
    switch (args[0]) {
      case "hold" -> {
        try (DirectoryLock _ = DirectoryLock.acquire(dir)) {
          System.out.println("locked");
          System.out.flush();
          System.in.read(); // until the parent closes our stdin or kills us
        }
      }
      case "probe" -> {
        Optional<DirectoryLock> lock = DirectoryLock.tryAcquire(dir, /* create= */ false);
        System.out.println(lock.isPresent() ? "free" : "held");
        if (lock.isPresent()) {
          lock.get().close();
        }
      }
      default -> throw new IllegalArgumentException(args[0]);
    }
  }

  /** A started child JVM running this class with {@code mode} and {@code dir}. */
  static Process start(String mode, Path dir) throws java.io.IOException {
    return ChildJvm.builder(List.of(), LockChildMain.class, mode, dir.toString()).redirectErrorStream(true).start();
  }

  /** Runs {@code probe} on {@code dir} in a child JVM: "free" or "held". */
  static String probe(Path dir) throws Exception {
    Process p = start("probe", dir);
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    Processes.awaitExit(p, Duration.ofSeconds(60), "the lock probe of " + dir);
    return out;
  }

  /** Starts {@code hold} on {@code dir} and waits until the child holds the lock. */
  static Process hold(Path dir) throws Exception {
    Process p = start("hold", dir);
    var in = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    String line = in.readLine();
    if (!"locked".equals(line)) {
      p.destroyForcibly();
      throw new AssertionError("lock holder said: " + line);
    }
    return p;
  }
}
