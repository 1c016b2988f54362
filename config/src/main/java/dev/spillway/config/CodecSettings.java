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
 * @param kryoClasses fully qualified names of the classes the Kryo codec registers, in this order
 *     (after any registered through the API); every name was checked to load at start-up
 */
public record CodecSettings(double lz4MinGain, List<String> kryoClasses) {

  public CodecSettings {
    kryoClasses = List.copyOf(kryoClasses);
    if (!(lz4MinGain >= 0.0 && lz4MinGain < 1.0)) {
      throw new IllegalArgumentException("lz4MinGain = " + lz4MinGain + " is out of range: allowed 0 <= value < 1");
    }
  }

  /** The key that lists Kryo classes, for error messages of the codec that loads them. */
  public static final String KRYO_CLASSES_KEY = SpillwaySettings.ROOT + ".codec.kryo.classes";

  static CodecSettings read(ConfigReader codec) {
    double minGain = codec.child("lz4").fraction("min-gain", /* zeroAllowed= */ true);
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
    return new CodecSettings(minGain, new ArrayList<>(names));
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
