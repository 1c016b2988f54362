package dev.spillway.memory.spi;

/**
 * What one {@link AllocatorControl#maintain()} pass did.
 *
 * @param deadThreadCaches caches of terminated threads whose blocks went back to the pools
 * @param idleThreadCaches caches idle since the previous pass, asked to trim on their next use
 * @param blocksGrown capacity added, in blocks, over all classes
 * @param blocksShrunk capacity released to the OS, in blocks, over all classes
 */
public record MaintenanceReport(int deadThreadCaches, int idleThreadCaches, long blocksGrown, long blocksShrunk) {}
