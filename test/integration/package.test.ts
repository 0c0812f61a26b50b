import ignore from 'ignore';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  azdFiles,
  build,
  copyProject,
  coreToolsFiles,
  coreToolsIgnore,
  extract,
  installProduction,
  loadApp,
  repoRoot,
  runPrepackageHook,
  sampleAppSettings,
  serviceSetting,
  type LoadResult,
} from '../helpers/funcPackage';
import { templateAppSettings } from '../helpers/templateSettings';

// Both publish paths of the README, rehearsed without the tools (neither Core Tools nor azd installs here):
// the project folder as `func azure functionapp publish` finds it after `npm ci && npm run build && npm prune
// --omit=dev`, and the folder azure.yaml's prepackage hook stages for azd; each tool's .funcignore rules pick
// the files, the zip's round trip unpacks them in an empty folder, and the Node worker's way of loading
// package.json `main` runs there with the function app's settings.

const read = (file: string) => readFileSync(join(repoRoot, file), 'utf8');
const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };

/** What a developer's folder holds besides the clone: none of it may ship. */
const LOCAL_STATE = [
  'local.settings.json',
  '.vscode/settings.json',
  '.azure/dev/.env',
  'coverage/lcov.info',
  'test-results/results.json',
  'dist/package/package.json',
];

/** The .funcignore before patterns were anchored: under azd's gitignore rules `coverage/` matched dist/lib/coverage/. */
const UNANCHORED_FUNCIGNORE = `*.ts
*.mts
*.js.map
.git*
.ci/
.vscode/
.prettier*
eslint.config.mjs
vitest.config.mts
tsconfig*.json
local.settings.json
local.settings.sample.json
test/
test-results/
coverage/
docs/
node_modules/@types/
node_modules/typescript/
node_modules/vitest/
node_modules/fast-check/
dev/
bench/
dist/dev/
dist/bench/
infra/
.azure/
azure.yaml
`;

const EXPECTED_FUNCTIONS = {
  ingestDefenderForCloud: {
    type: 'eventHubTrigger',
    eventHubName: '%DEFENDER_CLOUD_EVENTHUB%',
    consumerGroup: '%EVENTHUB_CONSUMER_GROUP%',
    connection: 'EventHubConnection',
    cardinality: 'many',
    dataType: 'binary',
  },
  ingestDefenderXdr: {
    type: 'eventHubTrigger',
    eventHubName: '%DEFENDER_XDR_EVENTHUB%',
    consumerGroup: '%EVENTHUB_CONSUMER_GROUP%',
    connection: 'EventHubConnection',
    cardinality: 'many',
    dataType: 'binary',
  },
  redriveParked: { type: 'timerTrigger', schedule: '%REDRIVE_SCHEDULE%' },
  reconcileCoverage: { type: 'timerTrigger', schedule: '%COVERAGE_SCHEDULE%' },
  backfill: { type: 'timerTrigger', schedule: '%BACKFILL_SCHEDULE%' },
};

