import { setTimeout as tick } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { BodyGarbage, LARGE_CHECKPOINT_TENSORS, releaseLoadGarbage, YOUNG_COLLECTION_BYTES } from "../src/io/heap.js";

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

describe("socket reads collected as bodies arrive", () => {
  /** 300 buffers of a socket read's size (64 KiB), garbage at once, as each chunk is once copied out. */
  const dropReads = (): number => {
    for (let i = 0; i < 300; i++) new Uint8Array(64 * 1024).fill(1);
    return 300 * 64 * 1024;
  };

  it("collects once per YOUNG_COLLECTION_BYTES received, not before", () => {
    let collections = 0;
    const garbage = new BodyGarbage(YOUNG_COLLECTION_BYTES, () => (collections += 1));
    // 64 KiB chunks: the 32nd completes 2 MiB.
    for (let i = 0; i < 31; i++) garbage.received(65_536);
    expect(collections).toBe(0);
    garbage.received(65_536);
    expect(collections).toBe(1);
    // One chunk collects at most once, and the count starts again from zero: 3 × 2 MiB − 1 bytes in
    // one chunk make one more collection (two in all), not two more.
    garbage.received(3 * YOUNG_COLLECTION_BYTES - 1);
    expect(collections).toBe(2);
  });

  it("a young collection frees dead reads that would otherwise stay (V8 frees them only when it collects)", async () => {
    const garbage = new BodyGarbage(1);
    garbage.received(1);
    await tick(5);
    // Without a collection, 19.7 MB of dead reads are all still allocated a moment later.
    const dropped = dropReads();
    const kept = process.memoryUsage().arrayBuffers;
    await tick(5);
    expect(kept - process.memoryUsage().arrayBuffers).toBeLessThan(dropped / 4);
    // With one, nearly all are gone.
    const before = process.memoryUsage().arrayBuffers;
    garbage.received(1);
    await tick(5);
    expect(before - process.memoryUsage().arrayBuffers).toBeGreaterThan(dropped * 0.9);
  });
});
