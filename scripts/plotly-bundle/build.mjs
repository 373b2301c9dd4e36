// Builds ../../static/vendor/plotly-ftlab.min.js from the pinned plotly.js (package-lock.json) with
// esbuild, the way plotly.js documents partial bundles for bundlers (lib/core + Plotly.register).
// Run: cd scripts/plotly-bundle && npm ci && npm run build   (deterministic: same lock, same bytes)
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const version = JSON.parse(readFileSync(here('./node_modules/plotly.js/package.json'), 'utf8')).version;

await build({
  entryPoints: [here('./entry.js')],
  outfile: here('../../static/vendor/plotly-ftlab.min.js'),
  bundle: true,
  minify: true,
  format: 'iife',
  globalName: 'Plotly',
  platform: 'browser',
  target: ['es2018'],
  legalComments: 'none',
  define: { global: 'window' },
  banner: { js: `/* plotly.js v${version} (MIT, Plotly, Inc.), partial bundle: scatter, bar, scatter3d, surface, mesh3d. Built by scripts/plotly-bundle. */` },
  loader: { '.css': 'empty' }, // maplibre's stylesheet, required only for map subplots (not bundled)
  logLevel: 'warning',
});
console.log(`plotly.js ${version} -> static/vendor/plotly-ftlab.min.js`);
