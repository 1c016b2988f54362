package dev.spillway.core.tier;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A {@link FileChannel} over a real file that fails like a full device once a shared byte budget is
 * spent (the write that crosses it is short, the next one throws, as {@code writev} does on ENOSPC),
 * and whose {@code force} fails on demand. Truncation gives bytes back to the budget.
 */
final class FaultyChannel extends FileChannel {
  /** The faults shared by every channel of one log. */
  static final class Faults implements ChannelOpener {
    final AtomicLong budget = new AtomicLong(Long.MAX_VALUE);
    volatile boolean failForce;

    @Override
    public FileChannel create(Path file) throws IOException {
      return new FaultyChannel(ChannelOpener.FILES.create(file), this);
    }

    @Override
    public FileChannel openExisting(Path file) throws IOException {
      return new FaultyChannel(ChannelOpener.FILES.openExisting(file), this);
    }
  }

  private final FileChannel delegate;
  private final Faults faults;

  FaultyChannel(FileChannel delegate, Faults faults) {
    this.delegate = delegate;
    this.faults = faults;
  }

  /** Takes up to {@code wanted} bytes from the budget; throws when it is empty. */
  private long reserve(long wanted) throws IOException {
    while (true) {
      long left = faults.budget.get();
      if (left <= 0 && wanted > 0) {
        throw new IOException("No space left on device (injected)");
      }
      long take = Math.min(left, wanted);
      if (faults.budget.compareAndSet(left, left - take)) {
        return take;
      }
    }
  }

  @Override
  public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
    long total = 0;
    for (int i = offset; i < offset + length; i++) {
      total += srcs[i].remaining();
    }
    long allowed = reserve(total);
    long written = 0;
    for (int i = offset; i < offset + length && written < allowed; i++) {
      ByteBuffer b = srcs[i];
      int n = (int) Math.min(b.remaining(), allowed - written);
      ByteBuffer part = b.slice(b.position(), n);
      while (part.hasRemaining()) {
        delegate.write(part);
      }
      b.position(b.position() + n);
      written += n;
    }
    return written;
  }

  @Override
  public int write(ByteBuffer src) throws IOException {
    return (int) write(new ByteBuffer[] {src}, 0, 1);
  }

  @Override
  public int write(ByteBuffer src, long position) throws IOException {
    int n = (int) reserve(src.remaining());
    ByteBuffer part = src.slice(src.position(), n);
    int written = 0;
    while (part.hasRemaining()) {
      written += delegate.write(part, position + written);
    }
    src.position(src.position() + n);
    return n;
  }

  @Override
  public void force(boolean metaData) throws IOException {
    if (faults.failForce) {
      throw new IOException("Input/output error (injected fsync failure)");
    }
    delegate.force(metaData);
  }

  @Override
  public FileChannel truncate(long size) throws IOException {
    long before = delegate.size();
    delegate.truncate(size);
    if (before > size) {
      faults.budget.addAndGet(before - size);
    }
    return this;
  }

  @Override
  public int read(ByteBuffer dst) throws IOException {
    return delegate.read(dst);
  }

  @Override
  public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
    return delegate.read(dsts, offset, length);
  }

  @Override
  public int read(ByteBuffer dst, long position) throws IOException {
    return delegate.read(dst, position);
  }

  @Override
  public long position() throws IOException {
    return delegate.position();
  }

  @Override
  public FileChannel position(long newPosition) throws IOException {
    delegate.position(newPosition);
    return this;
  }

  @Override
  public long size() throws IOException {
    return delegate.size();
  }

  @Override
  public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
    return delegate.transferTo(position, count, target);
  }

  @Override
  public long transferFrom(ReadableByteChannel src, long position, long count) throws IOException {
    throw new IOException("transferFrom is not used by the log");
  }

  @Override
  public MappedByteBuffer map(MapMode mode, long position, long size) throws IOException {
    throw new IOException("map is not used by the log");
  }

  @Override
  public FileLock lock(long position, long size, boolean shared) throws IOException {
    return delegate.lock(position, size, shared);
  }

  @Override
  public FileLock tryLock(long position, long size, boolean shared) throws IOException {
    return delegate.tryLock(position, size, shared);
  }

  @Override
  protected void implCloseChannel() throws IOException {
    delegate.close();
  }
}
