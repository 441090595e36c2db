import type { Checkpoint } from "../format/index.js";
import type { ModelConfig } from "../format/index.js";
import type { TensorInfo } from "../format/index.js";

export const TENSOR_KINDS = ["linear", "expert", "router", "embedding", "output-head", "norm", "bias", "buffer", "other"] as const;
export type TensorKind = (typeof TENSOR_KINDS)[number];

/** A tensor with what the model makes of it. */
export interface ClassifiedTensor {
  tensor: TensorInfo;
  file: string;
  kind: TensorKind;
  /** The module that owns it: the name without its last component (`…q_proj` for `…q_proj.weight`). */
  module: string;
  /** GPT-2 style `Conv1D`: a linear whose weight is stored transposed, `[in, out]`. */
  conv1d: boolean;
  /** Same parameter as this other tensor (a tied output head): counted once, there. */
  tiedTo?: string;
}

// Architectures whose linears are transformers' `Conv1D` (weight stored as [in, out]).
const CONV1D_MODEL_TYPES = new Set(["gpt2", "openai-gpt", "imagegpt", "decision_transformer"]);
const CONV1D_MODULES = new Set(["c_attn", "c_proj", "c_fc", "q_attn"]);
// Output heads by the names transformers models give them (`get_output_embeddings()` and task heads).
const OUTPUT_HEAD_MODULES = new Set(["lm_head", "embed_out", "score", "qa_outputs", "classifier"]);
// Input token embeddings, the ones an output head can be tied to.
const TOKEN_EMBEDDING_MODULES = new Set(["embed_tokens", "word_embeddings", "wte", "embed_in", "shared", "tok_embeddings"]);
// Tensors that checkpoints carry but models hold as buffers, not parameters.
const BUFFER_NAMES = new Set(["position_ids", "inv_freq", "masked_bias", "running_mean", "running_var", "num_batches_tracked"]);

/** Classifies every tensor of a checkpoint (spec §2), using config.json when there is one. */
export function classifyTensors(checkpoint: Checkpoint): ClassifiedTensor[] {
  const classified: ClassifiedTensor[] = [];
  // The entries are the array's own: a later mark changes them in place.
  classifyEach(checkpoint, (entry) => void classified.push(entry)).finish(() => {});
  return classified;
}

/**
 * The same classification, one tensor at a time: each entry is handed to `visit` (with its place in
 * checkpoint order) as soon as it is classified, and kept only if a mark may still change it (a
 * router candidate, an output head). `finish` then applies the marks that need the whole checkpoint
 * (routers beside experts, a head tied to the embedding) and hands back each entry it changed.
 * A large checkpoint is classified without a list of 100,000 entries held to the end.
 */
