import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWorkerConfig, SETTING_NAMES } from '../../lib/config';
import { copyProject, repoRoot } from '../helpers/funcPackage';

// The README's "Run locally" section, run as written: in a copy of the project as a clean clone has it,
// `npm ci`, the stand-ins in their own process group (a terminal), the second terminal's commands as one bash
// script, and Ctrl-C as a terminal sends it (SIGINT to the whole group). `func start` needs Core Tools and an
// Event Hubs namespace: it is skipped, and the local.settings.json it would read is loaded instead.

/** What the section holds, command by command (comments aside); the test runs the README's own lines. */
const EXPECTED = {
  terminal1: ['npm ci', 'npm run dev:stand-ins -- --exports stand-ins.env --local-settings'],
  terminal2: [
    'source stand-ins.env',
    'npm run -s generate -- --count 1000 > events.ndjson',
    'npx defender-export normalize events.ndjson > rows.ndjson',
    'npx defender-export replay events.ndjson --json',
    'npx defender-export coverage',
    'npx defender-export doctor --app func-defexp-local --resource-group rg-defender-export --subscription 5ec00000-0000-4000-8000-000000000001',
    'npx defender-export backfill --dry-run',
  ],
  functions: ['func start'],
};
/** Exit codes of the second terminal's commands: coverage finds the sample estate's gaps; doctor none. */
const EXIT_CODES = [0, 0, 0, 0, 1, 0, 0];
const STATUSES = [
  'Covered',
  'Missing',
  'Disabled',
  'WrongDestination',
  'MissingSources',
  'Filtered',
  'PartialScope',
  'Stale',
  'Unknown',
];

/** The fenced bash blocks of "## Run locally" up to its next heading, as their non-comment lines. */
function runLocallyBlocks(readme: string): string[][] {
  const start = readme.indexOf('\n## Run locally\n');
  if (start < 0) throw new Error('README.md has no "## Run locally" section');
  const body = readme.slice(start + '\n## Run locally\n'.length);
  const next = body.search(/^#{2,3} /m);
  const section = next < 0 ? body : body.slice(0, next);
  return [...section.matchAll(/^```bash\n([\s\S]*?)^```$/gm)].map((m) =>
    m[1]!.split('\n').filter((line) => line.trim() !== '' && !line.trim().startsWith('#')),
  );
}
const withoutComment = (line: string) => line.replace(/\s+#.*$/, '').trim();

/** A new user's shell: none of the test run's own settings, certificate or npm script context. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  const settings = new Set<string>(SETTING_NAMES);
  for (const name of Object.keys(env)) {
    if (
      settings.has(name) ||
      /^(AzureWebJobs|ARCHIVE_STORAGE|STATE_STORAGE|EventHubConnection|DEFENDER_EXPORT_|VITEST|npm_(lifecycle|package|command)|FUNCTIONS_)/.test(
        name,
      ) ||
      ['NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS', 'NODE_ENV', 'INIT_CWD', 'TEST'].includes(name)
    ) {
      delete env[name];
    }
  }
  return env;
}

function run(
  script: string,
  cwd: string,
  timeoutMs: number,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['--noprofile', '--norc', '-c', script], { cwd, env: userEnv() });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out after ${timeoutMs} ms: ${script}\n${output}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** `export NAME='value'` lines, as bash reads them. */
function readExports(file: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^export (\w+)='(.*)'$/.exec(line);
    if (match) values[match[1]!] = match[2]!.replaceAll(`'\\''`, `'`);
  }
  return values;
}

const refuses = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });

const groupAlive = (pid: number) => {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until(check: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
const blocks = runLocallyBlocks(readme);
const [terminal1 = [], terminal2 = [], functions = []] = blocks;

let work: string;
let project: string;
let standIns: ChildProcess | undefined;
let standInsOutput = '';
let standInsExit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
let settings: Record<string, string> = {};

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'defender-export-run-locally-'));
  project = copyProject(join(work, 'defender-export'));
  // Files a developer's folder may hold and a clean clone does not.
  for (const file of ['stand-ins.env', 'events.ndjson', 'rows.ndjson', 'local.settings.json']) {
    rmSync(join(project, file), { force: true });
  }
});

