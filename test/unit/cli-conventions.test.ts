import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { SETTING_NAMES } from '../../lib/config';
import { ActionableError, ConfigError } from '../../lib/errors';
import { describeFailure } from '../../lib/cli/failure';
import { HELP } from '../../lib/cli/help';
import { compileQuery, jsonText, tableText, tsvText } from '../../lib/cli/output';
import { progressLine, RateMeter } from '../../lib/cli/progress';
import { run } from '../../lib/cli/program';
import type { LogsRow } from '../../lib/records/row';
import { cli, ndjson } from '../helpers/cli';
import { alertWithEntities } from '../helpers/events';
import { SAMPLES_DIR, sampleNames, sampleText } from '../helpers/samples';

const samplePaths = sampleNames().map((name) => join(SAMPLES_DIR, name));
const version = (
  JSON.parse(readFileSync(resolve(__dirname, '../../package.json'), 'utf8')) as { version: string }
).version;
/** An ANSI escape sequence (built from its code: a control character may not stand in a regex literal). */
const ESC = String.fromCharCode(27);
const ANSI = new RegExp(`${ESC}\\[[0-9;?]*[A-Za-z]`);
const NOW = () => new Date('2026-11-24T12:00:00Z');

/** The one error style: `defender-export: error: <what>` and then one line on what to do, nothing more. */
function expectErrorStyle(stderr: string, what: RegExp): void {
  const lines = stderr.trimEnd().split('\n');
  expect(lines[lines.length - 2]).toMatch(/^defender-export: error: /);
  expect(lines[lines.length - 2]).toMatch(what);
  expect(lines[lines.length - 1]).not.toMatch(/^\s+at /);
  expect(stderr).not.toMatch(/^\s+at /m); // no stack trace
}

