package dev.spillway.core.memory;

import dev.spillway.memory.OffHeapMemoryException;
import dev.spillway.memory.SizeClasses;
import dev.spillway.config.Sizes;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.Locale;

/**
 * Maps slab memory straight from the OS. On Linux each slab is an anonymous private {@code mmap}
 * whose unmapping is tied to its own shared {@link Arena}: closing the arena returns the pages to the
 * OS at once. malloc-backed arenas cannot promise that (glibc raises its mmap threshold after the first
 * large free and then keeps freed chunks in its heap). Elsewhere the arena's own allocator is used.
 *
 * <p>Mapped memory is zero-filled and page-aligned, and costs RSS only once touched.
 */
@SuppressWarnings("restricted") // mmap and munmap through FFM downcalls: the JVM runs with --enable-native-access
final class PageMapper {
  private static final int PROT_READ_WRITE = 0x1 | 0x2;
  private static final int MAP_PRIVATE = 0x02;
  private static final int MAP_ANONYMOUS = 0x20;
  private static final long MAP_FAILED = -1L;

  private static final MethodHandle MMAP;
  private static final MethodHandle MUNMAP;
  private static final StructLayout CALL_STATE;
  private static final VarHandle ERRNO;

  static {
    MethodHandle mmap = null;
    MethodHandle munmap = null;
    StructLayout state = null;
    VarHandle errno = null;
    String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
    if (os.contains("linux")) {
      Linker linker = Linker.nativeLinker();
      Linker.Option capture = Linker.Option.captureCallState("errno");
      state = Linker.Option.captureStateLayout();
      errno = state.varHandle(MemoryLayout.PathElement.groupElement("errno"));
      var lookup = linker.defaultLookup();
      mmap = lookup.find("mmap").map(addr -> linker.downcallHandle(addr, FunctionDescriptor.of(
          ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT,
          ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG), capture)).orElse(null);
      munmap = lookup.find("munmap").map(addr -> linker.downcallHandle(addr, FunctionDescriptor.of(
          ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG), capture)).orElse(null);
    }
    boolean ok = mmap != null && munmap != null;
    MMAP = ok ? mmap : null;
    MUNMAP = ok ? munmap : null;
    CALL_STATE = ok ? state : null;
    ERRNO = ok ? errno : null;
  }

  private PageMapper() {}

  /** Whether slabs are mapped with {@code mmap} (and so unmapped exactly when closed). */
  static boolean usesMmap() {
    return MMAP != null;
  }

  /**
   * Maps {@code bytes} (a multiple of the page size) into {@code arena}: the memory is unmapped when
   * the arena closes. Throws {@link OffHeapMemoryException} when the OS refuses.
   */
  static MemorySegment map(long bytes, Arena arena) {
    if (MMAP == null) {
      try {
        return arena.allocate(bytes, SizeClasses.PAGE);
      } catch (OutOfMemoryError e) {
        throw new OffHeapMemoryException("could not reserve " + Sizes.format(bytes) + " off the heap: "
            + e.getMessage(), e);
      }
    }
    try (Arena scratch = Arena.ofConfined()) {
      MemorySegment state = scratch.allocate(CALL_STATE);
      long address = (long) MMAP.invokeExact(state, 0L, bytes, PROT_READ_WRITE,
          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0L);
      if (address == MAP_FAILED || address == 0L) {
        int errno = (int) ERRNO.get(state, 0L);
        throw new OffHeapMemoryException("mmap of " + Sizes.format(bytes) + " failed with errno " + errno
            + (errno == 12 ? " (ENOMEM: the OS has no memory left for it; check ulimit -v and the"
                + " container memory limit)" : ""));
      }
      return MemorySegment.ofAddress(address).reinterpret(bytes, arena, PageMapper::unmap);
    } catch (OffHeapMemoryException e) {
      throw e;
    } catch (Throwable t) {
      throw new OffHeapMemoryException("mmap of " + Sizes.format(bytes) + " failed: " + t, t);
    }
  }

  private static void unmap(MemorySegment segment) {
    try (Arena scratch = Arena.ofConfined()) {
      MemorySegment state = scratch.allocate(CALL_STATE);
      int rc = (int) MUNMAP.invokeExact(state, segment.address(), segment.byteSize());
      if (rc != 0) {
        // Unmapping a range we mapped cannot fail short of a bug; the pages stay mapped (a leak,
        // never a crash), so report it rather than throw from an arena's cleanup action.
        System.err.println("spillway: munmap of " + segment.byteSize() + " bytes at 0x"
            + Long.toHexString(segment.address()) + " failed with errno " + (int) ERRNO.get(state, 0L));
      }
    } catch (Throwable t) {
      System.err.println("spillway: munmap failed: " + t);
    }
  }
}
