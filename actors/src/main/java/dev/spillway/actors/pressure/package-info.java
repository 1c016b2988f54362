/**
 * Memory pressure: the sources the {@code PressureMonitor} samples (host {@code /proc/meminfo}, the
 * cgroup limit of v2 or v1, JVM direct memory), the budget derived from them, and the classification
 * of a sample into a {@link dev.spillway.PressureLevel} with hysteresis. Pure Java:
 * the actor that samples on a timer and publishes levels builds on these.
 */
package dev.spillway.actors.pressure;
