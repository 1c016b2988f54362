/**
 * Spillway's actors module. The Akka Typed control plane and the embedded {@code Spillway} facade: the
 * facade opens the allocator and the spill pipeline and starts the actors of {@code control} (memory
 * guardian, pool, tier, pressure and idle actors), which keep the memory Spillway maps within its
 * budget. {@code docs/ARCHITECTURE.md} ("The budget, and how the control plane makes room") describes
 * how.
 */
package dev.spillway.actors;

import dev.spillway.Spillway;
