/** How byte figures are written: binary (KiB, MiB, GiB), decimal (kB, MB, GB) or exact bytes. */
export const UNITS = ["iec", "si", "bytes"] as const;
export type Units = (typeof UNITS)[number];

const STEPS = {
  iec: { base: 1024, names: ["B", "KiB", "MiB", "GiB", "TiB", "PiB"] },
  si: { base: 1000, names: ["B", "kB", "MB", "GB", "TB", "PB"] },
} as const;

// Made on first use: building a number format loads locale data, which a --json run never needs.
let twoDecimals: Intl.NumberFormat | undefined;

/**
 * Human size with two decimals in the largest unit the value reaches (`342.71 MiB`); exact bytes with
 * --units bytes. (pretty-bytes rounds to three significant digits, too coarse to compare schemes.)
 */
export function formatBytes(bytes: number, units: Units): string {
  if (units === "bytes") return `${formatCount(bytes)} B`;
  const { base, names } = STEPS[units];
  let value = bytes;
  let step = 0;
  while (Math.abs(value) >= base && step < names.length - 1) {
    value /= base;
    step += 1;
  }
  twoDecimals ??= new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2, useGrouping: false });
  return step === 0 ? `${bytes} B` : `${twoDecimals.format(value)} ${names[step]}`;
}

export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}
