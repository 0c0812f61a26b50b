import { execFile } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { startArmStandIn, type ArmStandIn } from '../../dev/armServer';
import {
  automation,
  SAMPLE_HUB,
  SAMPLE_SUBSCRIPTIONS,
  sampleEstate,
  STALE_SUBSCRIPTION,
} from '../../dev/sampleEstate';
import { coverageCommand } from '../../lib/cli/coverageCommand';
import type { Io } from '../../lib/cli/io';
import { loadCoverageConfig } from '../../lib/config';
import { buildCoverageDependencies } from '../../lib/coverage/dependencies';
import { STATUSES } from '../../lib/coverage/model';
import type { CoverageReport } from '../../lib/coverage/reconcile';
import { STATUS_ORDER } from '../../lib/coverage/report';
import { COVERAGE_HISTORY_TABLE, COVERAGE_TABLE } from '../../lib/state/coverageState';
import { HEARTBEAT_TABLE } from '../../lib/state/heartbeat';
import { startLocalAzure, type LocalAzure } from '../helpers/localAzure';

/**
 * The coverage report of the sample estate, made by `defender-export coverage` (coverageCommand, the real
 * reconciliation, the ARM stand-in), looked at in headless Chromium at desktop (1440 px) and laptop (1024
 * px) widths: no text may stick out of its cell, and the page may not scroll sideways. The estate is the
 * sample one plus a subscription for each status it lacks (AwaitingData, NoData, Unreachable) and one with a
 * long name without spaces. Screenshots of both widths are left in the temporary folder.
 */

const execFileAsync = promisify(execFile);

