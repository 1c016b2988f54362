package dev.spillway.core.tier;

import static dev.spillway.core.tier.TierTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.spillway.config.TierSettings.Durability;
import dev.spillway.testing.ChildJvm;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills a writing child JVM with SIGKILL mid-stream, three times over the same directory, and checks
 * after each kill that every record the child acknowledged (printed after its batch was forced) is
 * recovered intact and that no torn record is ever returned.
 * Run: {@code mvn -B -pl core -am test -Dsurefire.failIfNoSpecifiedTests=false -Dtest='CrashConsistencyTest'}
 */
class CrashConsistencyTest {
  @TempDir Path dir;

  @Test
  void everyAcknowledgedRecordSurvivesSigkill() throws Exception {
    Set<Long> acknowledged = ConcurrentHashMap.newKeySet();
    long firstKey = 0;
    for (int round = 0; round < 3; round++) {
      Set<Long> acked = ConcurrentHashMap.newKeySet();
      Process child = start(firstKey);
      Thread pump = Thread.ofPlatform().start(() -> {
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
          for (String line; (line = out.readLine()) != null; ) {
            if (line.startsWith("ACK ")) {
              acked.add(Long.parseLong(line.substring(4)));
            }
          }
        } catch (IOException ignored) {
          // the pipe closes when the child dies
        }
      });
      long target = 200 + round * 50L;
      await().atMost(Duration.ofSeconds(30)).until(() -> acked.size() >= target || !child.isAlive());
      assertThat(child.isAlive()).as("child died on its own: %s", stderr(child)).isTrue();
      assertThat(child.info().command()).isPresent();
      child.destroyForcibly(); // SIGKILL: no shutdown hooks, no close()
      assertThat(child.waitFor(10, TimeUnit.SECONDS)).isTrue();
      pump.join(10_000);
      acknowledged.addAll(acked);

      long maxKey = acknowledged.stream().mapToLong(Long::longValue).max().orElse(firstKey);
      try (SegmentLog log = SegmentLog.open(settings(dir, 1L << 20, Durability.BATCH), CODECS)) {
        assertThat(log.recoveryReport().corrupt()).as("round %d", round).isEmpty();
        System.out.printf("crash round %d: %d acknowledged, recovery %s%n", round, acked.size(), log.recoveryReport());
        for (long key : acknowledged) {
          assertThat(log.read(key)).as("acknowledged key %d, round %d", key, round)
              .get().isEqualTo(CrashWriterMain.crashPayload(key));
        }
        // unacknowledged records may or may not have made it, but what is returned is never torn
        for (long key = maxKey + 1; key < maxKey + 50; key++) {
          Optional<byte[]> got = log.read(key);
          if (got.isPresent()) {
            assertThat(got.get()).isEqualTo(CrashWriterMain.crashPayload(key));
          }
        }
      }
      firstKey = maxKey + 1_000; // the next child writes fresh keys after the recovered tail
    }
    assertThat(acknowledged.size()).isGreaterThanOrEqualTo(600);
  }

  private Process start(long firstKey) throws IOException {
    // stderr to a file: an unread pipe could fill and stall the child
    return ChildJvm.builder(List.of("-Xmx256m"), CrashWriterMain.class, dir.toString(), Long.toString(firstKey))
        .redirectError(dir.resolve("child.err").toFile()).start();
  }

  private String stderr(Process p) {
    try {
      return p.isAlive() ? "" : java.nio.file.Files.readString(dir.resolve("child.err"));
    } catch (IOException e) {
      return e.toString();
    }
  }
}