let work: string;
let project: string; // after `npm ci && npm run build && npm prune --omit=dev`, where `func` runs
let azdStage: string; // dist/package after the prepackage hook, what azd zips
let hookCalls: string[];
let settings: Record<string, string>;
interface Built {
  files: string[];
  app: string;
  load: LoadResult;
}
const packages = {} as Record<'func' | 'azd', Built>;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'defender-export-package-'));
  project = copyProject(join(work, 'project'));
  for (const file of LOCAL_STATE) {
    mkdirSync(dirname(join(project, file)), { recursive: true });
    writeFileSync(join(project, file), '{}\n');
  }
  const started = Date.now();
  await Promise.all([build(join(project, 'dist')), installProduction(project)]);
  console.info(`package rehearsal: build and production install took ${Date.now() - started} ms`);

  const azdProject = copyProject(join(work, 'azd-project'));
  hookCalls = await runPrepackageHook(azdProject, {
    builtDist: join(project, 'dist'),
    productionModules: join(project, 'node_modules'),
  });
  azdStage = join(azdProject, serviceSetting(read('azure.yaml'), 'dist') ?? '.');

  const template = templateAppSettings();
  if (template) settings = template;
  else {
    settings = sampleAppSettings();
    console.info(
      'package rehearsal: no Bicep CLI, loading with local.settings.sample.json Values (placeholders filled in)',
    );
  }

  const func = coreToolsFiles(project);
  const remoteBuild = serviceSetting(read('azure.yaml'), 'remoteBuild') === 'false' ? false : undefined;
  const azd = azdFiles(azdStage, { remoteBuild });
  for (const [tool, files] of [
    ['func', func],
    ['azd', azd],
  ] as const) {
    const app = extract(tool === 'func' ? project : azdStage, files, join(work, `${tool}-app`));
    packages[tool] = { files, app, load: await loadApp(app, settings) };
  }
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe.each(['func', 'azd'] as const)('the package %s publishes', (tool) => {
  it('loads every entry point package.json main names, with the app settings', () => {
    const { load } = packages[tool];
    expect(load.error, load.output).toBeUndefined();
    expect(load.entryPoints).toEqual([
      'dist/functions/backfill.js',
      'dist/functions/ingestDefenderForCloud.js',
      'dist/functions/ingestDefenderXdr.js',
      'dist/functions/reconcileCoverage.js',
      'dist/functions/redriveParked.js',
      'dist/functions/settings.js',
    ]);
    expect(load.loaded).toEqual(load.entryPoints);
    expect(load.programmingModel?.name).toBe('@azure/functions');
  });

  it('registers the five functions with their triggers, each setting they name present', () => {
    const { load } = packages[tool];
    expect(load.functions.map((f) => f.name).sort()).toEqual(Object.keys(EXPECTED_FUNCTIONS).sort());
    for (const [name, trigger] of Object.entries(EXPECTED_FUNCTIONS)) {
      const registered = load.functions.find((f) => f.name === name)!;
      expect(registered.entryPoint).toBe(`dist/functions/${name}.js`);
      const triggers = registered.bindings.filter((b) => /trigger$/i.test(b.type));
      expect(triggers, name).toEqual([expect.objectContaining({ ...trigger, direction: 'in' })]);
    }
    // The host resolves %NAME% from the app settings and a connection from NAME or NAME__*; a missing one
    // fails indexing.
    for (const binding of load.functions.flatMap((f) => f.bindings)) {
      for (const value of Object.values(binding).filter((v): v is string => typeof v === 'string'))
        for (const [, name] of value.matchAll(/%([^%]+)%/g)) expect(settings[name!], name).toBeTruthy();
      if (typeof binding.connection === 'string') {
        const connection = binding.connection;
        expect(Object.keys(settings).some((k) => k === connection || k.startsWith(`${connection}__`))).toBe(
          true,
        );
      }
    }
    expect(load.functions.find((f) => f.name === 'ingestDefenderForCloud')!.retryOptions).toBeTruthy();
  });

  it('holds the compiled app and production dependencies only', () => {
    const { files } = packages[tool];
    for (const file of [
      'host.json',
      'package.json',
      'dist/functions/settings.js',
      'dist/lib/coverage/dependencies.js',
    ])
      expect(files).toContain(file);
    for (const dependency of Object.keys(pkg.dependencies))
      expect(files).toContain(`node_modules/${dependency}/package.json`);
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { dev?: boolean }> };
    const devOnly = Object.entries(lock.packages)
      .filter(([path, entry]) => path && entry.dev)
      .map(([path]) => `${path}/`);
    expect(devOnly).toEqual(
      expect.arrayContaining(['node_modules/typescript/', 'node_modules/vitest/', 'node_modules/azurite/']),
    );
    expect(files.filter((f) => devOnly.some((dev) => f.startsWith(dev)))).toEqual([]);
    const outsideModules = files.filter((f) => !f.startsWith('node_modules/'));
    expect(outsideModules.filter((f) => /\.(ts|mts|cts|map)$/.test(f))).toEqual([]);
    expect(outsideModules.filter((f) => !/^dist\/(functions|lib)\//.test(f)).sort()).toEqual([
      'host.json',
      'package-lock.json',
      'package.json',
    ]);
    expect(files.filter((f) => LOCAL_STATE.includes(f))).toEqual([]);
  });
});

