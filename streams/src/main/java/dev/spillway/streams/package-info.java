/**
 * Spillway's streams module. Akka Streams graphs over {@code core}: the batched spill pipeline with
 * backpressure, restore / prefetch flows, bulk ingestion and export. {@code docs/ARCHITECTURE.md}
 * ("The spill protocol") describes the pipeline's place in a spill.
 */
package dev.spillway.streams;
