package dev.spillway.config;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Settings of the record codecs ({@code spillway.codec}).
 *
 * @param lz4MinGain LZ4 output is kept only when it saves at least this fraction of the raw bytes;
 *     otherwise the record is stored raw, {@code 0 <= value < 1}
 * @param zstdLevel the Zstd compression level: {@code 1} to {@link #ZSTD_MAX_LEVEL} (higher
 *     compresses more and runs slower), or one of zstd's fast levels {@code -1} down to {@link
 *     #ZSTD_MIN_LEVEL} (faster still, compressing less); see {@link #isZstdLevel}
 * @param zstdMinGain Zstd output is kept only when it saves at least this fraction of the raw bytes,
 *     {@code 0 <= value < 1}
 * @param kryoClasses fully qualified names of the classes the Kryo codec registers, in this order
 *     (after any registered through the API); every name was checked to load at start-up
 */
public record CodecSettings(double lz4MinGain, int zstdLevel, double zstdMinGain, List<String> kryoClasses) {

  /** Zstd's own default level, and {@code spillway.codec.zstd.level}'s. */
  public static final int ZSTD_DEFAULT_LEVEL = 3;
  /**
   * The highest level allowed. zstd goes on to 22, but 20 to 22 are its "ultra" levels (its command
   * line wants {@code --ultra} for them): slower than 19 and with larger contexts, for a few percent
   * more, which a spill (on the path of whatever waits for room) never pays for.
   */
  public static final int ZSTD_MAX_LEVEL = 19;
  /** The lowest (fastest) level: zstd's {@code ZSTD_minCLevel()}, {@code -(1 << 17)}. */
  public static final int ZSTD_MIN_LEVEL = -(1 << 17);
  /** What {@code spillway.codec.zstd.level} allows, for messages. */
  public static final String ZSTD_LEVELS = "1 to " + ZSTD_MAX_LEVEL + " (higher compresses more, slower), or a fast"
      + " level -1 to " + ZSTD_MIN_LEVEL + " (faster, compresses less); 0 is not a level here (zstd would read it as"
      + " its default, 3: write 3)";
  /** The default of both {@code min-gain} keys. */
  public static final double DEFAULT_MIN_GAIN = 0.10;

  public CodecSettings {
    kryoClasses = List.copyOf(kryoClasses);
    checkFraction("lz4MinGain", lz4MinGain);
    checkFraction("zstdMinGain", zstdMinGain);
    if (!isZstdLevel(zstdLevel)) {
      throw new IllegalArgumentException("zstdLevel = " + zstdLevel + " is out of range: allowed " + ZSTD_LEVELS);
    }
  }

  /** Settings with Zstd at its defaults (level {@value #ZSTD_DEFAULT_LEVEL}, min-gain 0.10). */
  public CodecSettings(double lz4MinGain, List<String> kryoClasses) {
    this(lz4MinGain, ZSTD_DEFAULT_LEVEL, DEFAULT_MIN_GAIN, kryoClasses);
  }

  /** Whether {@code level} is one {@code spillway.codec.zstd.level} allows (see {@link #ZSTD_LEVELS}). */
  public static boolean isZstdLevel(long level) {
    return level != 0 && level >= ZSTD_MIN_LEVEL && level <= ZSTD_MAX_LEVEL;
  }

  private static void checkFraction(String name, double value) {
    if (!(value >= 0.0 && value < 1.0)) {
      throw new IllegalArgumentException(name + " = " + value + " is out of range: allowed 0 <= value < 1");
    }
  }

  /** A copy with other Zstd settings. */
  public CodecSettings withZstd(int level, double minGain) {
    return new CodecSettings(lz4MinGain, level, minGain, kryoClasses);
  }

  /** The key that lists Kryo classes, for error messages of the codec that loads them. */
  public static final String KRYO_CLASSES_KEY = SpillwaySettings.ROOT + ".codec.kryo.classes";

  static CodecSettings read(ConfigReader codec) {
    double minGain = codec.child("lz4").fraction("min-gain", /* zeroAllowed= */ true);
    ConfigReader zstd = codec.child("zstd");
    int zstdLevel = (int) zstd.wholeNumber("level", CodecSettings::isZstdLevel, ZSTD_LEVELS);
    double zstdMinGain = zstd.fraction("min-gain", /* zeroAllowed= */ true);
    ConfigReader kryo = codec.child("kryo");
    String key = kryo.key("classes");
    Set<String> names = new LinkedHashSet<>();
    for (String name : kryo.strings("classes")) {
      String trimmed = name.trim();
      // Array classes use their binary descriptor ("[D", "[Ljava.lang.String;"), which Class.forName checks.
      if (!trimmed.startsWith("[") && !isQualifiedName(trimmed)) {
        throw new SettingsException(key, "contains \"" + name + "\", which is not a class name:"
            + " allowed fully qualified names such as \"com.example.Point\" (nested: \"com.example.Outer$Inner\")");
      }
      loadClass(key, trimmed);
      if (!names.add(trimmed)) {
        throw new SettingsException(key, "names the class " + trimmed + " twice");
      }
    }
    return new CodecSettings(minGain, zstdLevel, zstdMinGain, new ArrayList<>(names));
  }

  /** Whether {@code name} is a dotted sequence of Java identifiers (nested classes joined by '$'). */
  static boolean isQualifiedName(String name) {
    if (name.isEmpty() || name.startsWith(".") || name.endsWith(".") || name.contains("..")) {
      return false;
    }
    for (String part : name.split("\\.", -1)) { // no empty parts: the checks above exclude them
      if (!Character.isJavaIdentifierStart(part.codePointAt(0))) {
        return false;
      }
      if (!part.codePoints().allMatch(Character::isJavaIdentifierPart)) {
        return false;
      }
    }
    return true;
  }

  /**
   * Loads {@code name} through the thread's context class loader, falling back to this library's;
   * an unknown class fails naming {@code key} and the class.
   */
  public static Class<?> loadClass(String key, String name) {
    ClassLoader context = Thread.currentThread().getContextClassLoader();
    try {
      return Class.forName(name, false, context != null ? context : CodecSettings.class.getClassLoader());
    } catch (ClassNotFoundException | LinkageError e) {
      try {
        return Class.forName(name, false, CodecSettings.class.getClassLoader());
      } catch (ClassNotFoundException | LinkageError e2) {
        throw new SettingsException(key, "names the class " + name + ", which cannot be loaded ("
            + e2 + "): allowed only classes on the application's class path", e2);
      }
    }
  }
}
