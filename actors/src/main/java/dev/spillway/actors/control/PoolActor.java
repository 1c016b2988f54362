package dev.spillway.actors.control;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.Behaviors;
import java.util.function.ToLongFunction;

/**
 * One size-class pool: applies its grow and shrink rules when told ({@code spillway.memory.pools}):
 * the idle detector sends {@link Maintain} when the pool has been idle for {@code shrink-after}, and
 * after spills made room. {@code maintain} is the allocator's {@code maintainPool}, bound to the
 * pool's name.
 */
public final class PoolActor {
  private PoolActor() {}

  /** Messages a pool actor takes. */
  public sealed interface Command permits Maintain {}

  /** Apply the rules now; the change in capacity (blocks) goes to {@code replyTo} when given. */
  public record Maintain(ActorRef<Maintained> replyTo) implements Command {}

  /** What a {@link Maintain} did. */
  public record Maintained(String pool, long blocksChanged) {}

  public static Behavior<Command> create(String pool, ToLongFunction<String> maintain) {
    return Behaviors.setup(ctx -> Behaviors.receive(Command.class)
        .onMessage(Maintain.class, m -> {
          long changed;
          try {
            changed = maintain.applyAsLong(pool);
          } catch (dev.spillway.memory.AllocatorClosedException closed) {
            changed = 0; // Spillway is closing: nothing left to maintain
          } catch (RuntimeException e) {
            ctx.getLog().warn("pool {}: maintenance failed: {}", pool, e.toString());
            changed = 0;
          }
          if (m.replyTo() != null) {
            m.replyTo().tell(new Maintained(pool, changed));
          }
          return Behaviors.same();
        })
        .build());
  }
}
