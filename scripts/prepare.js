// Builds dist/ on `npm ci` so `npx defender-export` works from a fresh clone.
// A production install (`npm ci --omit=dev`) has no TypeScript and ships a prebuilt dist/: skip then.
const { spawnSync } = require('node:child_process');

let tsc;
try {
  tsc = require.resolve('typescript/bin/tsc');
} catch {
  console.log('prepare: TypeScript is not installed (production install); using the prebuilt dist/');
  process.exit(0);
}
const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
process.exit(result.status ?? 1);
