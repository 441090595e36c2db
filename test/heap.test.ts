import { setTimeout as tick } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { LARGE_CHECKPOINT_TENSORS, releaseLoadGarbage } from "../src/io/heap.js";

describe("garbage released after loading a large checkpoint", () => {
  it("collects what a load left in the old generation", async () => {
    // ~60 MB of objects that live through a full collection (so they sit in the old generation), then
    // are dropped, as a load's pieces are. The first collection also ends any marking V8 had under
    // way, which would otherwise keep objects made during it alive for one more cycle.
    let kept: Array<{ name: string; at: number[] }> | null = [];
    for (let i = 0; i < 400_000; i++) kept.push({ name: `model.layers.${i % 61}.mlp.experts.${i}.down_proj.weight`, at: [i, i + 1] });
    const witness = new WeakRef(kept);
    await tick(1);
    releaseLoadGarbage(LARGE_CHECKPOINT_TENSORS);
    const before = process.memoryUsage().heapUsed;
    kept = null;
    await tick(1);
    releaseLoadGarbage(LARGE_CHECKPOINT_TENSORS);
    expect(before - process.memoryUsage().heapUsed).toBeGreaterThan(40_000_000);
    await tick(1);
    expect(witness.deref()).toBeUndefined();
  });
});
