// Builds dist/ on `npm ci` so `npx defender-export` works from a fresh clone.
// A production install (`npm ci --omit=dev`, or a package published without sources) skips the build
// and uses the dist/ it was given.
const { existsSync } = require('node:fs');
const { spawnSync } = require('node:child_process');
const { join } = require('node:path');

const root = join(__dirname, '..');
let tsc;
try {
  tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
} catch {
  tsc = undefined;
}
if (!tsc || !existsSync(join(root, 'tsconfig.build.json'))) {
  console.log('prepare: no TypeScript or no sources here (production install); using the prebuilt dist/');
  process.exit(0);
}
const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
