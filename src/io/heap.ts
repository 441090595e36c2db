import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** From this many tensors on, loading leaves tens of megabytes of garbage behind (163,000 tensors: ~30 MB of peak RSS). */
export const LARGE_CHECKPOINT_TENSORS = 20_000;

let collect: (() => void) | null | undefined;

/**
 * One full garbage collection, for a checkpoint of `tensors` tensors, at a phase boundary: after a
 * large index is read (while the header reads are in flight), and between loading and simulating.
 * Loading leaves garbage in V8's old generation (the index text and its pieces, hundreds of HTTP
 * exchanges, each header's unpacking) that V8 keeps until a full collection it has no reason to start
 * before the process ends, so simulation and output would grow the heap on top of it. For the
 * 163-shard mock the two collections take ~10 and ~22 ms and lower the peak RSS by 20–30 MB
 * (whole-process, 11 alternating runs: 239 → 210 MB at 50 ms a request, 234 → 213 MB at 150 ms). Node offers no call for this without `--expose-gc`:
 * the flag is set here (it only makes `gc` available to contexts created afterwards) and the function
 * taken from a fresh context. Where that fails, nothing is collected: the run is the same, its peak higher.
 */
export function releaseLoadGarbage(tensors: number): void {
  if (tensors < LARGE_CHECKPOINT_TENSORS) return;
  if (collect === undefined) {
    try {
      setFlagsFromString("--expose-gc");
      const gc: unknown = runInNewContext("typeof gc === 'function' ? gc : null");
      collect = typeof gc === "function" ? (gc as () => void) : null;
    } catch {
      collect = null;
    }
  }
  collect?.();
}
