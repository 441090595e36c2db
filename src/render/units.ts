import prettyBytes from "pretty-bytes";

/** How byte figures are written: binary (KiB, MiB, GiB), decimal (kB, MB, GB) or exact bytes. */
export const UNITS = ["iec", "si", "bytes"] as const;
export type Units = (typeof UNITS)[number];

export function formatBytes(bytes: number, units: Units): string {
  if (units === "bytes") return `${formatCount(bytes)} B`;
  return prettyBytes(bytes, { binary: units === "iec", maximumFractionDigits: 2 });
}

export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

export function formatShape(shape: number[]): string {
  return `[${shape.join(", ")}]`;
}
