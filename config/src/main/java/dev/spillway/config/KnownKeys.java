package dev.spillway.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigResolveOptions;
import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * The configuration paths Spillway reads: every section and key under {@code spillway} that the
 * {@code reference.conf} files on the class path define (this module's, and the streams module's
 * {@code spillway.streams.io-dispatcher} when it is present), plus two shapes reference.conf documents
 * but cannot list. {@code spillway.memory.pools.classes} is a map whose member names are the user's
 * (size classes such as {@code "4KiB"}, validated by {@link PoolSettings}), each a section that may
 * hold only {@link PoolSettings#CLASS_KEYS}. {@code spillway.streams.io-dispatcher} is an Akka
 * dispatcher: Akka, not Spillway, reads what is inside it, so any key below it is accepted. Paths are
 * compared as lists of segments, so quoting ({@code classes."4KiB"}) makes no difference.
 */
public final class KnownKeys {

  /** What a path is. */
  enum Kind {
    /** A section reference.conf defines ({@code spillway.control}), or a member of a map. */
    SECTION,
    /** A key holding a value ({@code spillway.control.budget}). */
    KEY,
    /** A map whose member names are the user's ({@code spillway.memory.pools.classes}). */
    MAP,
    /** A section read by another library, or a path inside it. */
    FOREIGN,
    /** Not a path Spillway reads. */
    UNKNOWN
  }

  static final List<String> POOL_CLASSES = List.of(SpillwaySettings.ROOT, "memory", "pools", "classes");
  static final List<String> IO_DISPATCHER = List.of(SpillwaySettings.ROOT, "streams", "io-dispatcher");

  /** Maps with user-named members, and the keys each member may hold. */
  static final List<String> MAPS_SECTION = List.of(SpillwaySettings.ROOT, MapSettings.SECTION);
  private static final Map<List<String>, List<String>> MAPS = Map.of(POOL_CLASSES, PoolSettings.CLASS_KEYS,
      MAPS_SECTION, MapSettings.KEYS);
  /** Sections another library reads. Known even when the module that defines them is not on the class path. */
  private static final Set<List<String>> FOREIGN = Set.of(IO_DISPATCHER);

  private static final Comparator<List<String>> BY_TEXT = Comparator.comparing(KnownKeys::render);

  /** Every section and key below the root, the root itself excluded. */
  private final Map<List<String>, Kind> paths;

  private KnownKeys(Map<List<String>, Kind> paths) {
    this.paths = paths;
  }

  /** The paths of the {@code reference.conf} files on this class path. */
  public static KnownKeys reference() {
    // Not ConfigFactory.defaultReference(): it lays the JVM's system properties over reference.conf, so
    // any system property under spillway would count as defined. A substitution into another library's
    // section may stay unresolved: only the shape of the spillway section matters here.
    return of(ConfigFactory.defaultReferenceUnresolved().withOnlyPath(SpillwaySettings.ROOT)
        .resolve(ConfigResolveOptions.defaults().setUseSystemEnvironment(false).setAllowUnresolved(true)));
  }

  /** The paths {@code reference} defines under {@code spillway}. */
  static KnownKeys of(Config reference) {
    Map<List<String>, Kind> paths = new TreeMap<>(BY_TEXT);
    ConfigValue root = reference.root().get(SpillwaySettings.ROOT);
    if (root != null && isObject(root)) {
      collect(List.of(SpillwaySettings.ROOT), (ConfigObject) root, paths);
    }
    MAPS.keySet().forEach(p -> paths.put(p, Kind.MAP));
    FOREIGN.forEach(p -> paths.put(p, Kind.FOREIGN));
    return new KnownKeys(paths);
  }

  private static void collect(List<String> section, ConfigObject object, Map<List<String>, Kind> into) {
    for (Map.Entry<String, ConfigValue> e : object.entrySet()) {
      List<String> path = child(section, e.getKey());
      if (MAPS.containsKey(path) || FOREIGN.contains(path)) {
        continue; // added with their own kind; their content in reference.conf is an example, not a schema
      }
      if (isObject(e.getValue())) {
        into.put(path, Kind.SECTION);
        collect(path, (ConfigObject) e.getValue(), into);
      } else {
        into.put(path, Kind.KEY);
      }
    }
  }

  /** Whether {@code value} is a section; a value left unresolved (a substitution) holds a key's value. */
  private static boolean isObject(ConfigValue value) {
    try {
      return value.valueType() == ConfigValueType.OBJECT;
    } catch (ConfigException.NotResolved e) {
      return false;
    }
  }

  /**
   * Whether Spillway reads {@code path} (a key, or a section holding keys), e.g. {@code
   * spillway.control.budget} or {@code spillway.tier}. A path that HOCON cannot parse is not one.
   */
  public boolean defines(String path) {
    return parse(path).map(p -> kindOf(p) != Kind.UNKNOWN).orElse(false);
  }

  /** The real path closest to {@code path} (see {@link KeyDistance}), when one is close enough to suggest. */
  public Optional<String> nearest(String path) {
    return parse(path).flatMap(this::nearest).map(KnownKeys::render);
  }

  /** What {@code path} is. */
  Kind kindOf(List<String> path) {
    if (path.size() == 1 && path.getFirst().equals(SpillwaySettings.ROOT)) {
      return Kind.SECTION;
    }
    for (List<String> foreign : FOREIGN) {
      if (startsWith(path, foreign)) {
        return Kind.FOREIGN;
      }
    }
    for (Map.Entry<List<String>, List<String>> map : MAPS.entrySet()) {
      List<String> members = map.getKey();
      if (startsWith(path, members) && path.size() > members.size()) {
        int depth = path.size() - members.size();
        if (depth == 1) {
          return Kind.SECTION;
        }
        return depth == 2 && map.getValue().contains(path.getLast()) ? Kind.KEY : Kind.UNKNOWN;
      }
    }
    return paths.getOrDefault(path, Kind.UNKNOWN);
  }

  /** The real path closest to {@code typed}, when it is at most {@link KeyDistance#SUGGEST} away. */
  Optional<List<String>> nearest(List<String> typed) {
    // On a tie the candidate sharing more leading sections with what was typed is the likelier one.
    Comparator<List<String>> closest = Comparator.<List<String>>comparingInt(c -> KeyDistance.between(typed, c))
        .thenComparingInt(c -> -sharedPrefix(c, typed))
        .thenComparing(BY_TEXT);
    return candidates(typed).stream()
        .filter(c -> !startsWith(typed, c)) // an ancestor of what was typed is known already, never what was meant
        .min(closest)
        .filter(c -> KeyDistance.between(typed, c) <= KeyDistance.SUGGEST);
  }

  /** The names allowed directly in {@code section}, sorted; empty for a key or an unknown path. */
  List<String> allowedIn(List<String> section) {
    for (Map.Entry<List<String>, List<String>> map : MAPS.entrySet()) {
      if (startsWith(section, map.getKey()) && section.size() == map.getKey().size() + 1) {
        return map.getValue().stream().sorted().toList();
      }
    }
    return paths.keySet().stream()
        .filter(p -> p.size() == section.size() + 1 && startsWith(p, section))
        .map(List::getLast)
        .sorted()
        .toList();
  }

  /** Every known path, and the keys a map member may hold when {@code typed} lies in one. */
  private List<List<String>> candidates(List<String> typed) {
    List<List<String>> out = new ArrayList<>(paths.keySet());
    for (Map.Entry<List<String>, List<String>> map : MAPS.entrySet()) {
      List<String> members = map.getKey();
      if (startsWith(typed, members) && typed.size() > members.size() + 1) {
        List<String> member = typed.subList(0, members.size() + 1);
        map.getValue().forEach(key -> out.add(child(member, key)));
      }
    }
    return out;
  }

  /** {@code path} as HOCON writes it, quoting segments that need it. */
  static String render(List<String> path) {
    return ConfigUtil.joinPath(path);
  }

  static List<String> child(List<String> parent, String name) {
    List<String> path = new ArrayList<>(parent.size() + 1);
    path.addAll(parent);
    path.add(name);
    return List.copyOf(path);
  }

  private static Optional<List<String>> parse(String path) {
    try {
      return Optional.of(ConfigUtil.splitPath(path));
    } catch (ConfigException e) {
      return Optional.empty();
    }
  }

  private static boolean startsWith(List<String> path, List<String> prefix) {
    return path.size() >= prefix.size() && path.subList(0, prefix.size()).equals(prefix);
  }

  private static int sharedPrefix(List<String> a, List<String> b) {
    int n = 0;
    while (n < a.size() && n < b.size() && a.get(n).equals(b.get(n))) {
      n++;
    }
    return n;
  }
}
