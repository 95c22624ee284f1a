// Bundles src/ into dist/ (esbuild): one small entry, and a separate chunk for the charts that only
// the statistics pages load. `make run` / `make test` run this when the sources change.
import { build } from "esbuild";
import { rmSync, writeFileSync } from "node:fs";

rmSync("dist", { recursive: true, force: true });
const result = await build({
  entryPoints: { app: "src/main.js" },
  bundle: true,
  splitting: true,
  format: "esm",
  minify: true,
  sourcemap: "linked",
  target: ["es2020"],
  outdir: "dist",
  chunkNames: "chunks/[name]-[hash]",
  assetNames: "assets/[name]-[hash]",
  loader: { ".png": "file", ".svg": "file" },
  metafile: true,
  logLevel: "warning",
});
let total = 0;
for (const [file, info] of Object.entries(result.metafile.outputs)) {
  if (file.endsWith(".map")) continue;
  total += info.bytes;
  console.log(`  ${file.padEnd(44)} ${(info.bytes / 1024).toFixed(1).padStart(7)} KiB`);
}
console.log(`  total ${(total / 1024).toFixed(1)} KiB`);
writeFileSync("dist/.built", new Date().toISOString() + "\n");
