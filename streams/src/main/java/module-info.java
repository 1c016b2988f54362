/**
 * Spillway's Akka Streams: the batched spill pipeline ({@code dev.spillway.streams.spill}) and bulk
 * ingestion, export and prefetch ({@code dev.spillway.streams.bulk}).
 */
module dev.spillway.streams {
  requires transitive dev.spillway.core;
  requires transitive akka.stream;
  requires transitive akka.actor;
  requires transitive akka.actor.typed;
  requires scala.library;

  exports dev.spillway.streams.bulk;
  exports dev.spillway.streams.spill;
  exports dev.spillway.streams.map;
}