/** Chromium, or Chrome, on the PATH. */
function findChromium(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    for (const name of ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']) {
      const file = join(dir, name);
      try {
        accessSync(file, constants.X_OK);
        if (statSync(file).isFile()) return file;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}
const CHROMIUM = findChromium();
/** CI sets both (.ci/run): a missing Chromium then fails these checks instead of skipping them. */
const CHROMIUM_REQUIRED = Boolean(process.env.CI) && process.env.DEFENDER_EXPORT_REQUIRE_CHROMIUM === 'true';
const HOW_TO_GET_CHROMIUM =
  'Chromium not found (chromium, chromium-browser or google-chrome on the PATH), so the HTML report is not looked at in a browser: install it with `apt-get install -y chromium`.';

if (!CHROMIUM && !CHROMIUM_REQUIRED) console.log(HOW_TO_GET_CHROMIUM);

/** Skips the test without Chromium, saying why; fails it instead when CI requires Chromium. */
function needChromium(context: TestContext): string {
  if (CHROMIUM) return CHROMIUM;
  if (CHROMIUM_REQUIRED) throw new Error(`${HOW_TO_GET_CHROMIUM} (DEFENDER_EXPORT_REQUIRE_CHROMIUM is set)`);
  return context.skip(HOW_TO_GET_CHROMIUM);
}

/** Runs headless Chromium with its own throwaway profile; returns what it printed on stdout. */
async function chromium(binary: string, args: string[]): Promise<string> {
  const profile = mkdtempSync(join(tmpdir(), 'coverage-chromium-'));
  try {
    const { stdout } = await execFileAsync(
      binary,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--no-first-run',
        '--no-default-browser-check',
        `--user-data-dir=${profile}`,
        ...args,
      ],
      { timeout: 90_000, maxBuffer: 64 * 1024 * 1024 },
    );
    return stdout;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/**
 * Run in the page once it is laid out: every td and th whose content is wider than the cell (scrollWidth
 * past clientWidth), or holds an element that sticks out of it; the page's width against the window's; and
 * the statuses of the rows as shown. Written into the DOM (URI-encoded JSON) for --dump-dom to carry out.
 */
const CHECK = `(() => {
  const root = document.documentElement;
  const cells = [...document.querySelectorAll('td, th')];
  const overflowing = [];
  for (const cell of cells) {
    const box = cell.getBoundingClientRect();
    const sticking = [...cell.querySelectorAll('*')].find((el) => {
      const r = el.getBoundingClientRect();
      return r.width > 0 && (r.right > box.right + 0.5 || r.left < box.left - 0.5);
    });
    if (cell.scrollWidth > cell.clientWidth + 1 || sticking)
      overflowing.push({
        text: cell.textContent.trim().slice(0, 100),
        scrollWidth: cell.scrollWidth,
        clientWidth: cell.clientWidth,
        sticking: sticking ? sticking.outerHTML.slice(0, 100) : undefined,
      });
  }
  const statuses = [...document.querySelectorAll('table.subscriptions tbody tr:not(.group) .badge')].map(
    (b) => b.textContent,
  );
  const result = {
    window: innerWidth,
    viewport: root.clientWidth,
    pageWidth: root.scrollWidth,
    pageHeight: root.scrollHeight,
    cells: cells.length,
    overflowing,
    statuses,
  };
  const out = document.createElement('pre');
  out.id = 'overflow-check';
  out.textContent = encodeURIComponent(JSON.stringify(result));
  document.body.append(out);
})();`;

interface CheckResult {
  window: number;
  viewport: number;
  pageWidth: number;
  pageHeight: number;
  cells: number;
  overflowing: Array<{ text: string; scrollWidth: number; clientWidth: number; sticking?: string }>;
  statuses: string[];
}

const cert = () => ({
  cert: readFileSync(process.env.DEFENDER_EXPORT_DEV_CERT!, 'utf8'),
  key: readFileSync(process.env.DEFENDER_EXPORT_DEV_KEY!, 'utf8'),
});
const NOW = new Date('2026-11-24T12:00:00Z');
const hoursBefore = (hours: number) => new Date(NOW.getTime() - hours * 3_600_000);
/** The SDK's retries, minus the waiting. */
const ARM_RETRY = { maxRetries: 1, retryDelayInMs: 5, maxRetryDelayInMs: 10 };
const sub = (n: number) => `5ec00000-0000-4000-8000-0000000000${n}`;
const AWAITING = sub(20);
const NO_DATA = sub(21);
const UNREACHABLE = sub(22);
const LONG_NAME = 'Subscription_with_an_extraordinarily_long_name_that_has_no_spaces_at_all_0123456789';

/** Runs coverageCommand as the bin does, its stdout a terminal `columns` wide when given. */
async function coverage(
  env: NodeJS.ProcessEnv,
  at: Date,
  argv: { format: 'json' | 'table' | 'none'; html?: string; record?: boolean; columns?: number },
): Promise<string> {
  const stdout = new PassThrough();
  if (argv.columns) Object.assign(stdout, { isTTY: true, columns: argv.columns });
  const chunks: Buffer[] = [];
  stdout.on('data', (c: Buffer) => chunks.push(c));
  const io: Io = { stdin: Readable.from([]), stdout, stderr: new PassThrough(), env, clock: () => at };
  const deps = await buildCoverageDependencies(loadCoverageConfig(env), {
    clock: () => at,
    armRetry: ARM_RETRY,
  });
  await coverageCommand(
    {
      output: { format: argv.format },
      ...(argv.html ? { html: argv.html } : {}),
      remediate: false,
      dryRun: false,
      record: argv.record === true,
    },
    io,
    deps,
  );
  return Buffer.concat(chunks).toString('utf8');
}

let local: LocalAzure;
let arm: ArmStandIn;
let work: string;
let page: string;
let report: CoverageReport;
let table: string;
const TABLE_WIDTH = 150;

beforeAll(async () => {
  local = await startLocalAzure();
  const estate = sampleEstate();
  estate.push(
    {
      subscriptionId: AWAITING,
      displayName: 'Onboarding (export created today)',
      automations: [automation(AWAITING, 'exportToEventHub')],
    },
    {
      subscriptionId: NO_DATA,
      displayName: `Research <b>"nothing" & arrived</b>`,
      automations: [automation(NO_DATA, 'exportToEventHub')],
    },
    {
      subscriptionId: UNREACHABLE,
      displayName: LONG_NAME,
      automations: [automation(UNREACHABLE, 'exportToEventHub')],
    },
  );
  arm = await startArmStandIn({ ...cert(), estate, token: local.logs.token, pageSize: 5 });
  await local.dropTables([COVERAGE_TABLE, COVERAGE_HISTORY_TABLE, HEARTBEAT_TABLE]);
  const env = local.env({
    AZURE_RESOURCE_MANAGER_ENDPOINT: arm.url,
    COVERAGE_DESTINATIONS: SAMPLE_HUB,
  });
  const seed = await buildCoverageDependencies(loadCoverageConfig(env));
  await seed.heartbeat.record([
    {
      subscriptionId: SAMPLE_SUBSCRIPTIONS.covered,
      dataType: 'Alert',
      snapshot: false,
      lastSeen: hoursBefore(1),
    },
    {
      subscriptionId: SAMPLE_SUBSCRIPTIONS.covered,
      dataType: 'SecureScore',
      snapshot: true,
      lastSeen: hoursBefore(75),
    },
    {
      subscriptionId: SAMPLE_SUBSCRIPTIONS.coveredTogether,
      dataType: 'Recommendation',
      snapshot: false,
      lastSeen: hoursBefore(1),
    },
    { subscriptionId: STALE_SUBSCRIPTION, dataType: 'Alert', snapshot: false, lastSeen: hoursBefore(240) },
  ]);
  // Three days ago, a recorded run found the research subscription configured: no data since is NoData now.
  // The onboarding one did not exist then; the branch office's Resource Manager calls fail now.
  const onboarding = estate.findIndex((s) => s.subscriptionId === AWAITING);
  const [later] = estate.splice(onboarding, 1);
  await coverage(env, hoursBefore(72), { format: 'none', record: true });
  estate.push(later!);
  arm.inject({ reset: true, times: Infinity, when: (r) => r.path.includes(`${UNREACHABLE}/providers`) });

  work = mkdtempSync(join(tmpdir(), 'coverage-html-'));
  page = join(work, 'coverage.html');
  report = JSON.parse(await coverage(env, NOW, { format: 'json', html: page })) as CoverageReport;
  table = await coverage(env, NOW, { format: 'table', columns: TABLE_WIDTH });
}, 180_000);

afterAll(async () => {
  await arm?.close();
  await local?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The statuses of the report's rows, worst first, by name within a status, as the page and table show them. */
const expectedOrder = () =>
  [...report.subscriptions]
    .sort(
      (a, b) =>
        STATUS_ORDER.indexOf(a.status) - STATUS_ORDER.indexOf(b.status) ||
        (a.displayName || a.subscriptionId).localeCompare(b.displayName || b.subscriptionId, 'en', {
          sensitivity: 'base',
          numeric: true,
        }),
    )
    .map((s) => s.status);

describe('the coverage report of the sample estate', () => {
  it('has every status, and the JSON carries what the date columns show', () => {
    expect(new Set(report.subscriptions.map((s) => s.status))).toEqual(new Set(STATUSES));
    const byId = new Map(report.subscriptions.map((s) => [s.subscriptionId, s]));
    expect(byId.get(AWAITING)).toMatchObject({ status: 'AwaitingData', lastSeen: {} });
    expect(byId.get(NO_DATA)).toMatchObject({ status: 'NoData', lastSeen: {} });
    expect(byId.get(NO_DATA)!.findings[0]!.message).toMatch(/configured since 2026-11-21 12:00 UTC/);
    expect(byId.get(UNREACHABLE)!.status).toBe('Unreachable');
    expect(byId.get(SAMPLE_SUBSCRIPTIONS.covered)!.lastSeen).toEqual({
      streaming: hoursBefore(1).toISOString(),
      snapshot: hoursBefore(75).toISOString(),
    });
    // The skipped subscription is named next to its count.
    expect(report.inactive).toBe(1);
    expect(report.skipped).toEqual([
      { subscriptionId: sub(18), displayName: 'Decommissioned', state: 'Disabled' },
    ]);
  });

  it(`prints a table ${TABLE_WIDTH} columns wide: gaps first, worst first, every finding whole, human dates`, () => {
    const body = table.slice(0, table.indexOf('\nTimes are UTC'));
    for (const line of body.split('\n')) expect(line.length, line).toBeLessThanOrEqual(TABLE_WIDTH);
    // A row's first line starts at the left edge; its status starts under the STATUS heading.
    const [header, rule, ...rows] = body.split('\n').filter((line) => /^\S/.test(line));
    expect(header).toMatch(/^SUBSCRIPTION\s+NAME\s+STATUS\s+SINCE\s+LAST STREAMING\s+LAST SNAPSHOT/);
    expect(rule).toMatch(/^-+ {2}-+/);
    const at = header!.indexOf('STATUS');
    expect(rows.map((line) => /^\w+/.exec(line.slice(at))?.[0])).toEqual(expectedOrder());
    // Whole, as in the JSON (of another run: the stand-in's request ids differ).
    const squeeze = (text: string) => text.replace(/request [0-9a-f-]{36}/g, 'request').replace(/\s+/g, '');
    for (const s of report.subscriptions)
      for (const f of s.findings) expect(squeeze(body)).toContain(squeeze(f.message));
    expect(table).toMatch(
      /^Times are UTC; how long ago is counted from the evaluation, 2026-11-24 12:00 UTC\.$/m,
    );
    expect(table).toMatch(/2026-11-14 12:00\s.*\n.*10 days ago/);
    expect(table).toMatch(/3 days ago/); // the state's since, from the recorded run
    expect(table).toMatch(
      /^ {2}5ec00000-0000-4000-8000-000000000018 {2}Decommissioned {2}Disabled in Azure/m,
    );
    expect(table).toMatch(/^1 not judged: Resource Manager could not be reached/m);
  });

  it('writes a page with gaps first, every finding whole and escaped, the skipped subscription named', () => {
    const html = readFileSync(page, 'utf8');
    expect(html).not.toMatch(/<script|<b>/i);
    expect(html).toContain('Research &lt;b&gt;&quot;nothing&quot; &amp; arrived&lt;/b&gt;');
    const escape = (t: string) =>
      t.replace(
        /[&<>"']/g,
        (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
      );
    for (const s of report.subscriptions)
      for (const f of s.findings) expect(html).toContain(escape(f.message));
    expect(html).toMatch(
      /Decommissioned<\/div><code>5ec00000-<wbr>0000-<wbr>4000-<wbr>8000-<wbr>000000000018/,
    );
    expect(html).toContain('Last streaming data');
    expect(html).toContain('Last snapshot data');
  });

  it('the check finds text that sticks out of its cell', async (context) => {
    const binary = needChromium(context);
    const broken = join(work, 'check-broken.html');
    const squeezed = '<style>table{table-layout:fixed}td.fix{white-space:nowrap}</style></head>';
    writeFileSync(
      broken,
      readFileSync(page, 'utf8')
        .replace('</head>', squeezed)
        .replace('</body>', `<script>${CHECK}</script></body>`),
    );
    const dom = await chromium(binary, ['--window-size=1024,768', '--dump-dom', `file://${broken}`]);
    const result = JSON.parse(
      decodeURIComponent(/<pre id="overflow-check">([^<]*)<\/pre>/.exec(dom)![1]!),
    ) as CheckResult;
    expect(result.overflowing.map((o) => o.text)).toContainEqual(
      expect.stringMatching(/^No continuous export is configured/),
    );
  }, 180_000);

  for (const [width, height] of [
    [1440, 900],
    [1024, 768],
  ] as const) {
    it(`shows no text sticking out of its cell in Chromium at ${width} px, and a screenshot of it`, async (context) => {
      const binary = needChromium(context);
      const checked = join(work, `check-${width}.html`);
      writeFileSync(
        checked,
        readFileSync(page, 'utf8').replace('</body>', `<script>${CHECK}</script></body>`),
      );
      const dom = await chromium(binary, [
        `--window-size=${width},${height}`,
        '--dump-dom',
        `file://${checked}`,
      ]);
      const encoded = /<pre id="overflow-check">([^<]*)<\/pre>/.exec(dom)?.[1];
      expect(encoded, `no result in the page Chromium dumped:\n${dom.slice(0, 2000)}`).toBeDefined();
      const result = JSON.parse(decodeURIComponent(encoded!)) as CheckResult;
      expect(result.window).toBe(width);
      expect(result.cells).toBeGreaterThan(report.subscriptions.length * 5);
      expect(result.overflowing).toEqual([]);
      expect(result.pageWidth, 'the page scrolls sideways').toBeLessThanOrEqual(result.viewport);
      expect(result.statuses).toEqual(expectedOrder());

      // The whole page in one picture, for people to look at.
      const screenshot = join(tmpdir(), `coverage-report-${width}.png`);
      rmSync(screenshot, { force: true });
      await chromium(binary, [
        `--window-size=${width},${Math.min(result.pageHeight + 40, 16_000)}`,
        '--hide-scrollbars',
        `--screenshot=${screenshot}`,
        `file://${page}`,
      ]);
      const png = readFileSync(screenshot);
      expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
      expect(png.readUInt32BE(16)).toBe(width);
    }, 180_000);
  }
});
