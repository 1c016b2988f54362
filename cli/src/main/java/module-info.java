/** Spillway's command line. */
module dev.spillway.cli {
  requires dev.spillway;
  requires java.management;
}
