/**
 * Spillway's data plane: off-heap blocks named by handles, spilled to segment files and restored on
 * access. Applications hold {@link dev.spillway.memory.BlockAllocator} ({@code dev.spillway.memory});
 * the control plane drives it through {@link dev.spillway.memory.spi.AllocatorControl}
 * ({@code dev.spillway.memory.spi}); {@code dev.spillway.codec} holds the codecs of stored records
 * (raw, LZ4, Zstd, Kryo for objects). The implementation ({@code dev.spillway.core.*}) is not exported, but
 * for the segment log the command line's {@code inspect} reads.
 */
@SuppressWarnings("module") // the qualified export names a module compiled after this one
module dev.spillway.core {
  requires transitive dev.spillway.config;
  requires org.lz4.java;
  // An explicit module (zstd-jni's jar has a module-info), calling its native library through FFM on
  // JDK 22+: on the module path it needs --enable-native-access=com.github.luben.zstd_jni.
  requires com.github.luben.zstd_jni;
  requires com.esotericsoftware.kryo;

  exports dev.spillway.memory;
  exports dev.spillway.memory.spi;
  exports dev.spillway.codec;
  exports dev.spillway.map;
  exports dev.spillway.core.tier to dev.spillway.cli;
}
