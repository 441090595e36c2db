import { describe, expect, it } from "vitest";
import { linearGrid, renderGrid } from "../src/render/grid.js";

describe("table layout", () => {
  it("the linear layout for large tables draws exactly what cli-table3 draws", () => {
    const head = ["tensor", "×", "bytes"];
    const rows = [
      ["model.layers.*.mlp.up_proj.weight", "×32", "8.00 MiB"],
      ["lm_head.weight", "", "\u001b[2m0\u001b[22m"],
      ["model.norm.weight", "", "4.00 KiB"],
    ];
    expect(linearGrid(head, rows, ["left", "right", "right"])).toBe(renderGrid(head, rows, ["left", "right", "right"]));
  });
});
