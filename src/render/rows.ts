import { groupTensors, sortTensors } from "../core/report/index.js";
import type { Report } from "../core/report/index.js";
import type { TensorReport } from "../core/storage/index.js";
import { formatShape } from "./units.js";

export interface Row {
  /** Tensor name, or the group's pattern. */
  name: string;
  /** One instance's figures. */
  tensor: TensorReport;
  count: number;
}

/** The rows every tabular renderer draws: repeated blocks grouped, or every tensor. */
export function reportRows(report: Report, allTensors: boolean): Row[] {
  return allTensors
    ? sortTensors(report.tensors).map((tensor) => ({ name: tensor.name, tensor, count: 1 }))
    : groupTensors(report.tensors).map((g) => ({ name: g.pattern, tensor: g.instance, count: g.count }));
}

/** The totals as labelled lines, shared by the terminal and markdown renderers. */
export function totalLines(report: Report): Array<{ label: string; value: number; bytes: boolean }> {
  const t = report.totals;
  return [
    { label: "parameters (logical)", value: t.logicalParameters, bytes: false },
    { label: "sum(p.numel())", value: t.reportedParameters, bytes: false },
    { label: "trainable", value: t.trainableParameters, bytes: false },
    { label: "get_memory_footprint()", value: t.parameterBytes, bytes: true },
    { label: "quantization state", value: t.quantStateBytes, bytes: true },
    { label: "total", value: t.totalBytes, bytes: true },
  ];
}

export function schemeTitle(report: Report): string {
  const { scheme } = report;
  return scheme.name === "stored" ? "as stored" : `${scheme.name}${scheme.doubleQuant ? " + double quant" : ""}`;
}

/** The "original" column: a packed weight shows what it stands for (logical shape, format), others their header entry. */
export function originalLabel(tensor: TensorReport): string {
  if (tensor.format === undefined) return `${formatShape(tensor.originalShape)} ${tensor.originalDtype}`;
  return `${tensor.logicalShape === null || tensor.logicalShape === undefined ? "[?]" : formatShape(tensor.logicalShape)} ${tensor.format}`;
}
