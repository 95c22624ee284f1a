// Bundles src/ into dist/ (esbuild): one small entry, and a separate chunk for the charts that only
// the statistics pages load. Then the service worker (src/sw.js, Workbox) with the list of every file
// it precaches (each with a hash of its content), the web app manifest and its icons.
// `make run` / `make test` run this when the sources change.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";

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

// The manifest and its icons.
mkdirSync("dist/icons", { recursive: true });
copyFileSync("src/manifest.webmanifest", "dist/manifest.webmanifest");
for (const icon of readdirSync("src/icons")) copyFileSync(`src/icons/${icon}`, `dist/icons/${icon}`);

// The precache list: the shell (index.html) and every built file but source maps, with content hashes.
const revision = (path) => createHash("sha256").update(readFileSync(path)).digest("hex").slice(0, 16);
const listed = [{ url: "/index.html", revision: revision("index.html") }];
const walk = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(`${dir}/${e.name}`) : [`${dir}/${e.name}`]));
for (const path of walk("dist")) {
  if (path.endsWith(".map") || path.endsWith("/.built")) continue;
  listed.push({ url: "/" + path, revision: revision(path) });
}
await build({
  entryPoints: { sw: "src/sw.js" },
  bundle: true,
  format: "iife",
  minify: true,
  target: ["es2020"],
  outdir: "dist",
  define: { "self.__WB_MANIFEST": JSON.stringify(listed), "process.env.NODE_ENV": '"production"' },
  logLevel: "warning",
});
console.log(`  dist/sw.js precaches ${listed.length} files`);

// Brotli and gzip copies of the text files, which the local web server sends to browsers that accept
// them (CloudFront compresses by itself in AWS; the deploy skips these copies).
let packed = 0;
for (const path of walk("dist")) {
  if (!/\.(js|css|webmanifest|svg)$/.test(path)) continue;
  const raw = readFileSync(path);
  writeFileSync(path + ".gz", gzipSync(raw, { level: 9 }));
  const br = brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } });
  writeFileSync(path + ".br", br);
  if (path === "dist/app.js") packed = [raw.length, readFileSync(path + ".gz").length, br.length];
}
console.log(`  dist/app.js ${(packed[0] / 1024).toFixed(1)} KiB, gzip ${(packed[1] / 1024).toFixed(1)} KiB, brotli ${(packed[2] / 1024).toFixed(1)} KiB`);
writeFileSync("dist/.built", new Date().toISOString() + "\n");
