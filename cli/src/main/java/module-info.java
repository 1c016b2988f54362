/** Spillway's command line. */
module dev.spillway.cli {
  requires dev.spillway.actors;
  requires java.management;
}
