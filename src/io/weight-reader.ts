import { open, stat, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { InputError } from "../core/errors.js";

/** Byte ranges of a checkpoint's files, by the names the checkpoint gives them. */
export interface WeightReader {
  read(file: string, start: number, end: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/**
 * Local files: a folder's files by name, a single `.safetensors` file, or an index's shards beside it.
 * A header given as `.json` has no weight bytes to read.
 */
export function localWeightReader(path: string): WeightReader {
  const handles = new Map<string, Promise<FileHandle>>();
  const pathOf = async (file: string): Promise<string> => {
    const info = await stat(path);
    if (info.isDirectory()) return join(path, file);
    if (path.endsWith(".safetensors") && basename(path) === file) return path;
    if (path.endsWith(".json") && file.endsWith(".safetensors")) return join(dirname(path), file);
    throw new InputError(`${path}: a header on its own has no weight bytes to read; give the .safetensors file or its folder`);
  };
  const handleOf = (file: string): Promise<FileHandle> => {
    let handle = handles.get(file);
    if (handle === undefined) {
      handle = pathOf(file).then(async (p) => {
        const info = await stat(p);
        if (!info.isFile()) throw new InputError(`${p}: not a regular file`);
        return open(p, "r");
      });
      handles.set(file, handle);
    }
    return handle;
  };
  return {
    async read(file, start, end) {
      const handle = await handleOf(file);
      const buffer = new Uint8Array(end - start);
      let filled = 0;
      while (filled < buffer.length) {
        const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, start + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return buffer.subarray(0, filled);
    },
    async close() {
      const all = await Promise.allSettled(handles.values());
      await Promise.allSettled(all.flatMap((r) => (r.status === "fulfilled" ? [r.value.close()] : [])));
    },
  };
}
