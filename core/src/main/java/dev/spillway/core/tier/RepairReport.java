package dev.spillway.core.tier;

import java.util.List;

/**
 * What {@link LogInspector#repair} did: the log as it was found, every cut made (the same ones opening
 * the log would make), and the log as it is afterwards. Damage repair does not undo, corrupt records
 * in the middle of a segment above all, is still in {@link #after()}: recovery skips those records,
 * and their keys are lost.
 *
 * @param before the inspection before any change
 * @param cuts every file truncated or deleted, in file order
 * @param after the inspection after the cuts
 */
public record RepairReport(InspectionReport before, List<Cut> cuts, InspectionReport after) {

  public RepairReport {
    cuts = List.copyOf(cuts);
  }
}
