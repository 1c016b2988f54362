package dev.spillway.map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.spillway.config.TierSettings.Durability;
import dev.spillway.core.tier.MapLogRecovery;
import dev.spillway.memory.BlockAllocator;
import dev.spillway.testing.ChildJvm;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A child JVM writes through a durable map (puts and removes of 1,500 keys, long and short, values of
 * 1 B to 4 KB, checkpoints and compaction running) and is killed with SIGKILL at a random point, 24
 * times over the same directory, rotating the durability. After each kill the map is reopened here:
 * every acknowledged write is there with its exact value, every acknowledged removal holds, and the one
 * write in flight is either wholly there or not at all; never a torn or foreign value.
 */
class DurableMapCrashTest {
  private static final int KILLS = 24;
  @TempDir Path dir;
  @TempDir Path tier;

  /** What the child did: the acknowledged state, and the operation in flight when it died. */
  private static final class Seen {
    final Map<Integer, Long> acked = new HashMap<>(); // key -> version, -1 removed
    String inFlight;
    int acks;
    final List<String> bad = new java.util.ArrayList<>();
  }

  @Test
  @Timeout(value = 600, unit = TimeUnit.SECONDS)
  void everyAcknowledgedWriteSurvivesTwentyFourKills() throws Exception {
    Map<Integer, Long> state = new HashMap<>();
    SplittableRandom random = new SplittableRandom(2026_12_03L);
    Durability[] modes = Durability.values();
    long totalAcks = 0;
    for (int kill = 0; kill < KILLS; kill++) {
      Durability mode = modes[kill % modes.length];
      Seen seen = new Seen();
      seen.acked.putAll(state);
      Process child = ChildJvm.builder(List.of("-Xmx256m"), DurableMapWriterMain.class, dir.toString(),
          tier.resolve("run-" + kill).toString(), mode.name(), Long.toString(kill * 10_000_000L),
          Long.toString(random.nextLong())).redirectError(ProcessBuilder.Redirect.DISCARD).start();
      AtomicInteger acks = new AtomicInteger();
      Thread pump = Thread.ofPlatform().start(() -> read(child, seen, acks));
      int target = 50 + random.nextInt(mode == Durability.ALWAYS ? 300 : 3000);
      await().atMost(Duration.ofMinutes(2)).until(() -> acks.get() >= target || !child.isAlive());
      assertThat(child.isAlive()).as("the child died on its own, kill %d", kill).isTrue();
      // SIGKILL through the handle: Process.destroyForcibly() would also close our end of its output,
      // and the last lines it printed (its newest acknowledgements) would be lost to the check.
      child.toHandle().destroyForcibly();
      assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
      pump.join(30_000);
      totalAcks += seen.acks;
      state = verify(seen, kill);
    }
    assertThat(totalAcks).as("acknowledged operations over all kills").isGreaterThan(KILLS * 50L);
    assertThat(reports).as("reopens that replayed a tail after a checkpoint")
        .anyMatch(r -> r.checkpoint() != null && r.tailRecords() > 0);
    System.out.printf("durable-map crash test: %d kills, %d acknowledged operations; last reopen: %s%n", KILLS,
        totalAcks, reports.getLast());
  }

  private static void read(Process child, Seen seen, AtomicInteger acks) {
    try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = out.readLine()) != null; ) {
        if (line.startsWith("BAD ")) {
          synchronized (seen) {
            seen.bad.add(line);
          }
        }
        if (line.startsWith("BEGIN ")) {
          synchronized (seen) {
            seen.inFlight = line.substring(6);
          }
        } else if (line.equals("ACK")) {
          synchronized (seen) {
            String[] op = seen.inFlight.split(" ", -1);
            seen.acked.put(Integer.parseInt(op[1]), op[0].equals("R") ? -1L : Long.parseLong(op[2]));
            seen.inFlight = null;
            seen.acks++;
          }
          acks.incrementAndGet();
        }
      }
    } catch (IOException ignored) {
      // the pipe closes when the child dies
    }
  }

  /** Reopens the map and checks it against what the child acknowledged; returns the state found. */
  private final List<MapLogRecovery.Report> reports = new java.util.ArrayList<>();

  private Map<Integer, Long> verify(Seen seen, int kill) {
    Map<Integer, Long> found = new HashMap<>();
    // What inspect says of the directory the kill left, before the reopen repairs anything.
    dev.spillway.core.tier.MapLogInspector.Report inspected;
    try {
      inspected = dev.spillway.core.tier.MapLogInspector.inspect(dir,
          dev.spillway.codec.Codecs.from(dev.spillway.config.SpillwaySettings.defaults().codec()));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    assertThat(inspected.damage()).as("kill %d: inspect finds no damage", kill).isEmpty();
    synchronized (seen) {
      BlockAllocator memory = MapTestSupport.tiered(tier.resolve("check-" + kill));
      try (SpillMap<String, byte[]> map = DurableMapWriterMain.open(memory, dir, Durability.NONE)) {
        assertThat(seen.bad).as("kill %d: the child read back what it had just written", kill).isEmpty();
        MapLogRecovery.Report report = ((OffHeapSpillMap<?, ?>) map).durabilityForTests().log().recoveryReport();
        reports.add(report);
        int inFlightKey = -1;
        long inFlightVersion = Long.MIN_VALUE;
        if (seen.inFlight != null) {
          String[] op = seen.inFlight.split(" ", -1);
          inFlightKey = Integer.parseInt(op[1]);
          inFlightVersion = op[0].equals("R") ? -1L : Long.parseLong(op[2]);
        }
        for (int k = 0; k < DurableMapWriterMain.KEYS; k++) {
          byte[] got = map.get(DurableMapWriterMain.key(k));
          long expected = seen.acked.getOrDefault(k, -1L);
          long actual;
          if (got == null) {
            actual = -1;
          } else if (expected >= 0 && java.util.Arrays.equals(got, DurableMapWriterMain.value(k, expected))) {
            actual = expected;
          } else if (k == inFlightKey && inFlightVersion >= 0
              && java.util.Arrays.equals(got, DurableMapWriterMain.value(k, inFlightVersion))) {
            actual = inFlightVersion;
          } else {
            throw new AssertionError("kill " + kill + ": key " + k + " holds " + got.length + " bytes that are"
                + " neither its acknowledged value (version " + expected + ") nor the write in flight");
          }
          if (actual != expected && k != inFlightKey) {
            throw new AssertionError("kill " + kill + ": key " + k + " is " + (actual < 0 ? "missing" : "version "
                + actual) + ", acknowledged " + (expected < 0 ? "removed" : "version " + expected));
          }
          if (actual != expected && actual != inFlightVersion) {
            throw new AssertionError("kill " + kill + ": key " + k + " (in flight) is " + actual + ", expected "
                + expected + " or " + inFlightVersion);
          }
          if (actual >= 0) {
            found.put(k, actual);
          }
        }
        assertThat(map.size()).as("kill %d: entries", kill).isEqualTo(found.size());
        assertThat(inspected.liveEntries()).as("kill %d: inspect agrees with the reopened map", kill)
            .isEqualTo(found.size());
      } finally {
        memory.close();
      }
    }
    return found;
  }
}
