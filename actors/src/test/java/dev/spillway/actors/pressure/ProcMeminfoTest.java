package dev.spillway.actors.pressure;

import static dev.spillway.actors.pressure.TestReadings.reasonOf;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code /proc/meminfo}: a real layout, and every way it can be missing or wrong. */
class ProcMeminfoTest {
  @TempDir Path root;

  private FakeHost host() {
    return new FakeHost(root);
  }

  @Test
  void readsTotalAndAvailableInBytes() {
    Reading<SystemMemory> r = host().meminfo(24_683_656, 24_375_756).sources().systemMemory();
    assertThat(r.isPresent()).isTrue();
    SystemMemory m = r.optional().orElseThrow();
    assertThat(m.totalBytes()).isEqualTo(24_683_656L * 1024);
    assertThat(m.availableBytes()).isEqualTo(24_375_756L * 1024);
    assertThat(m.availableFraction()).isBetween(0.98, 0.99);
  }

  @Test
  void aMissingFileIsAbsentNamingIt() {
    assertThat(reasonOf(host().sources().systemMemory())).isEqualTo("no " + root.resolve("proc/meminfo"));
  }

  @Test
  void aFileWithoutMemAvailableNamesTheKernelVersion() {
    host().file("proc/meminfo", "MemTotal:       1000 kB\nMemFree:         500 kB\n");
    assertThat(reasonOf(host().sources().systemMemory())).contains("no MemAvailable").contains("3.14");
  }

  @Test
  void aFileWithoutMemTotalIsAbsent() {
    host().file("proc/meminfo", "MemFree:         500 kB\nMemAvailable:    500 kB\n");
    assertThat(reasonOf(host().sources().systemMemory())).startsWith("no MemTotal");
  }

  @Test
  void theLastLineNeedsNoNewline() {
    host().file("proc/meminfo", "MemTotal: 2000 kB\nMemAvailable: 1000 kB");
    assertThat(host().sources().systemMemory().optional().orElseThrow().availableBytes()).isEqualTo(1000L * 1024);
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "MemTotal:       -1000 kB", "MemTotal:       +1000 kB", "MemTotal:       10a0 kB", "MemTotal:        kB",
      "MemTotal:       1000", "MemTotal:       1000 MB", "MemTotal:       1000 kB extra", "MemTotal:\t1000 kB",
      "MemTotal:       1 000 kB", "MemTotal:       0x3e8 kB", "MemTotal:       \u0661\u0662\u0663 kB"})
  void aMalformedTotalIsAbsentQuotingIt(String line) {
    host().file("proc/meminfo", line + "\nMemAvailable:    500 kB\n");
    assertThat(reasonOf(host().sources().systemMemory())).contains("MemTotal").contains("'");
  }

  @ParameterizedTest
  @ValueSource(strings = {"99999999999999999999", "9999999999999999999", "9223372036854775808"})
  void numbersBeyondALongAreAbsent(String digits) {
    host().file("proc/meminfo", "MemTotal: " + digits + " kB\nMemAvailable: 1 kB\n");
    assertThat(reasonOf(host().sources().systemMemory())).contains("MemTotal");
  }

  @Test
  void kibibytesThatOverflowBytesAreAbsent() {
    host().file("proc/meminfo", "MemTotal: 9007199254740992 kB\nMemAvailable: 1 kB\n"); // 2^53 KiB = 2^63 B
    assertThat(reasonOf(host().sources().systemMemory())).contains("overflows");
  }

  @Test
  void theLargestRepresentableTotalIsRead() {
    long kib = Long.MAX_VALUE / 1024;
    host().file("proc/meminfo", "MemTotal: " + kib + " kB\nMemAvailable: " + kib + " kB\n");
    assertThat(host().sources().systemMemory().optional().orElseThrow().totalBytes()).isEqualTo(kib * 1024);
  }

  @Test
  void aRepeatedKeyIsAbsent() {
    host().file("proc/meminfo", "MemTotal: 2000 kB\nMemAvailable: 1000 kB\nMemTotal: 3000 kB\n");
    assertThat(reasonOf(host().sources().systemMemory())).contains("more than once");
  }

  @Test
  void moreAvailableThanTotalIsAbsent() {
    host().meminfo(1000, 2000);
    assertThat(reasonOf(host().sources().systemMemory())).contains("exceeds");
  }

  @Test
  void aZeroTotalIsAbsent() {
    host().meminfo(0, 0);
    assertThat(reasonOf(host().sources().systemMemory())).contains("MemTotal is 0");
  }

  @Test
  void anEmptyFileIsAbsent() {
    host().file("proc/meminfo", "");
    assertThat(reasonOf(host().sources().systemMemory())).startsWith("no MemTotal");
  }

  @Test
  void binaryGarbageIsAbsent() {
    host().bytes("proc/meminfo", new byte[] {(byte) 0xff, (byte) 0xfe, 0, 1, 2});
    assertThat(reasonOf(host().sources().systemMemory())).contains("not text");
  }

  @Test
  void anOversizedFileIsNotReadWhole() {
    host().file("proc/meminfo", "MemTotal: 2000 kB\nMemAvailable: 1000 kB\n" + "x".repeat(ProcMeminfo.MAX_BYTES));
    assertThat(reasonOf(host().sources().systemMemory())).contains("larger than " + ProcMeminfo.MAX_BYTES);
  }

  @Test
  void aDirectoryInPlaceOfTheFileIsAbsent() {
    host().directory("proc/meminfo");
    assertThat(reasonOf(host().sources().systemMemory())).startsWith("cannot read");
  }
}
