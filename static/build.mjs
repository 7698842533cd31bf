// Bundles every static/src/pages/<name>.js into static/dist/<name>.js (one file per page).
// The output is committed; CI rebuilds it and fails if it differs from what is committed.
import { build } from "esbuild";
import { readdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const pages = join(here, "src", "pages");
const entryPoints = readdirSync(pages).filter((f) => f.endsWith(".js")).sort().map((f) => join(pages, f));

// An output folder may be given (the test suite builds into a temporary one and compares).
const outdir = process.argv[2] || join(here, "dist");

await build({
  entryPoints,
  outdir,
  bundle: true,
  format: "esm",
  minify: true,
  target: ["es2020"],
  legalComments: "none",
  logLevel: "info",
  splitting: false,
});
