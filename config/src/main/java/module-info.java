/** Spillway's settings: reference.conf and the typed, validated records every other module takes. */
module dev.spillway.config {
  requires transitive typesafe.config;

  exports dev.spillway.config;
}
