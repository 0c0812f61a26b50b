import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BICEP_REQUIRED,
  buildAll,
  buildParams,
  diagnosticsByFile,
  findBicep,
  HOW_TO_GET_BICEP,
  lintAll,
  ROOT,
  withoutParameterVariables,
} from '../helpers/bicep';

/**
 * The real Bicep compiler and linter over infra/: every template builds and lints with no diagnostic at all
 * (infra/bicepconfig.json makes every linter rule an error), every parameters file builds. Each check runs
 * the CLI once for all files (a run takes seconds), then each file is its own test.
 */

const INFRA = path.join(ROOT, 'infra');
const files = (readdirSync(INFRA, { recursive: true }) as string[]).map((f) => path.join(INFRA, f)).sort();
const templates = files.filter((f) => f.endsWith('.bicep'));
const parameterFiles = files.filter((f) => f.endsWith('.bicepparam'));
const relative = (file: string) => path.relative(ROOT, file);

const bicep = findBicep();
if (!bicep && !BICEP_REQUIRED) console.log(HOW_TO_GET_BICEP);

it.runIf(BICEP_REQUIRED)('finds a Bicep CLI (DEFENDER_EXPORT_REQUIRE_BICEP is set)', () => {
  expect(bicep, HOW_TO_GET_BICEP).toBeDefined();
});

describe.skipIf(!bicep)(`bicep build, build-params and lint over infra/ (CLI from ${bicep?.source})`, () => {
  let outdir: string;
  let built: Map<string, string[]>;
  let linted: Map<string, string[]>;

  beforeAll(() => {
    outdir = mkdtempSync(path.join(os.tmpdir(), 'bicep-build-'));
    // Patterns are relative to infra/, and so are the paths of the built files in outdir.
    built = diagnosticsByFile(buildAll('**/*.bicep', outdir, { cwd: INFRA }), templates);
    linted = diagnosticsByFile(lintAll('**/*.bicep*', { cwd: INFRA }), [...templates, ...parameterFiles]);
  });

  afterAll(() => {
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  });

  it('finds templates and parameters files under infra/', () => {
    expect(templates).toContain(path.join(INFRA, 'main.bicep'));
    expect(parameterFiles).toContain(path.join(INFRA, 'main.bicepparam'));
  });

  it.each(templates.map(relative))('bicep build %s: an ARM template, no diagnostics', (file) => {
    expect(built.get(path.join(ROOT, file))).toEqual([]);
    const json = path.join(outdir, path.relative('infra', file).replace(/\.bicep$/, '.json'));
    expect(existsSync(json), `${json} written`).toBe(true);
    expect(JSON.parse(readFileSync(json, 'utf8'))).toHaveProperty('resources');
  });

  it.each([...templates, ...parameterFiles].map(relative))('bicep lint %s: no diagnostics', (file) => {
    expect(linted.get(path.join(ROOT, file))).toEqual([]);
  });

  it.each(parameterFiles.map(relative))('bicep build-params %s: parameters, no diagnostics', (file) => {
    const result = buildParams(file, { env: withoutParameterVariables(file) });
    expect(result.diagnostics).toEqual([]);
    expect(result.status).toBe(0);
    const output = JSON.parse(result.stdout) as { parametersJson: string };
    expect(JSON.parse(output.parametersJson)).toHaveProperty('parameters');
  });

  it('leaves no compiled JSON next to the templates', () => {
    const stray = templates.map((f) => f.replace(/\.bicep$/, '.json')).filter((f) => existsSync(f));
    expect(stray.map(relative)).toEqual([]);
  });
});