export function classifyEach(checkpoint: Checkpoint, visit: (entry: ClassifiedTensor, index: number) => void): { finish: (changed: (entry: ClassifiedTensor, index: number) => void) => void } {
  const config = checkpoint.config;
  const conv1dModel = isConv1dModel(checkpoint, config);
  // Mixture-of-experts blocks (the module holding `experts.N`), for the routers beside them.
  const moeBlocks = new Set<string>();
  let lastBlock: string | undefined;
  const routerCandidates: Array<{ entry: ClassifiedTensor; index: number; block: string }> = [];
  const heads: Array<{ entry: ClassifiedTensor; index: number }> = [];
  let embedding: ClassifiedTensor | undefined;
  let index = 0;
  for (const file of checkpoint.files) {
    const tensors = file.header.tensors;
    for (let i = 0; i < tensors.length; i++, index++) {
      const tensor = tensors[i]!;
      const name = tensor.name;
      const dot = name.lastIndexOf(".");
      const module = dot < 0 ? "" : name.slice(0, dot);
      // Most names end in ".weight": no leaf string is cut for them.
      const leaf = name.endsWith(".weight") ? "weight" : dot < 0 ? name : name.slice(dot + 1);
      const partDot = module.lastIndexOf(".");
      const part = module.slice(partDot + 1);
      const kind = classifyTensor(tensor, module, part, leaf, config);
      const conv1d = kind === "linear" && conv1dModel && CONV1D_MODULES.has(part);
      const entry: ClassifiedTensor = { tensor, file: file.name, kind, module, conv1d };
      if (kind === "expert") {
        // Consecutive experts share a block: one string and one Set insertion per block, not per tensor.
        const end = module.search(EXPERT_MODULE);
        if (lastBlock === undefined || lastBlock.length !== end || !module.startsWith(lastBlock)) {
          lastBlock = module.slice(0, end);
          moeBlocks.add(lastBlock);
        }
      } else if (kind === "linear" && (part === "gate" || part === "router")) {
        // The router of a mixture of experts (`block_sparse_moe.gate`, `mlp.gate`, `mlp.router` beside
        // `….experts.N`): transformers 5 holds it as a bare parameter, like the fused experts.
        routerCandidates.push({ entry, index, block: module.slice(0, Math.max(partDot, 0)) });
      } else if (kind === "output-head") {
        heads.push({ entry, index });
      } else if (kind === "embedding" && embedding === undefined && TOKEN_EMBEDDING_MODULES.has(part)) {
        embedding = entry;
      }
      visit(entry, index);
    }
  }
  return {
    finish(changed) {
      for (const { entry, index, block } of routerCandidates) {
        if (!moeBlocks.has(block)) continue;
        entry.kind = "router";
        changed(entry, index);
      }
      // An output head stored beside the embedding it is tied to is one parameter. transformers'
      // default is tied; save_pretrained drops the tied copy, so a head present without a config is untied.
      if (config === null || config.tieWordEmbeddings === false || embedding === undefined) return;
      for (const { entry, index } of heads) {
        if (!sameShape(entry.tensor.shape, embedding.tensor.shape)) continue;
        entry.tiedTo = embedding.tensor.name;
        changed(entry, index);
      }
    },
  };
}

// `experts.N` as a whole component of a module name (`mlp.experts.3`, `experts.0.w1`).
const EXPERT_MODULE = /(^|\.)experts\.\d+(\.|$)/;

function classifyTensor(tensor: TensorInfo, module: string, part: string, leaf: string, config: ModelConfig | null): TensorKind {
  const dims = tensor.shape.length;
  if (leaf === "bias") return dims === 1 ? "bias" : "buffer"; // GPT-2's [1, 1, n, n] attn.bias is a causal mask
  if (leaf !== "weight") return BUFFER_NAMES.has(leaf) ? "buffer" : "other";
  // The last module of a model is not quantized either: a task head (RoBERTa's classifier.out_proj).
  if (dims === 2 && (OUTPUT_HEAD_MODULES.has(part) || module === "classifier.out_proj")) return "output-head";
  // T5's relative_attention_bias is an nn.Embedding too.
  if (dims === 2 && /emb|^wte$|^wpe$|^shared$|_bias$/i.test(part)) return "embedding";
  if (dims === 2 && isVocabProjection(module, tensor, config)) return "output-head";
  if (dims === 1 || /norm|^ln(_|$)|_ln$/i.test(part)) return "norm";
  // One expert of a mixture of experts (`mlp.experts.3.down_proj`); shared experts are plain linears.
  if (dims === 2) return EXPERT_MODULE.test(module) ? "expert" : "linear";
  return "other";
}

/** A projection onto the vocabulary outside the repeated layers (`output`, `cls.predictions.decoder`) is an output head. */
function isVocabProjection(module: string, tensor: TensorInfo, config: ModelConfig | null): boolean {
  return config?.vocabSize !== undefined && tensor.shape[0] === config.vocabSize && !/\.\d+(\.|$)/.test(module);
}

/** GPT-2 style models, by config.json's model_type, or without one by the fused c_attn's [in, 3·in] shape. */
function isConv1dModel(checkpoint: Checkpoint, config: ModelConfig | null): boolean {
  if (config?.modelType !== undefined) return CONV1D_MODEL_TYPES.has(config.modelType);
  for (const file of checkpoint.files) {
    const attn = file.header.tensors.find((t) => t.name.endsWith("attn.c_attn.weight") && t.shape.length === 2);
    if (attn !== undefined) return attn.shape[1] === 3 * (attn.shape[0] ?? 0);
  }
  return false;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((dim, i) => dim === b[i]);
}
