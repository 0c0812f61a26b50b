import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

/** The end-to-end tests run the compiled bin, so compile once before any test runs. */
export default function setup(): void {
  const root = resolve(__dirname, '..');
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
}
