import type { TensorReport } from "./types.js";

/** Tensors whose names differ only by layer indices and whose figures are equal, drawn as one row. */
export interface TensorGroup {
  /** The name with every numeric path component replaced by `*` (`model.layers.*.mlp.up_proj.weight`). */
  pattern: string;
  /** One instance: the per-instance figures. */
  instance: TensorReport;
  count: number;
}

const naturalOrder = new Intl.Collator("en", { numeric: true }).compare;

/** Tensors in natural name order (`layers.2` before `layers.10`). */
export function sortTensors(tensors: TensorReport[]): TensorReport[] {
  return tensors.slice().sort((a, b) => naturalOrder(a.name, b.name));
}

/** Groups repeated blocks: same name pattern and identical per-instance layout. */
export function groupTensors(tensors: TensorReport[]): TensorGroup[] {
  const groups = new Map<string, TensorGroup>();
  for (const tensor of tensors) {
    const pattern = tensor.name.replace(/(^|\.)\d+(?=\.|$)/g, "$1*");
    const key = [
      pattern,
      tensor.kind,
      tensor.quantized,
      tensor.originalShape.join("x"),
      tensor.originalDtype,
      tensor.storedShape.join("x"),
      tensor.storedDtype,
      tensor.trainable,
      tensor.tiedTo ?? "",
    ].join("|");
    const group = groups.get(key);
    if (group === undefined) groups.set(key, { pattern, instance: tensor, count: 1 });
    else group.count += 1;
  }
  return [...groups.values()].sort((a, b) => naturalOrder(a.instance.name, b.instance.name));
}
