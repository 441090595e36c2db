/**
 * Import rules for src/, checked on every `npm test` (npm run deps). The layers, bottom up:
 *   core/errors.ts
 *   core/format → core/storage → core/numerics, core/budget → core/report   (pure core)
 *   io (sources)    render (renderers)    cli (wiring, the only place that exits)
 * An area imports only areas below it; outside core, core is reached through each area's index.
 */
const CORE_AREA_ORDER = ["format", "storage", "numerics", "budget", "report"];

/** Each core area may import only the areas listed before it. */
const areaRules = CORE_AREA_ORDER.map((area, i) => {
  const above = CORE_AREA_ORDER.slice(i + 1);
  return above.length === 0
    ? null
    : {
        name: `core-${area}-downward-only`,
        severity: "error",
        comment: `core/${area} may import only ${["errors", ...CORE_AREA_ORDER.slice(0, i)].join(", ")}`,
        from: { path: `^src/core/${area}/` },
        to: { path: `^src/core/(${above.join("|")})/` },
      };
}).filter((r) => r !== null);

module.exports = {
  forbidden: [
    { name: "no-circular", severity: "error", comment: "no import circles anywhere in src/, type-only imports included", from: { path: "^src/" }, to: { circular: true } },
    { name: "core-is-pure", severity: "error", comment: "core imports no Node module and nothing from io/, render/ or cli/", from: { path: "^src/core/" }, to: { path: ["^src/(io|render|cli)/", "^node:"] } },
    { name: "core-no-builtins", severity: "error", comment: "core runs without Node: no built-in modules", from: { path: "^src/core/" }, to: { dependencyTypes: ["core"] } },
    { name: "core-no-packages", severity: "error", comment: "core has no runtime dependencies", from: { path: "^src/core/" }, to: { dependencyTypes: ["npm", "npm-dev", "npm-optional", "npm-peer", "npm-no-pkg", "npm-unknown"] } },
    { name: "errors-is-the-bottom", severity: "error", from: { path: "^src/core/errors\\.ts$" }, to: { path: "^src/" } },
    ...areaRules,
    { name: "io-not-cli-render", severity: "error", comment: "sources never import the CLI or the renderers", from: { path: "^src/io/" }, to: { path: "^src/(cli|render)/" } },
    { name: "render-not-cli-io", severity: "error", comment: "renderers are pure: never the CLI, never a source", from: { path: "^src/render/" }, to: { path: "^src/(cli|io)/" } },
    { name: "render-no-builtins", severity: "error", comment: "renderers turn data into text: no filesystem, network or process", from: { path: "^src/render/" }, to: { dependencyTypes: ["core"] } },
    { name: "core-through-index", severity: "error", comment: "outside core, a core area is reached through its index.ts", from: { path: "^src/(io|render|cli)/" }, to: { path: "^src/core/[^/]+/", pathNot: "^src/core/[^/]+/index\\.ts$" } },
    { name: "core-areas-through-index", severity: "error", comment: "one core area reaches another through its index.ts", from: { path: "^src/core/([^/]+)/" }, to: { path: "^src/core/[^/]+/", pathNot: ["^src/core/$1/", "^src/core/[^/]+/index\\.ts$"] } },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js"] },
  },
};
