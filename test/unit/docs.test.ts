import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateRoutes } from '../../lib/routing/rules';

const root = resolve(__dirname, '../..');
const readme = readFileSync(resolve(root, 'README.md'), 'utf8');

describe('the README stays true', () => {
  it('shows a ROUTES example that validates', () => {
    const example = /### Routing[\s\S]*?```json\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toBeDefined();
    expect(validateRoutes(JSON.parse(example!)).problems).toEqual([]);
  });

  it('documents every setting of local.settings.sample.json in its Configure table', () => {
    const sample = JSON.parse(readFileSync(resolve(root, 'local.settings.sample.json'), 'utf8')) as {
      Values: Record<string, string>;
    };
    const documented = readme.slice(readme.indexOf('## Configure'), readme.indexOf('### Routing'));
    const hostOwn = new Set(['FUNCTIONS_WORKER_RUNTIME', 'AzureWebJobsStorage']);
    for (const name of Object.keys(sample.Values).filter((n) => !hostOwn.has(n))) {
      expect(documented, name).toContain(`\`${name}\``);
    }
  });

  it('has a sample ROUTES that validates', () => {
    const sample = JSON.parse(readFileSync(resolve(root, 'local.settings.sample.json'), 'utf8')) as {
      Values: Record<string, string>;
    };
    expect(validateRoutes(JSON.parse(sample.Values.ROUTES!)).problems).toEqual([]);
  });
});
