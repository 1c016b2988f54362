package dev.spillway.core.memory;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.jetbrains.kotlinx.lincheck.Actor;
import org.jetbrains.kotlinx.lincheck.execution.ExecutionScenario;
import org.jetbrains.lincheck.datastructures.Operation;

/**
 * Hand-written Lincheck scenarios from Java: Lincheck's scenario DSL is made for Kotlin, so the
 * *LincheckTest classes name the interleaving that once broke a class (or that it must survive) as
 * {@code scenario(Test.class).init("add", 0).thread(...).build()}, and model checking then explores
 * every interleaving of exactly that scenario.
 */
final class LincheckScenarios {
  private final Class<?> test;
  private final List<Actor> init = new ArrayList<>();
  private final List<List<Actor>> threads = new ArrayList<>();
  private final List<Actor> post = new ArrayList<>();

  private LincheckScenarios(Class<?> test) {
    this.test = test;
  }

  static LincheckScenarios scenario(Class<?> test) {
    return new LincheckScenarios(test);
  }

  /** An operation run before the parallel part. */
  LincheckScenarios init(String operation, Object... args) {
    init.add(actor(operation, args));
    return this;
  }

  /** One thread of the parallel part: its operations, each as {@code "name", arg, ...} or {@code op(...)}. */
  LincheckScenarios thread(Actor... operations) {
    threads.add(List.of(operations));
    return this;
  }

  /** An operation run after the parallel part. */
  LincheckScenarios post(String operation, Object... args) {
    post.add(actor(operation, args));
    return this;
  }

  /** The operation {@code operation} of the test class with {@code args}. */
  Actor op(String operation, Object... args) {
    return actor(operation, args);
  }

  ExecutionScenario build() {
    return new ExecutionScenario(init, threads, post, null);
  }

  private Actor actor(String name, Object... args) {
    for (Method m : test.getMethods()) {
      if (m.getName().equals(name) && m.getParameterCount() == args.length && m.isAnnotationPresent(Operation.class)) {
        return new Actor(m, Arrays.asList(args), false, false, false, false, false);
      }
    }
    throw new IllegalArgumentException(test.getSimpleName() + " has no operation " + name + " of " + args.length
        + " arguments");
  }
}