describe('both publish paths', () => {
  it('ship the same files', () => {
    const only = (a: string[], b: string[]) => a.filter((f) => !b.includes(f));
    expect({
      funcOnly: only(packages.func.files, packages.azd.files),
      azdOnly: only(packages.azd.files, packages.func.files),
    }).toEqual({ funcOnly: [], azdOnly: [] });
  });

  it('azd stages the package after the build, with a production install, and deploys it as it is', () => {
    // The npm stand-in fails any other command, and `npm ci` without --omit=dev or --ignore-scripts.
    expect(hookCalls).toEqual(['run build', expect.stringMatching(/^ci /)]);
    expect(serviceSetting(read('azure.yaml'), 'remoteBuild')).toBe('false');
    // azd checks remoteBuild against the project's .funcignore (resolveFunctionAppRemoteBuild): `false`
    // fails the deployment if .funcignore leaves node_modules out.
    expect(ignore({ ignorecase: false }).add(read('.funcignore')).ignores('node_modules/')).toBe(false);
  });
});

describe('.funcignore matching', () => {
  it("ports Core Tools' matcher: its own cases (test/Azure.Functions.Cli.Tests/GitIgnoreParserTests.cs)", () => {
    const denies = coreToolsIgnore(
      '/node_modules\n*.log\n/nonexistent\n!/nonexistent/foo\n/baz\n/foo/*.wat\n/test1\ntest2\n' +
        '/othernonexistent/**/what\n!/othernonexistent/**/what/foo\n*.swp\n',
    );
    for (const path of [
      'test/index.js',
      'wat/test/index.js',
      'test1File.wat',
      'nonexistent/foo',
      'nonexistent/foo/wat',
    ])
      expect(denies(path), path).toBe(false);
    for (const path of [
      'test.swp',
      'node_modules/wat.js',
      'foo/bar.wat',
      'othernonexistent/blah/what',
      'test1',
      'test2',
    ])
      expect(denies(path), path).toBe(true);
  });

  it('differs between the tools where an unanchored pattern or an empty * is involved', () => {
    const funcDenies = coreToolsIgnore('coverage/\ntsconfig*.json\n');
    expect(funcDenies('coverage/lcov.info')).toBe(true);
    expect(funcDenies('dist/lib/coverage/reconcile.js')).toBe(false); // Core Tools matches from the root
    expect(funcDenies('tsconfig.build.json')).toBe(true);
    expect(funcDenies('tsconfig.json')).toBe(false); // its * needs one character at least
    expect(azdFiles(packages.func.app, { funcignore: 'coverage/\n' })).not.toContain(
      'dist/lib/coverage/reconcile.js',
    );
  });

  it('unanchored, loses dist/lib/coverage/ under azd and the app no longer loads', async () => {
    const coverage = (files: string[]) => files.filter((f) => f.startsWith('dist/lib/coverage/'));
    expect(coverage(coreToolsFiles(project, UNANCHORED_FUNCIGNORE))).not.toEqual([]);
    const files = azdFiles(project, { funcignore: UNANCHORED_FUNCIGNORE });
    expect(coverage(files)).toEqual([]);
    const load = await loadApp(extract(project, files, join(work, 'unanchored-app')), settings);
    // The first entry point already needs lib/coverage/ (lib/backfill reads the estate through it).
    expect(load.error?.entryPoint).toBe('dist/functions/backfill.js');
    expect(load.error?.message).toMatch(/Cannot find module '\.\.?\/coverage\/\w+'/);
    expect(load.functions).toEqual([]);
  });
});
