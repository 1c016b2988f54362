/** The control plane's streams. */
module dev.spillway.streams {
  requires transitive dev.spillway.core;
  requires transitive akka.stream;
  requires transitive akka.actor;
  requires transitive akka.actor.typed;
  requires scala.library;

  exports dev.spillway.streams;
  exports dev.spillway.streams.spill;
  exports dev.spillway.streams.bulk;
}