afterAll(() => {
  if (standIns?.pid && groupAlive(standIns.pid)) process.kill(-standIns.pid, 'SIGKILL');
  if (!project) return;
  // `npx defender-export` links the project into npm's cache under _npx/<hash>: remove that link folder.
  try {
    const cache = execFileSync('npm', ['config', 'get', 'cache'], { cwd: project, encoding: 'utf8' }).trim();
    const npx = join(cache, '_npx');
    for (const name of existsSync(npx) ? readdirSync(npx) : []) {
      const manifest = join(npx, name, 'package.json');
      if (existsSync(manifest) && readFileSync(manifest, 'utf8').includes(JSON.stringify(project))) {
        rmSync(join(npx, name), { recursive: true, force: true });
      }
    }
  } catch {
    // cleaning npm's cache is a courtesy
  }
  rmSync(work, { recursive: true, force: true });
});

describe('README "Run locally", as written, against the stand-ins', () => {
  it('holds the commands this test runs and checks', () => {
    expect(blocks.map((block) => block.map(withoutComment))).toEqual([
      EXPECTED.terminal1,
      EXPECTED.terminal2,
      EXPECTED.functions,
    ]);
  });

  it('terminal 1: npm ci installs and builds the clean copy', async () => {
    const { code, output } = await run(terminal1[0]!, project, 600_000);
    expect(code, output).toBe(0);
    expect(existsSync(join(project, 'dist/dev/standIns.js'))).toBe(true);
  }, 660_000);

  it('terminal 1: dev:stand-ins starts everything, prints the settings and writes both files', async () => {
    // A terminal: the command leads a process group of its own, which Ctrl-C signals as a whole.
    standIns = spawn('bash', ['--noprofile', '--norc', '-c', terminal1[1]!], {
      cwd: project,
      env: userEnv(),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    standIns.stdout!.on('data', (chunk: Buffer) => (standInsOutput += chunk.toString()));
    standIns.stderr!.on('data', (chunk: Buffer) => (standInsOutput += chunk.toString()));
    standInsExit = new Promise((resolve) =>
      standIns!.once('exit', (code, signal) => resolve({ code, signal })),
    );
    let exited = false;
    void standInsExit.then(() => (exited = true));
    await until(
      () => /^ready: /m.test(standInsOutput) || exited,
      120_000,
      () => `"ready" from the stand-ins:\n${standInsOutput}`,
    );
    expect(exited, standInsOutput).toBe(false);

    settings = readExports(join(project, 'stand-ins.env'));
    expect(Object.keys(settings).sort()).toEqual(
      [
        'AZURE_RESOURCE_MANAGER_ENDPOINT',
        'AzureWebJobsStorage',
        'COVERAGE_DESTINATIONS',
        'COVERAGE_WEBHOOK_URL',
        'LOCAL_DEV_BEARER_TOKEN',
        'LOGS_DCR_IMMUTABLE_ID',
        'LOGS_DCR_RESOURCE_ID',
        'LOGS_INGESTION_ENDPOINT',
        'NODE_EXTRA_CA_CERTS',
      ].sort(),
    );
    // The same lines are printed, for pasting.
    for (const [name, value] of Object.entries(settings)) {
      expect(standInsOutput).toContain(`export ${name}='${value}'`);
    }
    expect(existsSync(settings.NODE_EXTRA_CA_CERTS!)).toBe(true);
    expect(readFileSync(settings.NODE_EXTRA_CA_CERTS!, 'utf8')).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(existsSync(join(project, 'local.settings.json'))).toBe(true);
  }, 180_000);

  it('terminal 2: generate, normalize, replay and coverage run against the stand-ins', async () => {
    expect(standIns, 'the stand-ins did not start').toBeDefined();
    const logs = join(work, 'terminal2');
    // One shell, so `source` carries over, as in a terminal; each command's output and exit code kept apart.
    const script = [
      `mkdir -p '${logs}'`,
      ...terminal2.map((line, i) =>
        [`{`, line, `} > '${logs}/${i}.out' 2> '${logs}/${i}.err'`, `echo $? > '${logs}/${i}.code'`].join(
          '\n',
        ),
      ),
    ].join('\n');
    const { code, output } = await run(script, project, 300_000);
    expect(code, output).toBe(0);
    const result = (i: number) => ({
      code: Number(readFileSync(join(logs, `${i}.code`), 'utf8')),
      stdout: readFileSync(join(logs, `${i}.out`), 'utf8'),
      stderr: readFileSync(join(logs, `${i}.err`), 'utf8'),
    });
    const results = terminal2.map((_, i) => result(i));
    expect(
      results.map((r) => r.code),
      results.map((r, i) => `$ ${terminal2[i]}\n${r.stdout}${r.stderr}`).join('\n'),
    ).toEqual(EXIT_CODES);

    // generate: 1000 Event Hub bodies and nothing else (no npm banner in the file).
    const events = readFileSync(join(project, 'events.ndjson'), 'utf8').trimEnd().split('\n');
    expect(events).toHaveLength(1000);
    for (const line of events) expect(() => JSON.parse(line) as unknown).not.toThrow();

    // normalize: fitted rows, a summary on stderr.
    const rows = readFileSync(join(project, 'rows.ndjson'), 'utf8').trimEnd().split('\n');
    expect(rows.length).toBeGreaterThanOrEqual(1000);
    for (const line of rows) expect(JSON.parse(line)).toHaveProperty('DataType');
    expect(results[2]!.stderr).toMatch(/normalized 1000 events/);

    // replay: the ledger as the last stdout line; everything delivered to both sinks.
    const ledger = JSON.parse(results[3]!.stdout.trimEnd().split('\n').pop()!) as {
      received: number;
      problems: string[];
      destinations: Record<string, { delivered: number }>;
    };
    expect(ledger.received).toBe(1000);
    expect(ledger.problems).toEqual([]);
    expect(ledger.destinations['logs:Custom-DefenderExport']?.delivered).toBe(1000);
    expect(ledger.destinations.archive?.delivered).toBe(1000);
    // The stand-in in terminal 1 accepted exactly the rows normalize wrote.
    await until(
      () => standInsOutput.includes(`(${rows.length} rows since start)`),
      10_000,
      () => `terminal 1 to report ${rows.length} rows:\n${standInsOutput}`,
    );

    // coverage: every status of the sample estate, exit code 1 for its gaps.
    for (const status of STATUSES) expect(results[4]!.stdout).toContain(status);
    // doctor: the stand-ins' deployment, every check a line, none failed.
    expect(results[5]!.stdout).toMatch(
      /^✓ logs +stream Custom-DefenderExport +declares the row's \d+ columns$/m,
    );
    expect(results[5]!.stdout).toMatch(
      /^✓ event hubs +role Azure Event Hubs Data Receiver +held on hub defender-cloud$/m,
    );
    expect(results[5]!.stdout).toMatch(/^\d+ passed, 0 failed/m);
    // backfill --dry-run: the local Resource Graph's resources, per data type; nothing sent.
    expect(results[6]!.stdout).toMatch(/^Recommendation +\d+$/m);
    expect(results[6]!.stdout).toMatch(/dry run: counted only/);
    await until(
      () => /Resource Manager: \d+ requests/.test(standInsOutput),
      10_000,
      () => `terminal 1 to report Resource Manager requests:\n${standInsOutput}`,
    );
  }, 360_000);

  it('the local.settings.json written for `func start` loads with the worker settings check', () => {
    const file = JSON.parse(readFileSync(join(project, 'local.settings.json'), 'utf8')) as {
      IsEncrypted: boolean;
      Values: Record<string, string>;
    };
    expect(file.IsEncrypted).toBe(false);
    expect(file.Values.FUNCTIONS_WORKER_RUNTIME).toBe('node');
    const config = loadWorkerConfig(file.Values);
    expect(config.delivery.LOGS_INGESTION_ENDPOINT).toBe(settings.LOGS_INGESTION_ENDPOINT);
    expect(config.delivery.LOCAL_DEV_BEARER_TOKEN).toBe(settings.LOCAL_DEV_BEARER_TOKEN);
    expect(config.coverage?.AZURE_RESOURCE_MANAGER_ENDPOINT).toBe(settings.AZURE_RESOURCE_MANAGER_ENDPOINT);
    expect(config.coverage?.COVERAGE_WEBHOOK_URL).toBe(settings.COVERAGE_WEBHOOK_URL);
    for (const [name, value] of Object.entries(settings)) expect(file.Values[name]).toBe(value);
  });

  it('func start', (context) => {
    expect(functions.map(withoutComment)).toEqual(['func start']);
    const installed = spawnSync('func', ['--version'], { encoding: 'utf8' }).status === 0;
    context.skip(
      installed
        ? 'func start runs until stopped and needs an Event Hubs namespace (there is no emulator here); ' +
            'its local.settings.json is checked with loadWorkerConfig above'
        : 'Azure Functions Core Tools is not installed here, and there is no Event Hubs emulator; ' +
            'its local.settings.json is checked with loadWorkerConfig above',
    );
  });

  it('terminal 1: Ctrl-C stops every stand-in, Azurite included, and the process group empties', async () => {
    expect(standIns?.pid, 'the stand-ins did not start').toBeDefined();
    const pid = standIns!.pid!;
    const ports = [
      ...[...settings.AzureWebJobsStorage!.matchAll(/Endpoint=http:\/\/127\.0\.0\.1:(\d+)/g)].map((m) =>
        Number(m[1]),
      ),
      ...[
        settings.LOGS_INGESTION_ENDPOINT,
        settings.AZURE_RESOURCE_MANAGER_ENDPOINT,
        settings.COVERAGE_WEBHOOK_URL,
      ].map((url) => Number(new URL(url!).port)),
    ];
    expect(ports).toHaveLength(5);
    for (const port of ports) expect(await refuses(port)).toBe(false);

    process.kill(-pid, 'SIGINT');
    const exit = await Promise.race([
      standInsExit,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`not stopped after 30 s:\n${standInsOutput}`)), 30_000),
      ),
    ]);
    // The stand-ins exit 0; npm then re-raises the interrupt on itself, as it does for any script.
    expect(exit.code === 0 || exit.signal === 'SIGINT' || exit.code === 130, JSON.stringify(exit)).toBe(true);
    expect(standInsOutput).toContain('SIGINT: stopping the stand-ins');
    expect(standInsOutput).toMatch(/^stopped; .* in memory and are gone$/m);
    expect(standInsOutput).not.toMatch(/did not (close|stop)/);
    await until(
      () => !groupAlive(pid),
      10_000,
      () => 'the process group to empty',
    );
    for (const port of ports) expect(await refuses(port), `port ${port}`).toBe(true);
    // The per-run certificate folder is removed with the rest.
    expect(existsSync(settings.NODE_EXTRA_CA_CERTS!)).toBe(false);
  }, 60_000);

  it('exits 0 itself on SIGINT and on SIGTERM (what npm run wraps)', async () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const child = spawn(process.execPath, ['dist/dev/standIns.js'], {
        cwd: project,
        env: userEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      await until(
        () => /^ready: /m.test(output) || child.exitCode !== null,
        120_000,
        () => `"ready":\n${output}`,
      );
      child.kill(signal);
      expect(await exit, output).toBe(0);
      expect(output).toContain(`${signal}: stopping the stand-ins`);
    }
  }, 300_000);
});
