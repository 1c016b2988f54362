/**
 * Spillway's actors module. The Akka Typed control plane and the embedded {@code Spillway} facade (../shared/DESIGN.md, "Control plane").
 */
package dev.spillway.actors;
