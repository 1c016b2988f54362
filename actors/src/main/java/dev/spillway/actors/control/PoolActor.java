package dev.spillway.actors.control;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import dev.spillway.memory.AllocatorClosedException;
import dev.spillway.streams.spill.IoDispatcher;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.function.ToLongFunction;

/**
 * One size-class pool: applies its grow and shrink rules when told ({@code spillway.memory.pools}):
 * the idle detector sends {@link Maintain} when the pool has been idle for {@code shrink-after}, and
 * after spills made room. {@code maintain} is the allocator's {@code maintainPool}, bound to the
 * pool's name; it maps and unmaps slabs, so it runs on the I/O executor and its result comes back as
 * a message. One pass at a time: a {@code Maintain} during a pass asks for one more pass after it,
 * and every asker of that pass hears its result.
 */
final class PoolActor extends AbstractBehavior<PoolActor.Command> {
  sealed interface Command permits Maintain, Done {}

  /** Apply the rules now; the change in capacity (blocks) goes to {@code replyTo} when given. */
  record Maintain(ActorRef<Maintained> replyTo) implements Command {}

  /** What a {@link Maintain} did. */
  record Maintained(String pool, long blocksChanged) {}

  /** A pass ended, on the I/O executor. */
  private record Done(long blocksChanged, Throwable failure) implements Command {}

  private final String pool;
  private final ToLongFunction<String> maintain;
  private final Executor io;
  private boolean running;
  /** Who hears the pass running now. */
  private List<ActorRef<Maintained>> askers = new ArrayList<>();
  /** Whether another pass follows this one, and who hears it. */
  private boolean again;
  private List<ActorRef<Maintained>> nextAskers = new ArrayList<>();

  static Behavior<Command> create(String pool, ToLongFunction<String> maintain, Executor io) {
    return Behaviors.setup(ctx -> new PoolActor(ctx, pool, maintain, io));
  }

  private PoolActor(ActorContext<Command> ctx, String pool, ToLongFunction<String> maintain, Executor io) {
    super(ctx);
    this.pool = pool;
    this.maintain = maintain;
    this.io = io;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Maintain.class, this::onMaintain)
        .onMessage(Done.class, this::onDone)
        .build();
  }

  private Behavior<Command> onMaintain(Maintain m) {
    if (running) {
      again = true;
      if (m.replyTo() != null) {
        nextAskers.add(m.replyTo());
      }
    } else {
      if (m.replyTo() != null) {
        askers.add(m.replyTo());
      }
      startPass();
    }
    return this;
  }

  private void startPass() {
    running = true;
    getContext().pipeToSelf(IoDispatcher.supply(() -> maintain.applyAsLong(pool), io),
        (changed, failure) -> new Done(changed == null ? 0 : changed, failure));
  }

  private Behavior<Command> onDone(Done d) {
    running = false;
    if (d.failure() != null && !(d.failure() instanceof AllocatorClosedException)) { // closed: Spillway is closing
      getContext().getLog().warn("pool {}: maintenance failed: {}", pool, d.failure().toString());
    }
    for (ActorRef<Maintained> asker : askers) {
      asker.tell(new Maintained(pool, d.blocksChanged()));
    }
    askers = nextAskers;
    nextAskers = new ArrayList<>();
    if (again) {
      again = false;
      startPass();
    }
    return this;
  }
}
