import { open, readdir, readFile, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { assembleCheckpoint, parseShardIndex, type ShardIndex } from "../core/format/index.js";
import { readModelConfig } from "../core/format/index.js";
import { InputError } from "../core/errors.js";
import { parseHeader } from "../core/format/index.js";
import type { Checkpoint, CheckpointFile } from "../core/format/index.js";
import type { ModelConfig } from "../core/format/index.js";
import { MODEL_FILES, planWeightFiles } from "../core/format/index.js";
import { readHeader, readQuantStateBlobs, type ByteSource } from "./byte-source.js";


/**
 * Loads a local model: a `.safetensors` file, a header's JSON on its own, a shard index, or a folder
 * holding `model.safetensors` or `model.safetensors.index.json` (with config.json when present).
 */
export async function loadLocalCheckpoint(path: string): Promise<Checkpoint> {
  const info = await statOrThrow(path);
  if (info.isDirectory()) return loadDirectory(path);
  if (path.endsWith(".json")) {
    const json = await readJson(path);
    if (typeof json === "object" && json !== null && "weight_map" in json) {
      return loadSharded(dirname(path), path, parseShardIndex(json, path));
    }
    if (typeof json === "object" && json !== null && ("model_type" in json || "architectures" in json)) {
      throw new InputError(`${path}: this is a model's config.json, not a safetensors header; give the folder that holds it`);
    }
    const bytes = await readFile(path);
    const header = parseHeader(bytes, path);
    return assembleCheckpoint(path, [{ name: basename(path), header }], await readConfig(dirname(path)));
  }
  const file = await readLocalHeader(path, basename(path));
  return assembleCheckpoint(path, [file], await readConfig(dirname(path)));
}

async function loadDirectory(dir: string): Promise<Checkpoint> {
  const plan = planWeightFiles(await readdir(dir));
  if (plan.kind === "index") {
    const indexPath = join(dir, MODEL_FILES.index);
    return loadSharded(dir, indexPath, parseShardIndex(await readJson(indexPath), indexPath));
  }
  if (plan.kind === "none") {
    const found = plan.otherWeights.length > 0 ? ` (it has ${plan.otherWeights.join(", ")}; only safetensors headers can be audited)` : "";
    throw new InputError(`${dir}: no safetensors weights${found}`);
  }
  const files = await Promise.all(plan.files.map((name) => readLocalHeader(join(dir, name), name)));
  return assembleCheckpoint(dir, files, await readConfig(dir));
}

async function loadSharded(dir: string, indexPath: string, index: ShardIndex): Promise<Checkpoint> {
  const files: CheckpointFile[] = await Promise.all(
    index.shards.map(async (shard) => {
      const path = join(dir, shard);
      try {
        await stat(path);
      } catch {
        throw new InputError(`${indexPath}: shard ${shard} is missing`);
      }
      return readLocalHeader(path, shard);
    }),
  );
  return assembleCheckpoint(dir, files, await readConfig(dir), index, indexPath);
}

async function readLocalHeader(path: string, name: string): Promise<CheckpointFile> {
  const handle = await open(path, "r").catch((error: NodeJS.ErrnoException) => {
    throw new InputError(`${path}: cannot open (${error.code ?? error.message})`);
  });
  try {
    const info = await handle.stat();
    if (!info.isFile() && !info.isCharacterDevice()) throw new InputError(`${path}: not a file`);
    const size = info.size;
    const source: ByteSource = {
      name: path,
      size,
      async read(start, end) {
        const buffer = new Uint8Array(Math.max(0, Math.min(end, size) - start));
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, start).catch((error: NodeJS.ErrnoException) => {
          throw new InputError(`${path}: cannot read (${error.code ?? error.message})`);
        });
        return buffer.subarray(0, bytesRead);
      },
    };
    const header = await readHeader(source);
    const blobs = await readQuantStateBlobs(source, header);
    return { name, header, ...(blobs === undefined ? {} : { blobs }) };
  } finally {
    await handle.close();
  }
}

async function readConfig(dir: string): Promise<ModelConfig | null> {
  const path = join(dir, MODEL_FILES.config);
  try {
    await stat(path);
  } catch {
    return null;
  }
  return readModelConfig(await readJson(path));
}

async function readJson(path: string): Promise<unknown> {
  const text = await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new InputError(`${path}: cannot read (${error.code ?? error.message})`);
  });
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new InputError(`${path}: not valid JSON (${(error as Error).message})`);
  }
}

async function statOrThrow(path: string): Promise<Awaited<ReturnType<typeof stat>>> {
  try {
    return await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(code === "ENOENT" ? `${path}: no such file or directory` : `${path}: cannot read (${code})`);
  }
}
