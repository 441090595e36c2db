import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** From this many tensors on, loading leaves tens of megabytes of garbage behind (163,000 tensors: ~30 MB of peak RSS). */
export const LARGE_CHECKPOINT_TENSORS = 20_000;

type Collect = (options?: { type: "major" | "minor" }) => void;
let collector: Collect | null | undefined;

/**
 * V8's `gc`, which Node offers only with `--expose-gc`: the flag is set here (it only makes `gc`
 * available to contexts created afterwards) and the function taken from a fresh context. Where that
 * fails, null: nothing is collected, the run is the same, its peak higher.
 */
function gc(): Collect | null {
  if (collector === undefined) {
    try {
      setFlagsFromString("--expose-gc");
      const found: unknown = runInNewContext("typeof gc === 'function' ? gc : null");
      collector = typeof found === "function" ? (found as Collect) : null;
    } catch {
      collector = null;
    }
  }
  return collector;
}

/**
 * One full garbage collection, for a checkpoint of `tensors` tensors, at a phase boundary: after a
 * large index is read (while the header reads are in flight), and between loading and simulating.
 * Loading leaves garbage in V8's old generation (the index text and its pieces, each header's
 * unpacking) that V8 keeps until a full collection it has no reason to start before the process
 * ends, so simulation and output would grow the heap on top of it. For the 163-shard mock the two
 * collections take ~10 and ~22 ms and lower the peak RSS by 20–30 MB (whole-process, 11 alternating
 * runs: 239 → 210 MB at 50 ms a request, 234 → 213 MB at 150 ms).
 */
export function releaseLoadGarbage(tensors: number): void {
  if (tensors >= LARGE_CHECKPOINT_TENSORS) gc()?.();
}

/** Body bytes between two young-generation collections. */
export const YOUNG_COLLECTION_BYTES = 2 * 1024 * 1024;

/**
 * Counts bytes of HTTP bodies received, and collects V8's young generation once every
 * YOUNG_COLLECTION_BYTES of them. Each socket read is a buffer of up to 64 KiB outside V8's heap,
 * garbage as soon as its bytes are copied out, but freed only when a collection finds its small
 * wrapper object dead; the wrappers fill a 16 MB young generation slowly, so the reads of a many-shard
 * model's headers piled up, 20–36 MB of them, and the C allocator kept that high-water mark to the
 * end. Measured on the 163-shard mock (whole process, 9 alternating runs at 50 ms a request): peak RSS
 * 212 → 188 MB, wall unchanged (1.18 → 1.17 s). The ~20 collections take 3–5 ms each (they copy what
 * is still alive in the young generation), 60–100 ms of this thread in all, spent while it waits for
 * the network. Every 1, 3 or 4 MiB gave the same peak and wall within noise.
 */
export class BodyGarbage {
  private pending = 0;

  constructor(
    private readonly every = YOUNG_COLLECTION_BYTES,
    private readonly collect: () => void = () => gc()?.({ type: "minor" }),
  ) {}

  received(bytes: number): void {
    this.pending += bytes;
    if (this.pending < this.every) return;
    this.pending = 0;
    this.collect();
  }
}
