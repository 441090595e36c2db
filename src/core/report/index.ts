/**
 * report — the public results the renderers draw: the audit report in its contract's order,
 * CI budget checks and the exit code they imply, scheme and model comparisons, and grouping of
 * repeated blocks (`layers.*` rows).
 * May import: every other core area (it is the top).
 */
export { getExitCode, runChecks, type Check, type Gates } from "./checks.js";
export { buildComparison, DEFAULT_COMPARE, fidelityRank, schemeLabel, type Comparison, type ComparisonRow, type SchemeChoice, type Simulate, type SimulatedModel } from "./compare.js";
export { buildErrorReport, type ErrorGroup, type ErrorInputs, type ErrorReport, type KeepPick, type TensorError } from "./error.js";
export { groupKey, layerIndex, namePattern, groupTensors, naturalOrder, sortTensors, type TensorGroup } from "./group.js";
export { assembleReport, SCHEMA_VERSION, type Report, type ReportSections } from "./report.js";
export { pickModulesToKeep } from "./keep-budget.js";
