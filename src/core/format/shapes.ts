/**
 * Tensors of one shape share one shape array. A large checkpoint has 163,000 tensors and a few dozen
 * shapes (every expert's projections alike): one array each instead of one per tensor saves ~80 bytes
 * a tensor. Shapes are read-only everywhere (`readonly number[]`), so sharing is safe.
 *
 * A direct-mapped cache: a shape's slot is a hash of its dimensions, and a slot holds the last shape
 * that landed there. Bounded (it never holds more than SLOTS arrays), no strings built, and a miss
 * costs only the array the caller would have made anyway.
 */
const SLOTS = 1024;
const cache: (readonly number[] | undefined)[] = new Array<readonly number[] | undefined>(SLOTS);

/** The shared array equal to `dims[from .. from + rank)`. */
export function shapeOf(dims: ArrayLike<number>, from: number, rank: number): readonly number[] {
  let hash = rank;
  for (let d = 0; d < rank; d++) hash = (Math.imul(hash, 31) + (dims[from + d]! | 0) + Math.floor(dims[from + d]! / 4294967296)) | 0;
  const slot = hash & (SLOTS - 1);
  const cached = cache[slot];
  if (cached !== undefined && cached.length === rank) {
    let same = true;
    // Object.is: a header's "-0" stays -0, as JSON.parse reads it.
    for (let d = 0; d < rank && same; d++) same = Object.is(cached[d], dims[from + d]);
    if (same) return cached;
  }
  const shape = new Array<number>(rank);
  for (let d = 0; d < rank; d++) shape[d] = dims[from + d]!;
  cache[slot] = shape;
  return shape;
}

const pair = [0, 0];

/** The shared array `[rows, cols]`, with no array made when it is already there. */
export function matrixShape(rows: number, cols: number): readonly number[] {
  pair[0] = rows;
  pair[1] = cols;
  return shapeOf(pair, 0, 2);
}
