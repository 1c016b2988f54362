/** The facade and the control plane's actors. */
module dev.spillway.actors {
  requires transitive dev.spillway.streams;
  requires transitive akka.actor.typed;
  requires java.management;
  requires jdk.management;
  requires jdk.httpserver;

  exports dev.spillway.actors;
  exports dev.spillway.actors.control;
  exports dev.spillway.actors.pressure;
  exports dev.spillway.actors.metrics;
}
