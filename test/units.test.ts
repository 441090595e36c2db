import { describe, expect, it } from "vitest";
import { formatBytes } from "../src/render/units.js";

describe("formatBytes", () => {
  it.each([
    [0, "iec", "0 B"],
    [1023, "iec", "1023 B"],
    [1024, "iec", "1.00 KiB"],
    [359_354_368, "iec", "342.71 MiB"], // 359,354,368 / 2^20 = 342.707…
    [7_516_192_768, "iec", "7.00 GiB"], // 7 × 2^30
    [1_324_785_664, "si", "1.32 GB"],
    [1_324_785_664, "bytes", "1,324,785,664 B"],
  ] as const)("%i bytes in %s: %s", (bytes, units, text) => {
    expect(formatBytes(bytes, units)).toBe(text);
  });
});
