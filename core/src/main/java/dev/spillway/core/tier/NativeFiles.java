package dev.spillway.core.tier;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Positional reads straight into off-heap memory through {@code pread(2)}, for the restore path.
 *
 * <p>Why not {@link java.nio.channels.FileChannel#read(java.nio.ByteBuffer, long)}: it needs a
 * {@code ByteBuffer} framing the destination (a new one per block, since a slab's shared view may
 * not have its position moved), registers the thread for interruption and acquires the buffer's
 * memory session around the call. Measured on the reference machine for 4 KiB reads from the page
 * cache into random blocks of 64 MiB of slab memory, that cost a p99 of 4.2 to 5.7 µs against 2.0 to
 * 2.5 µs for this downcall (same p50, about 1.5 µs); a restore has to write into a cold block either
 * way, and this keeps it within reach of a raw read into a hot buffer.
 *
 * <p>The downcall is {@code critical} (no thread-state transition: a read from the page cache takes
 * microseconds; a read that blocks on the device holds up only safepoints that wait for it, like any
 * JNI-free system call made from Java). Its errno is not captured, so a failed read is asked once
 * more through a capturing handle to report the error.
 *
 * <p>Linux only: elsewhere {@link #available()} is false and callers read through their channel.
 * File descriptors come from {@link #openForRead} and must be closed with {@link #close}, once no
 * read can be running on them (the segment log closes a segment under its lifecycle write lock).
 */
@SuppressWarnings("restricted") // open, pread and close through FFM downcalls: the JVM runs with --enable-native-access
final class NativeFiles {
  private static final int O_RDONLY = 0;
  private static final int O_CLOEXEC = 0x80000; // Linux, x86-64 and aarch64 alike
  private static final int EINTR = 4;

  private static final MethodHandle OPEN;
  private static final MethodHandle CLOSE;
  private static final MethodHandle PREAD;
  private static final MethodHandle PREAD_ERRNO;
  private static final StructLayout CALL_STATE;
  private static final VarHandle ERRNO;

  static {
    MethodHandle open = null;
    MethodHandle close = null;
    MethodHandle pread = null;
    MethodHandle preadErrno = null;
    StructLayout state = null;
    VarHandle errno = null;
    if (System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
      try {
        Linker linker = Linker.nativeLinker();
        var lookup = linker.defaultLookup();
        Linker.Option capture = Linker.Option.captureCallState("errno");
        state = Linker.Option.captureStateLayout();
        errno = state.varHandle(MemoryLayout.PathElement.groupElement("errno"));
        FunctionDescriptor preadType = FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT,
            ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG);
        MemorySegment preadAddress = lookup.find("pread").orElseThrow();
        open = linker.downcallHandle(lookup.find("open").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT), capture);
        close = linker.downcallHandle(lookup.find("close").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
        pread = linker.downcallHandle(preadAddress, preadType, Linker.Option.critical(false));
        preadErrno = linker.downcallHandle(preadAddress, preadType, capture);
      } catch (RuntimeException | LinkageError e) {
        open = null; // no native reads: every read goes through the channel
      }
    }
    boolean ok = open != null;
    OPEN = ok ? open : null;
    CLOSE = ok ? close : null;
    PREAD = ok ? pread : null;
    PREAD_ERRNO = ok ? preadErrno : null;
    CALL_STATE = ok ? state : null;
    ERRNO = ok ? errno : null;
  }

  private NativeFiles() {}

  /** Whether native reads are available (Linux). */
  static boolean available() {
    return OPEN != null;
  }

  /**
   * A read-only descriptor of {@code file}, or -1 when native reads are unavailable or the open
   * fails (the caller then reads through its channel; the channel's own open reports real errors).
   */
  static int openForRead(Path file) {
    if (OPEN == null) {
      return -1;
    }
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = arena.allocate(CALL_STATE);
      for (;;) {
        int fd = (int) OPEN.invokeExact(state, arena.allocateFrom(file.toString()), O_RDONLY | O_CLOEXEC);
        if (fd >= 0 || (int) ERRNO.get(state, 0L) != EINTR) {
          return fd;
        }
      }
    } catch (Throwable t) {
      return -1;
    }
  }

  /** Closes a descriptor of {@link #openForRead}; -1 is ignored. */
  static void close(int fd) {
    if (fd < 0 || CLOSE == null) {
      return;
    }
    try {
      int ignored = (int) CLOSE.invokeExact(fd); // Linux frees the descriptor even when close fails
    } catch (Throwable t) {
      throw new IllegalStateException("close of descriptor " + fd + " failed", t);
    }
  }

  /**
   * Reads exactly {@code length} bytes at {@code position} of descriptor {@code fd} into the memory
   * at {@code address}, which the caller guarantees is writable for {@code length} bytes and stays
   * mapped for the call. A read that ends early (end of file) or fails is an {@link IOException}
   * naming {@code file}.
   */
  static void readFully(int fd, long address, long length, long position, Path file) throws IOException {
    long done = 0;
    while (done < length) {
      long n;
      try {
        n = (long) PREAD.invokeExact(fd, address + done, length - done, position + done);
        if (n < 0) {
          n = readReportingErrno(fd, address + done, length - done, position + done, file);
        }
      } catch (IOException e) {
        throw e;
      } catch (Throwable t) {
        throw new IOException("read of " + length + " bytes at offset " + position + " of " + file + " failed: " + t, t);
      }
      if (n == 0) {
        throw new IOException(file + " ends at offset " + (position + done) + ", before the " + length
            + " bytes to read at offset " + position);
      }
      done += n;
    }
  }

  /** The read again, through the handle that captures errno: retried on EINTR, thrown otherwise. */
  private static long readReportingErrno(int fd, long address, long length, long position, Path file)
      throws Throwable {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = arena.allocate(CALL_STATE);
      for (;;) {
        long n = (long) PREAD_ERRNO.invokeExact(state, fd, address, length, position);
        if (n >= 0) {
          return n;
        }
        int errno = (int) ERRNO.get(state, 0L);
        if (errno != EINTR) {
          throw new IOException("read of " + length + " bytes at offset " + position + " of " + file
              + " failed with errno " + errno);
        }
      }
    }
  }
}
