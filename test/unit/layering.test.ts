import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '../..');

function sources(dir: string): string[] {
  return readdirSync(path.join(root, dir)).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(path.join(root, file)).isDirectory()) return sources(file);
    return file.endsWith('.ts') ? [file] : [];
  });
}

/** Every module a file names: `import … from`, `export … from` (over several lines too), `require()`, `import()`. */
const imports = (file: string) =>
  [
    ...readFileSync(path.join(root, file), 'utf8').matchAll(
      /(?:\bfrom\s+|\brequire\(\s*|\bimport\(\s*|^import\s+)['"]([^'"]+)['"]/gm,
    ),
  ].map((m) => m[1]!);

describe('layering', () => {
  it('keeps the domain free of the Functions host: nothing in lib/ imports functions/ or @azure/functions', () => {
    const files = sources('lib');
    expect(files.length).toBeGreaterThan(40);
    // The matcher sees a multi-line import (lib/pipeline.ts imports its ports over several lines).
    expect(imports('lib/pipeline.ts')).toContain('./ports');
    const offending = files.flatMap((file) =>
      imports(file)
        .filter((spec) => spec === '@azure/functions' || /(^|\/)functions\//.test(spec))
        .map((spec) => `${file} imports ${spec}`),
    );
    expect(offending).toEqual([]);
  });

  it('reads the environment only at the entry points, which hand it to lib/config.ts', () => {
    const readers = [...sources('lib'), ...sources('functions')].filter((file) =>
      /process\.env\b/.test(readFileSync(path.join(root, file), 'utf8')),
    );
    expect(readers.sort()).toEqual(['functions/handlers/workerConfig.ts', 'lib/cli/main.ts']);
  });
});