describe('the conventions of az', () => {
  it('prints the version of package.json with --version', async () => {
    const { code, stdout } = await cli(['--version']);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(version);
  });

  it('shows examples and the settings each command reads in its --help, naming only settings that exist', async () => {
    const known = new Set<string>([
      ...SETTING_NAMES,
      'AzureWebJobsStorage',
      'ARCHIVE_STORAGE',
      'STATE_STORAGE',
    ]);
    for (const command of ['normalize', 'reassemble', 'replay', 'coverage'] as const) {
      const { code, stdout } = await cli([command, '--help']);
      expect(code).toBe(0);
      expect(stdout).toMatch(/^Examples:\n {2}defender-export /m);
      expect(stdout).toMatch(/^Settings \(environment variables/m);
      expect(stdout).toMatch(/-o, --output <format>/);
      expect(stdout).toMatch(/--query <jmespath>/);
      for (const [names] of HELP[command].settings) {
        for (const name of names.split(/,\s*|\s+or\s+/)) {
          expect(known, `${command} --help names ${name}`).toContain(name);
          expect(stdout).toContain(name);
        }
      }
    }
    const coverage = await cli(['coverage', '--help']);
    expect(coverage.stdout).toMatch(/--record/);
    expect(coverage.stdout).toMatch(/--notify\s+post the alerts[\s\S]*implies --record/);
    const program = await cli(['--help']);
    expect(program.stdout).toMatch(/^Exit codes:\n {2}0 {3}done/m);
    expect(program.stdout).toMatch(/^ {2}70 {2}a bug of ours/m);
  });

  it('tells usage errors in the one error style and exits 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['normalize', '--limit', '12'], /--limit <bytes>.*12.*must be a whole number of bytes/],
      [['replay', '--bogus'], /unknown option '--bogus'/],
      [['normalise'], /unknown command 'normalise' \(Did you mean normalize\?\)$/],
      [[], /a command is required/],
      [['normalize', '-o', 'table'], /no table: use json, jsonc, tsv, none/],
      [['normalize', '-o', 'yaml'], /must be one of json, jsonc, tsv, none/],
      [['coverage', '--json', '-o', 'table'], /'--json' cannot be used with option '-o, --output/],
      [['normalize', '--query', 'a[?'], /--query <jmespath>.*not a JMESPath query: Syntax error/],
      [['normalize', '--query', 'nosuch(@)'], /not a JMESPath query: unknown function nosuch\(\)/],
    ];
    for (const [argv, what] of cases) {
      const { code, stderr } = await cli(argv);
      expect(code, argv.join(' ')).toBe(2);
      expectErrorStyle(stderr, what);
      expect(stderr).toMatch(/^Run 'defender-export( \w+)? --help' for the usage\.$/m);
    }
  });

  it('exits 2 without a stack for an input file that cannot be read: missing, or a directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'defender-export-'));
    for (const command of ['normalize', 'reassemble']) {
      const missing = await cli([command, join(dir, 'nope.ndjson')]);
      expect(missing.code).toBe(2);
      expectErrorStyle(missing.stderr, /cannot read .*nope\.ndjson: no such file \(ENOENT\)/);
      const directory = await cli([command, dir]);
      expect(directory.code).toBe(2);
      expectErrorStyle(directory.stderr, /cannot read .*: it is a directory \(EISDIR\)/);
      expect(directory.stderr).toMatch(/Give the files in it instead/);
    }
    // replay checks its files before it even reads its settings: a typo costs no connection.
    const replay = await cli(['replay', dir], '', {});
    expect(replay.code).toBe(2);
    expectErrorStyle(replay.stderr, /it is a directory \(EISDIR\)/);
    // ... and before the first file is processed: nothing was printed for the good one.
    const mixed = await cli(['normalize', samplePaths[0]!, dir]);
    expect(mixed.code).toBe(2);
    expect(mixed.stdout).toBe('');
  });

  it('lists every configuration problem, counted, with what to do, and exits 2', async () => {
    const { code, stderr } = await cli(['normalize'], '{}', { OVERSIZE_STRATEGY: 'drop' });
    expect(code).toBe(2);
    expect(stderr).toMatch(
      /^defender-export: error: invalid configuration: 1 problem\n {2}- OVERSIZE_STRATEGY: /,
    );
    expect(stderr).toMatch(/'defender-export normalize --help' lists the settings it reads\.\n$/);
  });

  it('exits 70 for a bug of ours, saying so, with the stack', async () => {
    const stdin = new Readable({
      read() {
        this.destroy(new TypeError('something of ours broke'));
      },
    });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const err: Buffer[] = [];
    stderr.on('data', (chunk: Buffer) => err.push(chunk));
    stdout.resume();
    const code = await run(['normalize'], { stdin, stdout, stderr, env: {} });
    expect(code).toBe(70);
    const text = Buffer.concat(err).toString('utf8');
    expect(text).toMatch(
      /^defender-export: error: something of ours broke \(a bug: please report it\)\nTypeError/,
    );
    expect(text).toMatch(/^\s+at /m);
  });
});

