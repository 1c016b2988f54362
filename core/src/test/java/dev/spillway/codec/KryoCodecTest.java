package dev.spillway.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import dev.spillway.config.CodecSettings;
import dev.spillway.config.SettingsException;
import dev.spillway.config.SpillwaySettings;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * Kryo with registration required: registered classes round-trip, others are refused clearly.
 * Run: {@code mvn -B -pl core -am test -Dsurefire.failIfNoSpecifiedTests=false -Dtest='KryoCodecTest'}
 */
class KryoCodecTest {

  /** A registered type (through the API). */
  public static final class Point {
    int x;
    int y;
    String label;

    Point() {}

    Point(int x, int y, String label) {
      this.x = x;
      this.y = y;
      this.label = label;
    }
  }

  /** Registered through configuration. */
  public static final class Sample {
    long id;
    double[] features;
  }

  /** Never registered. */
  public static final class Secret {
    String value = "x";
  }

  private static Codecs codecs() {
    CodecSettings settings = SpillwaySettings.from(ConfigFactory.parseString(
        "spillway.codec.kryo.classes = [ \"" + Sample.class.getName() + "\", \"[D\" ]")).codec();
    return Codecs.builder(settings).registerKryo(Point.class).build();
  }

  @Test
  void registeredClassesRoundTripThroughApiAndConfig() {
    KryoCodec kryo = codecs().kryo();
    assertThat(kryo.registeredClasses()).containsExactly(Point.class, Sample.class, double[].class);
    Point p = (Point) kryo.deserialize(kryo.serialize(new Point(3, -4, "here")));
    assertThat(p.x).isEqualTo(3);
    assertThat(p.y).isEqualTo(-4);
    assertThat(p.label).isEqualTo("here");
    Sample s = new Sample();
    s.id = 42;
    s.features = new double[] {1.5, -2.25};
    Sample back = (Sample) kryo.deserialize(ByteBuffer.wrap(kryo.serialize(s)));
    assertThat(back.id).isEqualTo(42);
    assertThat(back.features).containsExactly(1.5, -2.25);
    assertThat(kryo.deserialize(kryo.serialize("text"))).isEqualTo("text");
  }

  @Test
  void readsFromOffHeapMemory() {
    KryoCodec kryo = codecs().kryo();
    byte[] bytes = kryo.serialize(new Point(1, 2, "off-heap"));
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment seg = arena.allocate(bytes.length);
      MemorySegment.copy(bytes, 0, seg, ValueLayout.JAVA_BYTE, 0, bytes.length);
      assertThat(((Point) kryo.deserialize(seg)).label).isEqualTo("off-heap");
    }
  }

  @Test
  void unregisteredClassIsRefusedWithAClearError() {
    KryoCodec kryo = codecs().kryo();
    assertThatThrownBy(() -> kryo.serialize(new Secret()))
        .isInstanceOf(CodecException.class)
        .hasMessageContaining(Secret.class.getName())
        .hasMessageContaining("spillway.codec.kryo.classes");
  }

  @Test
  void bytesNamingAnUnregisteredIdAreRefused() {
    byte[] bytes = codecs().kryo().serialize(new Point(1, 2, "p"));
    KryoCodec fewer = Codecs.from(new CodecSettings(0.1, List.of())).kryo();
    assertThatThrownBy(() -> fewer.deserialize(bytes))
        .isInstanceOf(CodecException.class).hasMessageContaining("kryo: cannot read");
    byte[] trailing = java.util.Arrays.copyOf(codecs().kryo().serialize("a"), 10);
    assertThatThrownBy(() -> codecs().kryo().deserialize(trailing)).isInstanceOf(CodecException.class);
  }

  @Test
  void unknownConfiguredClassFailsAtStartNamingKeyAndClass() {
    assertThatThrownBy(() -> SpillwaySettings.from(ConfigFactory.parseString(
            "spillway.codec.kryo.classes = [ \"com.example.NoSuchThing\" ]")))
        .isInstanceOfSatisfying(SettingsException.class,
            e -> assertThat(e.key()).isEqualTo("spillway.codec.kryo.classes"))
        .hasMessageContaining("com.example.NoSuchThing");
    assertThatThrownBy(() -> Codecs.from(new CodecSettings(0.1, List.of("com.example.Gone"))))
        .isInstanceOf(SettingsException.class)
        .hasMessageContaining("spillway.codec.kryo.classes").hasMessageContaining("com.example.Gone");
  }

  @Test
  void poolServesManyThreads() throws Exception {
    KryoCodec kryo = codecs().kryo();
    var pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<Boolean>> results = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        int id = t;
        results.add(pool.submit(() -> {
          for (int i = 0; i < 2_000; i++) {
            Point p = (Point) kryo.deserialize(kryo.serialize(new Point(id, i, "t" + id)));
            if (p.x != id || p.y != i || !p.label.equals("t" + id)) {
              return false;
            }
          }
          return true;
        }));
      }
      for (Future<Boolean> f : results) {
        assertThat(f.get()).isTrue();
      }
    } finally {
      pool.shutdownNow();
    }
  }
}
