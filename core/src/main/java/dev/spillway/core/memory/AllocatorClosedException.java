package dev.spillway.core.memory;

/** The allocator was closed: its memory is gone and no handle of it is valid any more. */
public final class AllocatorClosedException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  AllocatorClosedException() {
    super("the allocator is closed: its memory was released and its handles are no longer valid");
  }
}