describe('how failures are told', () => {
  it('says missing credentials and refused requests as things to fix (exit 2), even wrapped as a cause', () => {
    const unavailable = Object.assign(new Error('DefaultAzureCredential failed to retrieve a token\nmore'), {
      name: 'CredentialUnavailableError',
    });
    const told = describeFailure(
      new Error('could not list subscriptions', { cause: unavailable }),
      'coverage',
    );
    expect(told.code).toBe(2);
    expect(told.text).toBe(
      'defender-export: error: no Azure credentials: DefaultAzureCredential failed to retrieve a token\n' +
        "Sign in with 'az login' (or run where a managed identity is, AZURE_CLIENT_ID naming a user-assigned one); against local stand-ins, set LOCAL_DEV_BEARER_TOKEN.\n",
    );
    const refused = Object.assign(new Error('AuthorizationFailed'), { name: 'RestError', statusCode: 403 });
    expect(describeFailure(refused, 'coverage')).toMatchObject({
      code: 2,
      text: expect.stringMatching(/HTTP 403/),
    });
    const unreachable = Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.example'), {
      code: 'ENOTFOUND',
    });
    expect(describeFailure(unreachable, 'replay')).toMatchObject({
      code: 2,
      text: expect.stringMatching(
        /^defender-export: error: could not reach an endpoint: .*\nCheck the endpoint/,
      ),
    });
  });

  it('says an outage, a timeout, an unreachable network and an untrusted TLS proxy as things to fix, not bugs', () => {
    const cases: Array<[Error, RegExp]> = [
      [
        Object.assign(new Error('The server is busy.'), { name: 'RestError', statusCode: 503 }),
        /HTTP 503.*\nThis passes by itself/,
      ],
      [
        Object.assign(new Error('connect EHOSTUNREACH 10.0.0.1:443'), { code: 'EHOSTUNREACH' }),
        /could not reach an endpoint/,
      ],
      [
        Object.assign(new Error('self-signed certificate in certificate chain'), {
          code: 'SELF_SIGNED_CERT_IN_CHAIN',
        }),
        /TLS certificate was not trusted \(SELF_SIGNED_CERT_IN_CHAIN\).*\n.*NODE_EXTRA_CA_CERTS/,
      ],
      [Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' }), /timed out/],
    ];
    for (const [error, text] of cases)
      expect(describeFailure(new Error('while building', { cause: error }), 'replay')).toMatchObject({
        code: 2,
        text: expect.stringMatching(text),
      });
    // A bug is still a bug.
    expect(
      describeFailure(new TypeError("Cannot read properties of undefined (reading 'x')"), 'replay').code,
    ).toBe(70);
  });

  it('prints an ActionableError as its message and hint, and a ConfigError as its problems', () => {
    expect(describeFailure(new ActionableError('it broke', 'Do this.'), undefined)).toEqual({
      code: 2,
      text: 'defender-export: error: it broke\nDo this.\n',
    });
    expect(describeFailure(new ConfigError(['A: bad', 'B: worse']), 'replay').text).toMatch(
      /^defender-export: error: invalid configuration: 2 problems\n {2}- A: bad\n {2}- B: worse\n/,
    );
  });
});

describe('-o and --query on the streamed commands', () => {
  it('normalize: -o none prints no rows but still the summary; exit code as ever', async () => {
    const { code, stdout, stderr } = await cli(['normalize', '-o', 'none', ...samplePaths]);
    expect(code).toBe(0);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^normalized 21 events from 21 messages into 21 rows/m);
  });

  it('normalize: --query reshapes each row, -o tsv prints it as tab-separated values', async () => {
    const { code, stdout } = await cli(
      [
        'normalize',
        '--strategy',
        'split',
        '--limit',
        '8192',
        '--query',
        '[DataType, PartIndex, PartCount]',
        '-o',
        'tsv',
      ],
      JSON.stringify(alertWithEntities(200)),
    );
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(1);
    lines.forEach((line, index) => expect(line).toBe(`Alert\t${index}\t${lines.length}`));
  });

  it('normalize: --json is -o json, NDJSON exactly as before', async () => {
    const plain = await cli(['normalize', ...samplePaths], '', {}, NOW);
    const json = await cli(['normalize', '--json', ...samplePaths], '', {}, NOW);
    expect(json.stdout).toBe(plain.stdout);
  });

  it('normalize: jsonc colours each row on a terminal only, one row a line', async () => {
    const text = sampleText('securescorecontrol-eventhub-example-1.json');
    const piped = await cli(['normalize', '-o', 'jsonc'], text, {}, NOW);
    expect(piped.stdout).not.toMatch(ANSI);
    expect(ndjson<LogsRow>(piped.stdout)).toHaveLength(1);
    const terminal = await cli(['normalize', '-o', 'jsonc'], text, {}, NOW, { stdoutTTY: true });
    expect(terminal.stdout).toMatch(ANSI);
    expect(terminal.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(terminal.stdout.replace(new RegExp(ANSI.source, 'g'), ''))).toEqual(
      JSON.parse(piped.stdout),
    );
  });

  it('reassemble: --query picks from each event; a query that maps an event to null leaves it out', async () => {
    const alert = alertWithEntities(200);
    const rows = (await cli(['normalize', '--limit', '8192'], JSON.stringify(alert))).stdout;
    const small = sampleText('securescorecontrol-eventhub-example-1.json');
    const smallRows = (await cli(['normalize'], small)).stdout;
    const { code, stdout } = await cli(
      ['reassemble', '--query', 'SystemAlertId', '-o', 'tsv'],
      rows + smallRows,
    );
    expect(code).toBe(0);
    expect(stdout).toBe(`${alert.SystemAlertId as string}\n`);
  });

  it('a query that fails on the data is a usage error naming the query', async () => {
    const { code, stderr } = await cli(
      ['normalize', '--query', 'abs(DataType)'],
      sampleText('securescorecontrol-eventhub-example-1.json'),
    );
    expect(code).toBe(2);
    expectErrorStyle(stderr, /--query "abs\(DataType\)" failed: .*abs\(\)/);
  });
});

