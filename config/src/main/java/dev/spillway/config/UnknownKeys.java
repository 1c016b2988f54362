package dev.spillway.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Refuses a configuration that sets a key under {@code spillway} which Spillway does not read
 * ({@link KnownKeys}): a misspelt key would otherwise be ignored in silence and its default used,
 * the way {@code budgte = 16 MiB} once started an automatic budget of 12 GB. Every unknown key is
 * reported in one {@link SettingsException}, each with where it was set ({@code
 * ConfigOrigin.description()}: file and line, {@code system properties}, {@code String: 1} for
 * configuration given in code) and the closest real key when one is close, else the keys allowed in
 * its section. A section that is itself unknown is reported once, not key by key. Keys outside
 * {@code spillway}, the value of a known key (its reader checks it) and the inside of a section read
 * by another library are never looked at.
 *
 * <p>One exception: the Maven properties of this build named under {@code spillway} ({@code
 * spillway.args}, the cli module's arguments for {@code exec:exec}, and {@code spillway.jvm.flags}).
 * Maven's surefire copies properties given on its command line ({@code mvn verify
 * -Dspillway.args=...}) into the system properties of every test JVM, and {@code
 * ConfigFactory.load()} lays system properties over the configuration, so there they would look like
 * Spillway keys. They are skipped when, and only when, they come from system properties; written in
 * a file they are as unknown as any other key.
 */
final class UnknownKeys {
  /** The build's Maven properties under {@code spillway} (see the class comment). */
  static final Set<List<String>> BUILD_PROPERTIES = Set.of(
      List.of(SpillwaySettings.ROOT, "args"), List.of(SpillwaySettings.ROOT, "jvm", "flags"));
  /** The origin description of values from {@code ConfigFactory.systemProperties()}. */
  static final String SYSTEM_PROPERTIES = "system properties";

  /** A key Spillway does not read, and where it was set. */
  record Found(List<String> path, String origin) {
    String key() {
      return KnownKeys.render(path);
    }
  }

  private UnknownKeys() {}

  /** Fails with every unknown key of {@code merged} (the whole configuration, reference.conf included). */
  static void check(Config merged, KnownKeys known) {
    List<Found> found = find(merged, known);
    if (!found.isEmpty()) {
      throw exception(found, known);
    }
  }

  /** The unknown keys of {@code merged}, in path order. */
  static List<Found> find(Config merged, KnownKeys known) {
    ConfigValue root = merged.root().get(SpillwaySettings.ROOT);
    List<Found> out = new ArrayList<>();
    if (root != null && root.valueType() == ConfigValueType.OBJECT) {
      walk(List.of(SpillwaySettings.ROOT), (ConfigObject) root, known, out);
    }
    return out;
  }

  private static void walk(List<String> section, ConfigObject object, KnownKeys known, List<Found> out) {
    for (String name : new TreeSet<>(object.keySet())) {
      ConfigValue value = object.get(name);
      List<String> path = KnownKeys.child(section, name);
      switch (known.kindOf(path)) {
        case SECTION, MAP -> {
          // A value where a section belongs is a type error its reader reports with the expected shape.
          if (value.valueType() == ConfigValueType.OBJECT) {
            walk(path, (ConfigObject) value, known, out);
          }
        }
        case KEY, FOREIGN -> { }
        case UNKNOWN -> {
          if (!onlyBuildProperties(path, value)) {
            out.add(new Found(path, value.origin().description()));
          }
        }
      }
    }
  }

  /** Whether {@code value} at {@code path} holds nothing but build properties given as system properties. */
  private static boolean onlyBuildProperties(List<String> path, ConfigValue value) {
    if (value.valueType() == ConfigValueType.OBJECT) {
      ConfigObject object = (ConfigObject) value;
      return !object.isEmpty() && object.entrySet().stream()
          .allMatch(e -> onlyBuildProperties(KnownKeys.child(path, e.getKey()), e.getValue()));
    }
    return BUILD_PROPERTIES.contains(path) && SYSTEM_PROPERTIES.equals(value.origin().description());
  }

  private static SettingsException exception(List<Found> found, KnownKeys known) {
    StringBuilder message = new StringBuilder();
    for (Found f : found) {
      message.append(f.key()).append(": is not a Spillway setting (set in ").append(f.origin()).append("); ");
      Optional<List<String>> nearest = known.nearest(f.path());
      if (nearest.isPresent()) {
        message.append("did you mean ").append(KnownKeys.render(nearest.get())).append('?');
      } else {
        List<String> section = f.path().subList(0, f.path().size() - 1);
        message.append("allowed in ").append(KnownKeys.render(section)).append(": ")
            .append(String.join(", ", known.allowedIn(section)));
      }
      message.append('\n');
    }
    message.append("Spillway reads only the keys its reference.conf defines: correct or remove ")
        .append(found.size() == 1 ? "this key." : "these " + found.size() + " keys.");
    return new SettingsException(found.stream().map(Found::key).toList(), message.toString());
  }
}
