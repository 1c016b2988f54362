package dev.spillway.bench;

import dev.spillway.memory.BlockAllocator;
import io.netty.buffer.AdaptiveByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Allocate / free churn, the pattern of Netty's {@code ByteBufAllocatorBenchmark}: each thread keeps
 * 8,192 live blocks; one operation frees a random one, allocates a block of {@code size} into its
 * place and touches it (writes 8 bytes). One allocator instance is shared by the benchmark's threads.
 *
 * <p>Peers, in the same run: Netty 4.2's {@code PooledByteBufAllocator} and
 * {@code AdaptiveByteBufAllocator} (direct buffers, thread caches for all threads, leak detection
 * off) and plain {@code malloc}/{@code free} through FFM downcalls.
 *
 * <pre>
 *   mvn -q -DskipTests package
 *   /usr/lib/jvm/temurin-25-jdk-amd64/bin/java -jar bench/target/benchmarks.jar AllocFreeBenchmark
 * </pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {
  "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
  "-Dio.netty.leakDetection.level=disabled", "-Xms1g", "-Xmx1g", "-XX:MaxDirectMemorySize=4g"
})
@SuppressWarnings("restricted") // malloc and free through FFM downcalls, the peer measured
public class AllocFreeBenchmark {
  static final int LIVE = 8192;
  static final boolean NOTOUCH = Boolean.getBoolean("notouch");

  /** The allocator under test, shared by all threads of a trial. */
  @State(Scope.Benchmark)
  public static class Allocator {
    @Param({"spillway", "nettyPooled", "nettyAdaptive", "ffmMalloc"})
    public String impl;

    BlockAllocator spillway;
    ByteBufAllocator netty;

    @Setup(Level.Trial)
    public void setUp() {
      switch (impl) {
        case "spillway" -> spillway = BlockAllocator.create();
        case "nettyPooled" -> netty = new PooledByteBufAllocator(true,
            PooledByteBufAllocator.defaultNumHeapArena(), PooledByteBufAllocator.defaultNumDirectArena(),
            PooledByteBufAllocator.defaultPageSize(), PooledByteBufAllocator.defaultMaxOrder(),
            PooledByteBufAllocator.defaultSmallCacheSize(), PooledByteBufAllocator.defaultNormalCacheSize(),
            /* useCacheForAllThreads= */ true);
        case "nettyAdaptive" -> netty = new AdaptiveByteBufAllocator(
            /* preferDirect= */ true, /* useCacheForNonEventLoopThreads= */ true);
        case "ffmMalloc" -> { }
        default -> throw new IllegalArgumentException("unknown impl " + impl);
      }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      if (spillway != null) {
        spillway.close();
      }
    }
  }

  /** One thread's 8,192 live blocks. Exactly one subclass runs per fork, so calls stay monomorphic. */
  @State(Scope.Thread)
  public static class Slots {
    @Param({"64", "256", "4096", "65536"})
    public int size;

    Churn churn;
    long seed;

    @Setup(Level.Trial)
    public void setUp(Allocator a) {
      seed = System.nanoTime() | 1;
      churn = switch (a.impl) {
        case "spillway" -> new SpillwayChurn(a.spillway, size);
        case "nettyPooled", "nettyAdaptive" -> new NettyChurn(a.netty, size);
        case "ffmMalloc" -> new MallocChurn(size);
        default -> throw new IllegalArgumentException(a.impl);
      };
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      churn.releaseAll();
    }

    int nextIndex() {
      long x = seed; // xorshift64
      x ^= x << 13;
      x ^= x >>> 7;
      x ^= x << 17;
      seed = x;
      return (int) x & (LIVE - 1);
    }
  }

  @Benchmark
  @Threads(1)
  public long oneThread(Slots s) {
    return s.churn.replace(s.nextIndex());
  }

  @Benchmark
  @Threads(2)
  public long twoThreads(Slots s) {
    return s.churn.replace(s.nextIndex());
  }

  abstract static class Churn {
    /** Frees block {@code i}, allocates its replacement and writes 8 bytes into it. */
    abstract long replace(int i);

    abstract void releaseAll();
  }

  static final class SpillwayChurn extends Churn {
    private final BlockAllocator allocator;
    private final int size;
    private final long[] handles = new long[LIVE];

    SpillwayChurn(BlockAllocator allocator, int size) {
      this.allocator = allocator;
      this.size = size;
      for (int i = 0; i < LIVE; i++) {
        handles[i] = allocator.allocate(size);
      }
    }

    @Override
    long replace(int i) {
      allocator.free(handles[i]);
      long h = allocator.allocate(size);
      if (NOTOUCH) {} else allocator.putLong(h, 0, i);
      handles[i] = h;
      return h;
    }

    @Override
    void releaseAll() {
      // Nothing: the shared allocator's close() releases every block, and JMH may run that
      // teardown while another thread is still in this one.
    }
  }

  static final class NettyChurn extends Churn {
    private final ByteBufAllocator allocator;
    private final int size;
    private final ByteBuf[] buffers = new ByteBuf[LIVE];

    NettyChurn(ByteBufAllocator allocator, int size) {
      this.allocator = allocator;
      this.size = size;
      for (int i = 0; i < LIVE; i++) {
        buffers[i] = allocator.directBuffer(size);
      }
    }

    @Override
    long replace(int i) {
      buffers[i].release();
      ByteBuf b = allocator.directBuffer(size);
      b.setLong(0, i);
      buffers[i] = b;
      return b.capacity();
    }

    @Override
    void releaseAll() {
      for (ByteBuf b : buffers) {
        b.release();
      }
    }
  }

  static final class MallocChurn extends Churn {
    private static final MethodHandle MALLOC;
    private static final MethodHandle FREE;
    private static final MemorySegment ALL = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    static {
      Linker linker = Linker.nativeLinker();
      var lookup = linker.defaultLookup();
      // critical: no thread-state transition, the cheapest downcall FFM offers (a fair best case).
      MALLOC = linker.downcallHandle(lookup.find("malloc").orElseThrow(),
          FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG), Linker.Option.critical(false));
      FREE = linker.downcallHandle(lookup.find("free").orElseThrow(),
          FunctionDescriptor.ofVoid(ValueLayout.JAVA_LONG), Linker.Option.critical(false));
    }

    private final int size;
    private final long[] addresses = new long[LIVE];

    MallocChurn(int size) {
      this.size = size;
      for (int i = 0; i < LIVE; i++) {
        addresses[i] = malloc(size);
      }
    }

    private static long malloc(long size) {
      try {
        long address = (long) MALLOC.invokeExact(size);
        if (address == 0) {
          throw new OutOfMemoryError("malloc(" + size + ") failed");
        }
        return address;
      } catch (Throwable t) {
        throw new IllegalStateException(t);
      }
    }

    private static void free(long address) {
      try {
        FREE.invokeExact(address);
      } catch (Throwable t) {
        throw new IllegalStateException(t);
      }
    }

    @Override
    long replace(int i) {
      free(addresses[i]);
      long a = malloc(size);
      ALL.set(ValueLayout.JAVA_LONG_UNALIGNED, a, i);
      addresses[i] = a;
      return a;
    }

    @Override
    void releaseAll() {
      for (long a : addresses) {
        free(a);
      }
    }
  }
}
