import type { TensorReport } from "../storage/index.js";

/** Tensors whose names differ only by layer indices and whose figures are equal, drawn as one row. */
export interface TensorGroup {
  /** The name with every numeric path component replaced by `*` (`model.layers.*.mlp.up_proj.weight`). */
  pattern: string;
  /** One instance: the per-instance figures. */
  instance: TensorReport;
  count: number;
}

let collator: Intl.Collator | undefined;
/** Natural order: `layers.2` before `layers.10`. (The collator is made on first use: it loads locale data.) */
export function naturalOrder(a: string, b: string): number {
  collator ??= new Intl.Collator("en", { numeric: true });
  return collator.compare(a, b);
}

/** Tensors in natural name order (`layers.2` before `layers.10`). */
export function sortTensors(tensors: TensorReport[]): TensorReport[] {
  return tensors.slice().sort((a, b) => naturalOrder(a.name, b.name));
}

/**
 * The key tensors are grouped by: the name with layer indices as `*`, and the tensor as stored in the
 * checkpoint; with `withLayout`, also how it is held after loading (so a group's instances are identical).
 */
export function groupKey(tensor: TensorReport, withLayout: boolean): { key: string; pattern: string } {
  const pattern = namePattern(tensor.name);
  const parts = [pattern, tensor.kind, tensor.originalShape.join("x"), tensor.originalDtype, tensor.tiedTo ?? ""];
  if (withLayout) parts.push(String(tensor.quantized), tensor.storedShape.join("x"), tensor.storedDtype, String(tensor.trainable));
  return { key: parts.join("|"), pattern };
}

/** The name with every numeric path component as `*` (`model.layers.*.mlp.up_proj.weight`). */
export function namePattern(name: string): string {
  return name.replace(/(^|\.)\d+(?=\.|$)/g, "$1*");
}

/** The first numeric path component: the layer index (`model.layers.12.mlp…` → 12), if any. */
export function layerIndex(name: string): number | null {
  const match = /(?:^|\.)(\d+)(?=\.|$)/.exec(name);
  return match === null ? null : Number(match[1]);
}

/** Groups repeated blocks: same name pattern and identical per-instance layout. */
export function groupTensors(tensors: TensorReport[]): TensorGroup[] {
  const groups = new Map<string, TensorGroup>();
  for (const tensor of tensors) {
    const { key, pattern } = groupKey(tensor, true);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, { pattern, instance: tensor, count: 1 });
    else group.count += 1;
  }
  return [...groups.values()].sort((a, b) => naturalOrder(a.instance.name, b.instance.name));
}