describe('plurals', () => {
  it('counts one as one: 1 event, 1 message, 1 row, 1 part, 1 problem', async () => {
    const one = sampleText('securescorecontrol-eventhub-example-1.json');
    const normalized = await cli(['normalize'], one);
    expect(normalized.stderr).toMatch(
      /^normalized 1 event from 1 message into 1 row \(0 split into 0 parts, 0 trimmed\); 0 dead-lettered$/m,
    );
    const back = await cli(['reassemble'], `${normalized.stdout}not json\n`);
    expect(back.code).toBe(1);
    expect(back.stderr).toMatch(/^reassembled 1 event; 1 problem$/m);
  });
});

describe('progress', () => {
  const big = () => {
    const dir = mkdtempSync(join(tmpdir(), 'defender-export-'));
    const file = join(dir, 'big.ndjson');
    const line = sampleText('securescorecontrol-eventhub-example-1.json').replace(/\s*\n\s*/g, '');
    writeFileSync(file, `${Array.from({ length: 3000 }, () => line).join('\n')}\n`);
    return file;
  };

  it('prints nothing but the summary on stderr when stderr is not a terminal', async () => {
    const { code, stderr } = await cli(['normalize', '-o', 'none', big()], '', {}, undefined, {
      progressDelayMs: 0,
    });
    expect(code).toBe(0);
    expect(stderr).toBe(
      'normalized 3000 events from 3000 messages into 3000 rows (0 split into 0 parts, 0 trimmed); 0 dead-lettered\n',
    );
  });

  it('shows a bar with rates and an ETA for files, cleared before the summary', async () => {
    const { code, stderr } = await cli(['normalize', '-o', 'none', big()], '', {}, undefined, {
      stderrTTY: true,
      progressDelayMs: 0,
    });
    expect(code).toBe(0);
    expect(stderr).toMatch(
      /normalize \[[█░]{24}\] +\d+% \| [\d.]+ of [\d.]+ MB \| [\d,]+ events \| .* \| ETA /,
    );
    expect(stderr).toMatch(/normalize \[█{24}\] 100% \| [\d.]+ of [\d.]+ MB \| 3,000 events/);
    // The line is cleared (ESC[2K) and the summary starts on a clean line.
    expect(stderr).toContain(`${ESC}[2Knormalized 3000 events`);
  });

  it('shows a spinner with counts and rates when the total is unknown (stdin)', async () => {
    const line = sampleText('securescorecontrol-eventhub-example-1.json').replace(/\s*\n\s*/g, '');
    const chunk = `${Array.from({ length: 100 }, () => line).join('\n')}\n`;
    const { code, stderr } = await cli(['normalize', '-o', 'none', '--batch-size', '50'], '', {}, undefined, {
      stderrTTY: true,
      progressDelayMs: 0,
      chunks: Array.from({ length: 12 }, () => chunk),
      chunkDelayMs: 100,
    });
    expect(code).toBe(0);
    expect(stderr).toMatch(
      /normalize [⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] [\d.]+ MB \| [\d,]+ events \| [\d,]+ events\/s, [\d.]+ MB\/s \| \d+s/,
    );
    expect(stderr).not.toMatch(/ETA/);
  });

  it('counts a backfill in events when their number is known: a bar, and the ETA at the event rate', () => {
    const line = progressLine(
      {
        label: 'backfill',
        bytes: 0,
        events: 250,
        totalEvents: 1000,
        elapsedMs: 5000,
        rates: { bytesPerSecond: 0, eventsPerSecond: 50 },
      },
      200,
    );
    expect(line).toBe(
      'backfill [██████░░░░░░░░░░░░░░░░░░]  25% | 250 of 1,000 events | 50 events/s, 0.0 MB/s | ETA 15s',
    );
  });

  it('words the line: rates over the last seconds, an ETA from them, cut to the terminal', () => {
    const meter = new RateMeter(0);
    expect(meter.rates(500)).toBeUndefined(); // too early to claim a rate
    meter.add(1000, 1_000_000, 100); // a slow start …
    meter.add(6000, 51_000_000, 5100); // … then 10 MB/s
    meter.add(7000, 61_000_000, 6100);
    const rates = meter.rates(7000)!;
    expect(rates.bytesPerSecond).toBeCloseTo(10_000_000, -3); // the start is out of the window
    expect(rates.eventsPerSecond).toBeCloseTo(1000, 0);
    const line = progressLine(
      { label: 'replay', bytes: 61_000_000, events: 6100, totalBytes: 100_000_000, elapsedMs: 7000, rates },
      200,
    );
    expect(line).toBe(
      'replay [███████████████░░░░░░░░░]  61% | 61.0 of 100.0 MB | 6,100 events | 1,000 events/s, 10.0 MB/s | ETA 4s',
    );
    expect(progressLine({ label: 'replay', bytes: 0, events: 1, elapsedMs: 0 }, 200)).toBe(
      'replay ⠋ 0.0 MB | 1 event | … events/s, … MB/s | 0s',
    );
    expect(progressLine({ label: 'replay', bytes: 0, events: 1, elapsedMs: 0 }, 20)).toHaveLength(19);
  });
});

