/** The data plane. */
module dev.spillway.core {
  requires transitive dev.spillway.config;
  requires org.lz4.java;
  requires com.esotericsoftware.kryo;

  exports dev.spillway.core.memory;
  exports dev.spillway.core.tier;
  exports dev.spillway.core.codec;
}
