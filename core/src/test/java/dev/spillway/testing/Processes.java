package dev.spillway.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Commands and processes in tests: run one to its end, or wait for one to exit, always with a bound. */
public final class Processes {
  /** How long {@link #run} lets a command take. */
  public static final Duration COMMAND_TIMEOUT = Duration.ofMinutes(2);

  private Processes() {}

  /** A finished command: its exit code and what it printed (standard output and error together). */
  public record Result(List<String> command, int exitCode, String output) {
    public boolean succeeded() {
      return exitCode == 0;
    }

    /** The command, its exit code and its output, for a failure message. */
    public String describe() {
      return "`" + String.join(" ", command) + "` exited " + exitCode + (output.isBlank() ? "" : ": " + output.strip());
    }
  }

  /**
   * Runs {@code command} to its end, reading what it prints. Fails the test (with an
   * {@link AssertionError}) when it cannot be started or does not finish within
   * {@link #COMMAND_TIMEOUT}; a non-zero exit is the caller's to judge.
   */
  public static Result run(String... command) {
    List<String> cmd = List.of(command);
    Process p;
    try {
      p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new AssertionError("cannot start `" + String.join(" ", cmd) + "`: " + e.getMessage(), e);
    }
    CompletableFuture<String> output = readAllAsync(p.getInputStream());
    int exit = awaitExit(p, COMMAND_TIMEOUT, "`" + String.join(" ", cmd) + "`");
    try {
      return new Result(cmd, exit, output.get(10, TimeUnit.SECONDS));
    } catch (ExecutionException | TimeoutException e) {
      throw new AssertionError("cannot read the output of `" + String.join(" ", cmd) + "`", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while reading the output of `" + String.join(" ", cmd) + "`", e);
    }
  }

  /**
   * Waits for {@code process} to exit and returns its exit code. When it has not exited within
   * {@code timeout} it is killed and the test fails, naming it as {@code what}.
   */
  public static int awaitExit(Process process, Duration timeout, String what) {
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        throw new AssertionError(what + " (pid " + process.pid() + ") did not exit within " + timeout + "; killed");
      }
      return process.exitValue();
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while waiting for " + what + "; killed it", e);
    }
  }

  /** Everything {@code in} holds, read on a thread of its own (a full pipe must never stall the child). */
  private static CompletableFuture<String> readAllAsync(InputStream in) {
    CompletableFuture<String> result = new CompletableFuture<>();
    Thread.ofVirtual().start(() -> {
      try (in) {
        result.complete(new String(in.readAllBytes(), StandardCharsets.UTF_8));
      } catch (IOException e) {
        result.completeExceptionally(new UncheckedIOException(e));
      }
    });
    return result;
  }
}
