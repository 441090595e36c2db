import type { FitReport, TrainingReport } from "../budget/index.js";
import type { StorageReport } from "../storage/index.js";
import type { Check } from "./checks.js";
import type { ErrorReport } from "./error.js";

/** 2: `fit` (qaudit fit) and `error` (qaudit error) sections. */
export const SCHEMA_VERSION = 2 as const;

/** The audit's public result: what the JSON renderer writes and every other renderer draws. */
export interface Report extends StorageReport {
  schemaVersion: typeof SCHEMA_VERSION;
  kind: "report";
  /** CI budget checks (--max-memory, --max-params, --min-trainable); empty without gates. */
  checks: Check[];
  /** With --train: what fine-tuning adds (absent otherwise). */
  training?: TrainingReport;
  /** `qaudit fit`: the whole memory budget on a GPU. */
  fit?: FitReport;
  /** `qaudit error`: measured quantization error of the real weights. */
  error?: ErrorReport;
}

/** Sections computed beside the storage simulation. */
export interface ReportSections {
  checks: Check[];
  training?: TrainingReport | undefined;
  fit?: FitReport | undefined;
  error?: ErrorReport | undefined;
}

/** Puts a report together in the contract's key order (schema/report.schema.json). */
export function assembleReport(storage: StorageReport, sections: ReportSections): Report {
  const report: Report = {
    schemaVersion: SCHEMA_VERSION,
    kind: "report",
    model: storage.model,
    scheme: storage.scheme,
    tensors: storage.tensors,
    totals: storage.totals,
    explanation: storage.explanation,
    warnings: storage.warnings,
    checks: sections.checks,
  };
  if (storage.sourceQuantization !== undefined) report.sourceQuantization = storage.sourceQuantization;
  if (sections.training !== undefined) report.training = sections.training;
  if (sections.fit !== undefined) report.fit = sections.fit;
  if (sections.error !== undefined) report.error = sections.error;
  return report;
}
