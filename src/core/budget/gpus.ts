/**
 * GPUs by the memory the device reports to the runtime (CUDA's total as PyTorch prints it in
 * "GPU 0 has a total capacity of X GiB"), not the marketing figure. Values quoted to two decimals
 * in GiB are stored as that many GiB; ECC, driver and MIG settings move them by a few hundred MiB.
 * Each entry names where its figure was read. Update here; nothing else needs to change.
 */
export interface Gpu {
  name: string;
  bytes: number;
  /** Hopper (sm90): PyTorch's cuBLAS workspace is 32 MiB there, 8.125 MiB elsewhere. */
  sm90: boolean;
  source: string;
}

const GiB = 2 ** 30;
const gib = (value: number): number => Math.round(value * GiB);

export const GPUS: readonly Gpu[] = [
  { name: "H100", bytes: gib(79.11), sm90: true, source: "PyTorch OOM reports on H100 80GB HBM3 (79.11 GiB total capacity); not re-measured here" },
  { name: "H100-NVL", bytes: gib(93.1), sm90: true, source: "nvidia-smi 95,830 MiB less the runtime's reserve, about 93.1 GiB; not re-measured here" },
  { name: "H200", bytes: gib(139.8), sm90: true, source: "nvidia-smi 143,771 MiB less the runtime's reserve, about 139.8 GiB; not re-measured here" },
  { name: "A100-80GB", bytes: gib(79.14), sm90: false, source: "PyTorch OOM message, 'total capacity of 79.14 GiB' (lianqi1008/Control-GIC issue #6)" },
  { name: "A100-40GB", bytes: gib(39.5), sm90: false, source: "PyTorch OOM message, 'total capacity of 39.50 GiB' (TianheWu/CoSeR issue #10)" },
  { name: "L40S", bytes: gib(44.42), sm90: false, source: "PyTorch OOM message on 8× L40S, 'total capacity of 44.42 GiB' (stepfun-ai/Step-Video-T2V issue #8)" },
  { name: "L4", bytes: gib(22.03), sm90: false, source: "PyTorch OOM message on an L4, 'total capacity of 22.03 GiB' (ArcInstitute/evo2 issue #190)" },
  { name: "A10G", bytes: gib(22.2), sm90: false, source: "PyTorch OOM reports on AWS g5 (22.20 GiB total capacity); not re-measured here" },
  { name: "T4", bytes: gib(14.75), sm90: false, source: "PyTorch OOM message on Colab T4, 'total capacity of 14.75 GiB' (hpcaitech/Open-Sora issue #697)" },
  { name: "V100-32GB", bytes: gib(31.75), sm90: false, source: "PyTorch OOM message, '31.75 GiB total capacity' (hiyouga/LlamaFactory issue #182)" },
  { name: "RTX-4090", bytes: gib(23.64), sm90: false, source: "PyTorch OOM message on an RTX 4090, 'total capacity of 23.64 GiB' (ali-vilab/VGen issue #104)" },
  { name: "RTX-3090", bytes: gib(23.69), sm90: false, source: "PyTorch OOM reports on RTX 3090 (23.69 GiB total capacity); not re-measured here" },
  { name: "RTX-5090", bytes: gib(31.37), sm90: false, source: "PyTorch OOM message on an RTX 5090, 'total capacity of 31.37 GiB' (Wan-Video/Wan2.1 issue #465)" },
  { name: "RTX-4080", bytes: gib(15.59), sm90: false, source: "nvidia-smi 16,376 MiB less the runtime's reserve, about 15.59 GiB; not re-measured here" },
  { name: "RTX-4060-Ti-16GB", bytes: gib(15.6), sm90: false, source: "nvidia-smi 16,380 MiB less the runtime's reserve, about 15.60 GiB; not re-measured here" },
  // Metal's recommendedMaxWorkingSetSize is 75 % of unified memory: 154,618,822,656 bytes on 192 GiB.
  { name: "M2-Ultra-192GB", bytes: 154_618_822_656, sm90: false, source: "Metal recommendedMaxWorkingSetSize as llama.cpp logs it (154618.82 MB): 75 % of 192 GiB" },
];

/** Names compared without regard to case, spaces, hyphens or underscores. */
export function normalizeGpuName(name: string): string {
  return name.toLowerCase().replace(/[\s_-]+/g, "");
}

export function findGpu(name: string): Gpu | undefined {
  const key = normalizeGpuName(name);
  return GPUS.find((gpu) => normalizeGpuName(gpu.name) === key);
}

/** Catalogue names closest to a mistyped one (shared prefix or small edit distance). */
export function closeGpuNames(name: string): string[] {
  const key = normalizeGpuName(name);
  const scored = GPUS.map((gpu) => ({ name: gpu.name, distance: editDistance(key, normalizeGpuName(gpu.name)) }));
  const close = scored.filter((s) => s.distance <= 3 || normalizeGpuName(s.name).includes(key) || (key.length >= 2 && normalizeGpuName(s.name).startsWith(key.slice(0, 2))));
  return close.sort((a, b) => a.distance - b.distance).slice(0, 5).map((s) => s.name);
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}
