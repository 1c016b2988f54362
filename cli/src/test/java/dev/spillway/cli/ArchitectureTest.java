package dev.spillway.cli;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.io.IOException;
import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.lang.reflect.Constructor;
import java.lang.reflect.Executable;
import java.lang.reflect.Field;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.Member;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.lang.reflect.TypeVariable;
import java.lang.reflect.WildcardType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The module boundaries, checked on the compiled classes and module descriptors:
 *
 * <ul>
 *   <li>each module exports exactly the API packages listed here (adding one is a decision, made here);
 *   <li>no public or protected member of an exported type shows a type of a package that is not
 *       exported to everybody (an internal type in a public signature);
 *   <li>the data plane (config, core) never uses Akka, Scala or Kamon; the streams never use the
 *       actors module; nothing below the command line uses it.
 * </ul>
 *
 * Run: {@code mvn -B -pl cli -am verify -Dsurefire.failIfNoSpecifiedTests=false -Dtest='ArchitectureTest'}
 * (the module descriptors are read from each module's {@code target/classes}).
 */
class ArchitectureTest {
  /** Module directory → the packages its module exports to everybody. */
  static final Map<String, Set<String>> API = Map.of(
      "config", Set.of("dev.spillway.config"),
      "core", Set.of("dev.spillway.memory", "dev.spillway.memory.spi", "dev.spillway.codec", "dev.spillway.map"),
      "streams", Set.of("dev.spillway.streams.bulk", "dev.spillway.streams.spill", "dev.spillway.streams.map"),
      "actors", Set.of("dev.spillway"),
      "cli", Set.of());

  static JavaClasses classes;

  @BeforeAll
  static void importClasses() {
    classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .importPackages("dev.spillway");
  }

  static ModuleDescriptor descriptor(String module) throws IOException {
    Path file = Path.of("").toAbsolutePath().getParent().resolve(module).resolve("target/classes/module-info.class");
    assertThat(file).as("module %s is compiled", module).exists();
    try (InputStream in = Files.newInputStream(file)) {
      return ModuleDescriptor.read(in);
    }
  }

  @Test
  void eachModuleExportsExactlyItsApiPackagesToEverybody() throws IOException {
    Map<String, Set<String>> actual = new TreeMap<>();
    for (String module : API.keySet()) {
      actual.put(module, descriptor(module).exports().stream().filter(e -> !e.isQualified())
          .map(ModuleDescriptor.Exports::source).collect(Collectors.toCollection(TreeSet::new)));
    }
    assertThat(actual).isEqualTo(new TreeMap<>(API));
  }

  @Test
  void noPublicSignatureOfAnExportedTypeShowsAnInternalType() throws Exception {
    Set<String> exported = API.values().stream().flatMap(Set::stream).collect(Collectors.toSet());
    List<String> leaks = new ArrayList<>();
    for (var c : classes) {
      if (!exported.contains(c.getPackageName()) || !c.getModifiers().contains(com.tngtech.archunit.core.domain.JavaModifier.PUBLIC)) {
        continue;
      }
      Class<?> type = Class.forName(c.getName());
      if (!isVisible(type)) {
        continue;
      }
      check(type.getGenericSuperclass(), type.getName() + " extends", exported, leaks);
      for (Type t : type.getGenericInterfaces()) {
        check(t, type.getName() + " implements", exported, leaks);
      }
      for (Method m : type.getDeclaredMethods()) {
        if (visible(m) && !m.isSynthetic() && !m.isBridge()) {
          where(m, m.getGenericReturnType(), exported, leaks);
          signature(m, exported, leaks);
        }
      }
      for (Constructor<?> k : type.getDeclaredConstructors()) {
        if (visible(k)) {
          signature(k, exported, leaks);
        }
      }
      for (Field f : type.getDeclaredFields()) {
        if (visible(f) && !f.isSynthetic()) {
          where(f, f.getGenericType(), exported, leaks);
        }
      }
      if (type.isRecord()) {
        for (RecordComponent rc : type.getRecordComponents()) {
          check(rc.getGenericType(), type.getName() + "." + rc.getName(), exported, leaks);
        }
      }
    }
    assertThat(leaks).as("internal types in public signatures").isEmpty();
  }

  @Test
  void theSignatureCheckSeesInternalTypesWhereverTheyHide() throws Exception {
    Set<String> exported = Set.of("dev.spillway.memory");
    List<String> leaks = new ArrayList<>();
    Class<?> internal = Class.forName("dev.spillway.core.tier.LogInspector");
    check(internal, "plain", exported, leaks);
    check(internal.arrayType(), "array", exported, leaks);
    check(ArchitectureTest.class.getDeclaredMethod("sample").getGenericReturnType(), "type argument", exported, leaks);
    check(Class.forName("dev.spillway.memory.BlockAllocator"), "exported", exported, leaks);
    assertThat(leaks).containsExactly("plain shows dev.spillway.core.tier.LogInspector",
        "array shows dev.spillway.core.tier.LogInspector",
        "type argument shows dev.spillway.core.tier.LogInspector");
  }

  /** A signature that hides an internal type in a type argument. */
  @SuppressWarnings("unused")
  private static List<? extends dev.spillway.core.tier.LogInspector> sample() {
    return List.of();
  }

  @Test
  void theDataPlaneUsesNoAkkaScalaOrKamon() {
    noClasses().that().resideInAnyPackage("dev.spillway.config..", "dev.spillway.memory..", "dev.spillway.codec..",
            "dev.spillway.core..")
        .should().dependOnClassesThat().resideInAnyPackage("akka..", "scala..", "kamon..")
        .check(classes);
  }

  @Test
  void theStreamsDoNotUseTheActorsAndNothingUsesTheCommandLine() {
    noClasses().that().resideInAnyPackage("dev.spillway.streams..")
        .should().dependOnClassesThat().resideInAnyPackage("dev.spillway", "dev.spillway.actors..")
        .check(classes);
    noClasses().that().resideOutsideOfPackage("dev.spillway.cli..")
        .should().dependOnClassesThat().resideInAnyPackage("dev.spillway.cli..")
        .check(classes);
  }

  private static void signature(Executable e, Set<String> exported, List<String> leaks) {
    for (Type p : e.getGenericParameterTypes()) {
      where(e, p, exported, leaks);
    }
    for (Type x : e.getGenericExceptionTypes()) {
      where(e, x, exported, leaks);
    }
  }

  private static void where(Member m, Type t, Set<String> exported, List<String> leaks) {
    check(t, m.getDeclaringClass().getName() + "." + m.getName(), exported, leaks);
  }

  private static boolean isVisible(Class<?> type) {
    for (Class<?> c = type; c != null; c = c.getDeclaringClass()) {
      if (!Modifier.isPublic(c.getModifiers())) {
        return false;
      }
    }
    return true;
  }

  private static boolean visible(Member m) {
    return Modifier.isPublic(m.getModifiers()) || Modifier.isProtected(m.getModifiers());
  }

  /** Adds to {@code leaks} every type in {@code t} from one of our packages that is not exported. */
  private static void check(Type t, String where, Set<String> exported, List<String> leaks) {
    if (t == null) {
      return;
    }
    switch (t) {
      case Class<?> c -> {
        Class<?> base = c;
        while (base.isArray()) {
          base = base.getComponentType();
        }
        String pkg = base.getPackageName();
        if (pkg.startsWith("dev.spillway") && !exported.contains(pkg)) {
          leaks.add(where + " shows " + base.getName());
        }
      }
      case ParameterizedType p -> {
        check(p.getRawType(), where, exported, leaks);
        for (Type a : p.getActualTypeArguments()) {
          check(a, where, exported, leaks);
        }
      }
      case GenericArrayType g -> check(g.getGenericComponentType(), where, exported, leaks);
      case WildcardType w -> Stream.concat(Stream.of(w.getUpperBounds()), Stream.of(w.getLowerBounds()))
          .forEach(b -> check(b, where, exported, leaks));
      case TypeVariable<?> v -> {
        // its bounds are checked where the variable is declared
      }
      default -> throw new AssertionError("unexpected type " + t);
    }
  }
}
