package dev.spillway.memory;

/** The allocator was closed: its memory is gone and no handle of it is valid any more. */
public final class AllocatorClosedException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  public AllocatorClosedException() {
    super("the allocator is closed: its memory was released and its handles are no longer valid");
  }
}