describe('output formats', () => {
  const ledgerLike = {
    received: 2,
    destinations: { logs: { delivered: 2, parked: 0 }, archive: { delivered: 1, parked: 1 } },
    problems: [],
  };

  it('json: one line when piped, indented on a terminal; jsonc colours only on a terminal', () => {
    expect(jsonText(ledgerLike, 'json', false)).toBe(`${JSON.stringify(ledgerLike)}\n`);
    expect(jsonText(ledgerLike, 'json', true)).toBe(`${JSON.stringify(ledgerLike, null, 2)}\n`);
    expect(jsonText(ledgerLike, 'jsonc', false)).toBe(`${JSON.stringify(ledgerLike)}\n`);
    const coloured = jsonText(ledgerLike, 'jsonc', true);
    expect(coloured).toMatch(ANSI);
    expect(coloured.replace(new RegExp(ANSI.source, 'g'), '')).toBe(
      `${JSON.stringify(ledgerLike, null, 2)}\n`,
    );
  });

  it('tsv: a line per item, values in key order, nested values as JSON, tabs and newlines escaped', () => {
    expect(tsvText({ a: 1, b: 'x', c: null, d: true, e: { f: 1 } })).toBe('1\tx\t\ttrue\t{"f":1}\n');
    expect(
      tsvText([
        ['id-1', 'Covered'],
        ['id-2', 'Missing'],
      ]),
    ).toBe('id-1\tCovered\nid-2\tMissing\n');
    expect(tsvText(['a\tb', 'c\nd', 'e\\f'])).toBe('a\\tb\nc\\nd\ne\\\\f\n');
    expect(tsvText(null)).toBe('');
  });

  it('table: a column per plain key of a list of objects, Column1… for lists, Result for values', () => {
    expect(
      tableText([
        { name: 'logs', delivered: 2, nested: { x: 1 } },
        { name: 'archive', delivered: 10 },
      ]),
    ).toBe('Name     Delivered\n-------  ---------\nlogs     2\narchive  10\n');
    expect(tableText([['a', 1]])).toBe('Column1  Column2\n-------  -------\na        1\n');
    expect(tableText(3)).toBe('Result\n------\n3\n');
  });

  it('compiles az-style queries, backtick literals included, and refuses unknown functions', () => {
    expect(() => compileQuery("subscriptions[?status!='Covered'].subscriptionId")).not.toThrow();
    expect(() => compileQuery('[?x==`foo`]')).not.toThrow();
    expect(() => compileQuery('sort_by(@, &name)')).not.toThrow();
    expect(() => compileQuery('frobnicate(@)')).toThrow(/unknown function frobnicate\(\)/);
  });
});
