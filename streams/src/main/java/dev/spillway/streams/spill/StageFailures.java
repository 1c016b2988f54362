package dev.spillway.streams.spill;

import dev.spillway.memory.spi.PreparedSpill;

/**
 * How a pipeline stage fails without leaving anything behind: abandoning a prepared group whatever
 * happens, the answer of requests whose stage failed in a way no failed batch covers, and rethrowing
 * the failure so that the stream stops.
 */
final class StageFailures {
  private StageFailures() {}

  /**
   * Gives {@code p} up, come what may: a failure here (the allocator closing under a stopped stream)
   * must not keep the requests behind it from being answered.
   */
  static void abandon(PreparedSpill p) {
    try {
      p.abandon();
    } catch (RuntimeException e) {
      // Nothing more to do for it: its requests are answered all the same.
    }
  }

  /** The answer of a request whose group was in a stage that failed in a way no batch failure covers. */
  static PipelineClosedException stageFailed(Throwable t) {
    return new PipelineClosedException("spill pipeline failed (" + t + ") before the request was written; the"
        + " block stays resident and the stream stops", t);
  }

  /** {@code t} as an unchecked throwable to rethrow (a checked one, thrown sneakily, is wrapped). */
  static RuntimeException rethrow(Throwable t) {
    if (t instanceof RuntimeException e) {
      return e;
    }
    if (t instanceof Error e) {
      throw e;
    }
    return new java.util.concurrent.CompletionException(t);
  }
}
