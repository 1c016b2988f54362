/**
 * Spillway, embedded: the facade {@link dev.spillway.Spillway} and what it hands out (package
 * {@code dev.spillway}), over the data plane of {@code dev.spillway.core} and the streams of
 * {@code dev.spillway.streams}. The control plane's actors, memory-pressure sources and metrics stay
 * inside.
 */
module dev.spillway {
  requires transitive dev.spillway.streams;
  requires java.management;
  requires jdk.management;
  requires jdk.httpserver;

  exports dev.spillway;
}
