/**
 * Spillway's streams module. Akka Streams graphs over {@code core}: the batched spill pipeline with backpressure, restore / prefetch flows, bulk ingestion and export (../shared/DESIGN.md, "Spill pipeline").
 */
package dev.spillway.streams;
