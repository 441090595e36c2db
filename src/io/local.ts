import { readdir, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import pLimit from "p-limit";
import { InputError } from "../core/errors.js";
import { assembleCheckpoint, NameRegistry, MAX_CONFIG_BYTES, MAX_HEADER_BYTES, MAX_INDEX_BYTES, MODEL_FILES, parseHeader, parseJsonText, parseShardIndex, planWeightFiles, readModelConfig, type Checkpoint, type CheckpointFile, type ModelConfig, type ShardIndex } from "../core/format/index.js";
import { HeaderBudget, readHeader, readQuantStateBlobs, type ByteSource } from "./byte-source.js";
import { inlineParser, parserFor, type HeaderParser } from "./header-parser.js";
import { openRegularFile, readSmallFile, readSmallText } from "./files.js";

/** Shard files open at once (a folder of 1,000 shards must not exhaust file descriptors). */
const LOCAL_CONCURRENCY = 32;

/**
 * Loads a local model: a `.safetensors` file, a header's JSON on its own, a shard index, or a folder
 * holding `model.safetensors` or `model.safetensors.index.json` (with config.json when present).
 * Every file must be a regular file (symlinks followed), read within a size limit.
 */
export async function loadLocalCheckpoint(path: string): Promise<Checkpoint> {
  const info = await statOrThrow(path);
  if (info.isDirectory()) return loadDirectory(path);
  if (path.endsWith(".json")) {
    const bytes = await readSmallFile(path, MAX_INDEX_BYTES);
    const text = new TextDecoder().decode(bytes);
    const json = parseJsonText(text, path);
    if (typeof json === "object" && json !== null && "weight_map" in json) {
      return loadSharded(dirname(path), path, parseShardIndex(text, path));
    }
    if (typeof json === "object" && json !== null && ("model_type" in json || "architectures" in json)) {
      throw new InputError(`${path}: this is a model's config.json, not a safetensors header; give the folder that holds it`);
    }
    if (bytes.length > MAX_HEADER_BYTES) throw new InputError(`${path}: a header of ${bytes.length} bytes is over the ${MAX_HEADER_BYTES}-byte limit`);
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
    return loadSharded(dir, indexPath, parseShardIndex(await readSmallText(indexPath, MAX_INDEX_BYTES), indexPath));
  }
  if (plan.kind === "none") {
    const found = plan.otherWeights.length > 0 ? ` (it has ${plan.otherWeights.join(", ")}; only safetensors headers can be audited)` : "";
    throw new InputError(`${dir}: no safetensors weights${found}`);
  }
  const limit = pLimit(LOCAL_CONCURRENCY);
  const budget = new HeaderBudget();
  const files = await Promise.all(plan.files.map((name) => limit(() => readLocalHeader(join(dir, name), name, budget))));
  return assembleCheckpoint(dir, files, await readConfig(dir));
}

async function loadSharded(dir: string, indexPath: string, index: ShardIndex): Promise<Checkpoint> {
  const limit = pLimit(LOCAL_CONCURRENCY);
  const budget = new HeaderBudget();
  // As from the Hub: many shards are parsed in a worker, and their names registered as they come.
  const parser = parserFor(index.shards.length);
  const registry = new NameRegistry(index.tensors);
  try {
    const files: CheckpointFile[] = await Promise.all(
      index.shards.map((shard) =>
        limit(async () => {
          const path = join(dir, shard);
          try {
            await stat(path);
          } catch {
            throw new InputError(`${indexPath}: shard ${shard} is missing`);
          }
          const file = await readLocalHeader(path, shard, budget, parser);
          registry.register(file.header);
          return file;
        }),
      ),
    );
    return assembleCheckpoint(dir, files, await readConfig(dir), index, indexPath, registry);
  } finally {
    parser.close();
  }
}

async function readLocalHeader(path: string, name: string, budget?: HeaderBudget, parser: HeaderParser = inlineParser): Promise<CheckpointFile> {
  const { handle, size } = await openRegularFile(path);
  try {
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
    const header = await readHeader(source, undefined, budget, parser);
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
  return readModelConfig(await readJson(path, MAX_CONFIG_BYTES));
}

async function readJson(path: string, maxBytes: number): Promise<unknown> {
  return parseJsonText(await readSmallText(path, maxBytes), path);
}

async function statOrThrow(path: string): Promise<Awaited<ReturnType<typeof stat>>> {
  try {
    return await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(code === "ENOENT" ? `${path}: no such file or directory` : `${path}: cannot read (${code})`);
  }
}
