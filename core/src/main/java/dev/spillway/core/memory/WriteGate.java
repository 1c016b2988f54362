package dev.spillway.core.memory;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.concurrent.locks.LockSupport;

/**
 * The grace period that lets a block move without losing a write. Every write to a block of an
 * allocator with a tier passes the gate: it {@linkplain Mark#enter enters} (a counter store and a
 * full fence), checks the block's generation, stores, and {@linkplain Mark#exit exits}. A mover
 * freezes the block (changes its generation, a CAS) and then {@linkplain #awaitWriters waits} for
 * every write that had entered: by the fences, a write either saw the frozen generation (and took
 * the slow path, which aborts the spill) or is one the mover waits for. Only then is the snapshot taken.
 *
 * <p>Why not a JVM handshake (closing a shared arena) as the grace period, which would cost writers
 * nothing: on JDK 25 it marks the threads it catches inside an access as interrupted
 * (JDK-8306324), which closes any interruptible channel they touch next and fails their next wait;
 * an embedded library must not interrupt its users' threads.
 *
 * <p>Platform threads get a mark of their own, found through a copy-on-write table keyed by thread
 * id. Virtual threads share striped marks updated with atomic adds: millions of them must not each
 * hold one. A mover waits for a platform thread's exits to reach the entries it saw, and for a
 * striped mark to be empty once (no write inside), since there later writes may exit before earlier
 * ones ({@link Mark#passed}).
 */
final class WriteGate {
  private static final int STRIPES = 16;
  private static final VarHandle ENTERED;
  private static final VarHandle EXITED;

  static {
    try {
      var lookup = MethodHandles.lookup();
      ENTERED = lookup.findVarHandle(Mark.class, "entered", long.class);
      EXITED = lookup.findVarHandle(Mark.class, "exited", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /** One writer's (or one stripe's) counts of writes entered and exited. */
  static final class Mark {
    final Thread owner;
    final boolean shared;
    @SuppressWarnings("unused") // through ENTERED
    private volatile long entered;
    @SuppressWarnings("unused") // through EXITED
    private volatile long exited;
    // Keep marks of different threads on different cache lines.
    @SuppressWarnings("unused")
    private long p1, p2, p3, p4, p5, p6;

    Mark(Thread owner, boolean shared) {
      this.owner = owner;
      this.shared = shared;
    }

    /** Announces a write: visible to any mover before this thread reads a generation. */
    void enter() {
      if (shared) {
        ENTERED.getAndAdd(this, 1L);
      } else {
        ENTERED.setOpaque(this, (long) ENTERED.getOpaque(this) + 1);
        VarHandle.fullFence();
      }
    }

    /** Ends a write: its stores happen-before a mover that sees the count. */
    void exit() {
      if (shared) {
        EXITED.getAndAdd(this, 1L);
      } else {
        EXITED.setRelease(this, (long) EXITED.getOpaque(this) + 1);
      }
    }

    /**
     * Whether every write that had entered when the count of entries was {@code target} has exited.
     */
    boolean passed(long target) {
      long out = (long) EXITED.getVolatile(this);
      if (!shared) {
        return out >= target; // one thread's writes run one after another: its exits say it is done
      }
      // Many virtual threads count here, and a write that entered later can exit first: the exits
      // reaching the target prove nothing about a slow write that entered earlier (the mover would
      // copy the block while that write still stores into it). A moment with no write inside does:
      // the exits, read first, equal to the entries read after them. Writes are short and never
      // block inside, so such a moment comes soon even while others keep writing.
      return out >= target && out == (long) ENTERED.getVolatile(this);
    }
  }

  private final Mark[] stripes = new Mark[STRIPES];
  /** Marks of platform threads, indexed by {@code threadId & (length - 1)} with linear probing. */
  private volatile Mark[] table = new Mark[64];
  private int count;
  /** Tests only: run by {@link #awaitWriters} once it has read the counts it waits for. */
  volatile Runnable countsReadHook;

  WriteGate() {
    for (int i = 0; i < STRIPES; i++) {
      stripes[i] = new Mark(null, true);
    }
  }

  /** The calling thread's mark. */
  Mark mark() {
    Thread t = Thread.currentThread();
    long id = t.threadId();
    Mark[] m = table;
    int mask = m.length - 1;
    for (int i = (int) id & mask; ; i = (i + 1) & mask) {
      Mark k = m[i];
      if (k == null) {
        return register(t);
      }
      if (k.owner == t) {
        return k;
      }
    }
  }

  private Mark register(Thread t) {
    if (t.isVirtual()) {
      return sharedMark(t.threadId());
    }
    synchronized (this) {
      Mark[] m = table;
      for (Mark k : m) {
        if (k != null && k.owner == t) {
          return k;
        }
      }
      Mark mine = new Mark(t, false);
      Mark[] next = live(m, mine);
      table = next;
      return mine;
    }
  }

  /** The striped mark virtual threads of this id use. */
  Mark sharedMark(long threadId) {
    return stripes[(int) (threadId & (STRIPES - 1))];
  }

  /** A new table with the live, or unfinished, marks of {@code m} plus {@code added}. */
  private Mark[] live(Mark[] m, Mark added) {
    Mark[] keep = Arrays.stream(m)
        .filter(k -> k != null && (k.owner.isAlive() || (long) ENTERED.getVolatile(k) != (long) EXITED.getVolatile(k)))
        .toArray(Mark[]::new);
    count = keep.length + 1;
    int capacity = 64;
    while (capacity < 2 * count) {
      capacity *= 2;
    }
    Mark[] out = new Mark[capacity];
    for (Mark k : keep) {
      put(out, k);
    }
    put(out, added);
    return out;
  }

  private static void put(Mark[] out, Mark k) {
    int mask = out.length - 1;
    int i = (int) k.owner.threadId() & mask;
    while (out[i] != null) {
      i = (i + 1) & mask;
    }
    out[i] = k;
  }

  /**
   * Waits until every write that had entered the gate when this was called has exited. Call after
   * freezing the blocks to move (a CAS, itself a full fence).
   */
  @SuppressWarnings("ThreadPriorityCheck") // yield is one step of the spin, yield, park back-off, on purpose
  void awaitWriters() {
    Mark[] m = table;
    int n = m.length + STRIPES;
    Mark[] marks = new Mark[n];
    long[] targets = new long[n];
    int k = 0;
    for (Mark mark : m) {
      if (mark != null) {
        marks[k] = mark;
        targets[k++] = (long) ENTERED.getVolatile(mark);
      }
    }
    for (Mark mark : stripes) {
      marks[k] = mark;
      targets[k++] = (long) ENTERED.getVolatile(mark);
    }
    Runnable hook = countsReadHook;
    if (hook != null) {
      hook.run();
    }
    for (int i = 0; i < k; i++) {
      for (int spins = 0; !marks[i].passed(targets[i]); spins++) {
        if (spins < 100) {
          Thread.onSpinWait();
        } else if (spins < 200) {
          Thread.yield();
        } else {
          LockSupport.parkNanos(10_000); // the writer was descheduled mid-write
        }
      }
    }
  }
}
