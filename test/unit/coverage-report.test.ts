import { afterEach, describe, expect, it, vi } from 'vitest';
import { coverageTable as cliTable, DEFAULT_WIDTH, terminalWidth } from '../../lib/cli/coverageText';
import { isGap, STATUSES, type CoverageStatus } from '../../lib/coverage/model';
import {
  ago,
  coverageHtml,
  coverageTable,
  ordered,
  STATUS_ORDER,
  utcMinute,
  wrap,
} from '../../lib/coverage/report';
import type { CoverageReport } from '../../lib/coverage/reconcile';

const AT = '2026-11-24T12:00:00.000Z';
const before = (ms: number) => new Date(Date.parse(AT) - ms).toISOString();
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const HUB =
  '/subscriptions/5ec00000-0000-4000-8000-000000000001/resourceGroups/rg-security/providers/Microsoft.EventHub/namespaces/ns-defender/eventhubs/defender-cloud';

type Row = CoverageReport['subscriptions'][number];

let n = 0;
function row(status: CoverageStatus, displayName: string, extra: Partial<Row> = {}): Row {
  n++;
  return {
    subscriptionId: `5ec00000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    displayName,
    status,
    findings: status === 'Covered' ? [] : [{ status, message: `${status} of ${displayName}: do this.` }],
    qualifying: [],
    missingSources: [],
    filtered: [],
    lastSeen: {},
    since: before(3 * DAY),
    ...extra,
  };
}

function report(subscriptions: Row[], extra: Partial<CoverageReport> = {}): CoverageReport {
  const counts = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<CoverageStatus, number>;
  for (const s of subscriptions) counts[s.status]++;
  return {
    evaluatedAt: AT,
    subscriptions,
    counts,
    inactive: 0,
    skipped: [],
    alerts: { sent: false, counts: {} },
    remediation: [],
    rows: { sent: 0, failed: 0 },
    gaps: subscriptions.filter((s) => isGap(s.status)).length,
    notDone: [],
    estate: { source: 'Resource Manager', confirmed: 0 },
    ...extra,
  };
}

/** One subscription of every status, with long sentences and a resource id that must wrap. */
const estate = () =>
  report(
    [
      row('Covered', 'Production', { lastSeen: { streaming: before(HOUR), snapshot: before(3 * DAY) } }),
      row('AwaitingData', 'Onboarding', {
        since: before(2 * HOUR),
        findings: [
          {
            status: 'AwaitingData',
            message:
              'Configured correctly since 2026-11-24 10:00 UTC, but no data from this subscription has arrived yet: nothing to do before 2026-11-26 10:00 UTC; if none has arrived by then it becomes NoData.',
          },
        ],
      }),
      row('Missing', 'sandbox'),
      row('Disabled', 'Finance (switched off)'),
      row('WrongDestination', 'Marketing (to the SIEM hub)', {
        findings: [
          {
            status: 'WrongDestination',
            message: `The export exportToSiem sends to ${HUB.replace('ns-defender', 'ns-siem')}, not to an expected destination: point it at ${HUB}.`,
          },
        ],
      }),
      row('MissingSources', 'Data platform'),
      row('Filtered', 'Retail'),
      row('PartialScope', 'Shared services (one resource group only)'),
      row('Stale', 'Legacy', { lastSeen: { streaming: before(10 * DAY) } }),
      row('NoData', 'Research', {
        findings: [
          {
            status: 'NoData',
            message:
              "No streaming data has ever arrived from this subscription although the export has been configured since 2026-11-21 12:00 UTC: check the Event Hub's firewall and the export's permissions.",
          },
          {
            status: 'NoData',
            message:
              "No snapshot data has ever arrived from this subscription although the export has been configured since 2026-11-21 12:00 UTC: check the Event Hub's firewall and the export's permissions.",
          },
        ],
      }),
      row('Unknown', 'Partner'),
      row('Unreachable', 'Branch office'),
      row('Missing', 'Archive 10'),
      row('Missing', 'Archive 9'),
    ],
    {
      inactive: 2,
      skipped: [
        { subscriptionId: '5ec00000-0000-4000-8000-000000000098', displayName: 'Old lab', state: 'Deleted' },
        {
          subscriptionId: '5ec00000-0000-4000-8000-000000000099',
          displayName: 'Decommissioned',
          state: 'Disabled',
        },
      ],
    },
  );

/** The table without the lines under it. */
const body = (table: string) => table.split('\nTimes are UTC')[0]!;
const squeeze = (text: string) => text.replace(/\s+/g, '');
/** What the table says in its last column, or under its rows (indented by 4), without the spaces. */
function sentences(table: string): string {
  const lines = body(table).split('\n');
  const column = lines[0]!.indexOf('WHAT IS WRONG');
  const text =
    column > 0
      ? lines.slice(2).map((line) => line.slice(column))
      : lines.slice(3).filter((line) => /^ {4}\S/.test(line));
  return squeeze(text.join(''));
}

afterEach(() => {
  vi.useRealTimers();
});

describe('the order of a coverage report', () => {
  it('puts every gap before every quiet status, worst first, Covered last', () => {
    expect([...STATUS_ORDER].sort()).toEqual([...STATUSES].sort());
    const firstQuiet = STATUS_ORDER.findIndex((s) => !isGap(s));
    expect(STATUS_ORDER.slice(0, firstQuiet).every(isGap)).toBe(true);
    expect(STATUS_ORDER.slice(firstQuiet).some(isGap)).toBe(false);
    expect(STATUS_ORDER.slice(0, 4)).toEqual(['Missing', 'Disabled', 'WrongDestination', 'NoData']);
    expect(STATUS_ORDER.slice(-3)).toEqual(['Unreachable', 'AwaitingData', 'Covered']);
  });

  it('orders by status, then by name (case and numbers as people read them), then by id', () => {
    const names = ordered(estate().subscriptions).map((s) => `${s.status} ${s.displayName}`);
    expect(names.slice(0, 4)).toEqual([
      'Missing Archive 9',
      'Missing Archive 10',
      'Missing sandbox',
      'Disabled Finance (switched off)',
    ]);
    expect(names.at(-1)).toBe('Covered Production');
  });
});

describe('human dates', () => {
  it('says the minute in UTC, and how long before the evaluation, whatever the clock says', () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2031-01-01T00:00:00Z'));
    expect(utcMinute('2026-11-24T10:15:42.123Z')).toBe('2026-11-24 10:15 UTC');
    expect(utcMinute('not a date')).toBe('not a date');
    const cases: Array<[number, string]> = [
      [20_000, 'just now'],
      [MINUTE, '1 minute ago'],
      [45 * MINUTE, '45 minutes ago'],
      [HOUR, '1 hour ago'],
      [47 * HOUR, '47 hours ago'],
      [3 * DAY, '3 days ago'],
      [89 * DAY, '89 days ago'],
      [120 * DAY, '3 months ago'],
      [800 * DAY, '2 years ago'],
      [-2 * HOUR, 'in 2 hours'],
    ];
    for (const [ms, text] of cases) expect(ago(before(ms), AT), text).toBe(text);
  });
});

describe('wrap', () => {
  it('keeps every character, breaks between words, and breaks a resource id after a slash', () => {
    const text = `The export exportToSiem sends to ${HUB}, not to an expected destination.`;
    for (const width of [20, 33, 50, 80]) {
      const lines = wrap(text, width);
      for (const line of lines) expect(line.length).toBeLessThanOrEqual(width);
      expect(squeeze(lines.join(''))).toBe(squeeze(text));
    }
    expect(wrap(HUB, 60)).toEqual([
      '/subscriptions/5ec00000-0000-4000-8000-000000000001/',
      'resourceGroups/rg-security/providers/Microsoft.EventHub/',
      'namespaces/ns-defender/eventhubs/defender-cloud',
    ]);
    expect(wrap('', 10)).toEqual(['']);
  });
});

describe('the coverage table', () => {
  it('fits the width, keeps every finding whole, and lists gaps first, worst first', () => {
    const r = estate();
    const expected = ordered(r.subscriptions).map((s) => s.status);
    for (let width = 120; width <= 260; width += 7) {
      const table = body(coverageTable(r, { width }));
      for (const line of table.split('\n'))
        expect(line.length, `${width}: ${line}`).toBeLessThanOrEqual(width);
      const said = sentences(table);
      for (const s of r.subscriptions)
        for (const f of s.findings) expect(said, `${width}`).toContain(squeeze(f.message));
      const [header, , ...rows] = table.split('\n').filter((line) => /^\S/.test(line));
      expect(header).toMatch(/^SUBSCRIPTION\s+NAME\s+STATUS\s+SINCE\s+LAST STREAMING\s+LAST SNAPSHOT/);
      const at = header!.indexOf('STATUS');
      expect(rows.map((line) => /^\w+/.exec(line.slice(at))?.[0])).toEqual(expected);
    }
  });

  it('wraps the sentences in their own column on a wide terminal, under their rows on a narrow one', () => {
    const wide = coverageTable(estate(), { width: 220 }).split('\n');
    const column = wide[0]!.indexOf('WHAT IS WRONG, AND HOW TO FIX IT');
    expect(column).toBeGreaterThan(100);
    const sentence = wide.findIndex((line) => line.includes('The export exportToSiem sends to'));
    expect(wide[sentence]!.indexOf('The export')).toBe(column);
    // The resource ids carry on in the same column, on the lines below.
    expect(wide[sentence + 1]!.slice(0, column).trim()).not.toContain('/');
    expect(wide[sentence + 1]!.slice(column)).toMatch(/^\/subscriptions\/|^\S/);

    const narrow = coverageTable(estate(), { width: 120 }).split('\n');
    expect(narrow[0]).not.toContain('WHAT IS WRONG');
    expect(narrow[1]).toBe('    WHAT IS WRONG, AND HOW TO FIX IT');
    expect(narrow).toContain('    Missing of sandbox: do this.');
  });

  it('shows since and the last data of each kind as dates and ages, "never" when none arrived', () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2031-01-01T00:00:00Z'));
    const lines = coverageTable(estate(), { width: 200 }).split('\n');
    const production = lines.findIndex((line) => line.includes('Production'));
    expect(lines[production]).toMatch(/Covered\s+2026-11-21 12:00\s+2026-11-24 11:00\s+2026-11-21 12:00/);
    expect(lines[production + 1]).toMatch(/^\s+3 days ago\s+1 hour ago\s+3 days ago$/);
    for (const name of ['Onboarding', 'Research']) {
      const at = lines.findIndex((line) => line.includes(name));
      expect(lines[at]).toMatch(/(AwaitingData|NoData)\s+2026-11-2\d \d\d:00\s+never\s+never\s/);
    }
    const legacy = lines.findIndex((line) => line.includes('Legacy'));
    expect(lines[legacy]).toMatch(/Stale\s+2026-11-21 12:00\s+2026-11-14 12:00\s+never/);
    expect(lines[legacy + 1]).toMatch(/3 days ago\s+10 days ago/);
    expect(lines).toContain(
      'Times are UTC; how long ago is counted from the evaluation, 2026-11-24 12:00 UTC.',
    );
  });

  it('names the skipped subscriptions, says the gaps and counts them right', () => {
    const table = coverageTable(estate());
    expect(table).toMatch(
      /^14 subscriptions judged \(1 Covered, 1 AwaitingData, 3 Missing, .*\); 2 disabled or deleted, skipped$/m,
    );
    expect(table).toMatch(/^11 subscriptions with a gap to act on, listed first, worst first$/m);
    expect(table).toMatch(
      /^1 not judged: Resource Manager could not be reached; alerts keep their last known status$/m,
    );
    expect(table).toContain(
      [
        'skipped, not judged (2 subscriptions):',
        '  5ec00000-0000-4000-8000-000000000099  Decommissioned  Disabled in Azure: it exports nothing, so there is nothing to judge',
        '  5ec00000-0000-4000-8000-000000000098  Old lab         Deleted in Azure: it exports nothing, so there is nothing to judge',
      ].join('\n'),
    );

    const one = coverageTable(report([row('Covered', 'Only')], { inactive: 1 }));
    expect(one).toMatch(/^1 subscription judged \(1 Covered\); 1 disabled or deleted, skipped$/m);
    expect(one).toMatch(/^no gap to act on$/m);
    expect(one).not.toMatch(/skipped, not judged/); // not known by name: only counted
    expect(coverageTable(report([row('Missing', 'Only')]))).toMatch(/^1 subscription with a gap to act on/m);
  });

  it('prints for the command line at the terminal width, or 120 when stdout is not a terminal, and ends with its notes', () => {
    expect(terminalWidth({ isTTY: true, columns: 200 })).toBe(200);
    expect(terminalWidth({ isTTY: true })).toBe(DEFAULT_WIDTH);
    expect(terminalWidth({ columns: 200 })).toBe(DEFAULT_WIDTH);
    expect(DEFAULT_WIDTH).toBe(120);
    const r = estate();
    expect(cliTable(r, ['a note'])).toBe(`${coverageTable(r, { width: 120 })}a note\n`);
    expect(cliTable(r, [], { width: 220 })).toBe(coverageTable(r, { width: 220 }));
  });
});

describe('the coverage page', () => {
  it('escapes every value, and has no markup but its own', () => {
    const evil = `<img src=x onerror=alert(1)>"' &amp;`;
    const hostile = report(
      [
        {
          ...row('Missing', evil),
          subscriptionId: `id-${evil}`,
          findings: [{ status: 'Missing', message: `fix ${evil}` }],
          lastSeen: { streaming: evil, snapshot: `x"><script>alert(2)</script>` },
          since: evil,
        },
        { ...row('Covered', 'ok'), status: evil as CoverageStatus },
      ],
      {
        evaluatedAt: evil,
        inactive: 1,
        skipped: [{ subscriptionId: evil, displayName: evil, state: evil }],
        remediation: [
          {
            kind: 'create',
            subscriptionId: evil,
            reason: evil,
            method: 'PUT',
            url: evil,
            body: {},
            applied: { ok: false, status: 400, message: evil },
          } as unknown as CoverageReport['remediation'][number],
        ],
      },
    );
    const html = coverageHtml(hostile);
    const tags = new Set([...html.matchAll(/<\/?([a-zA-Z][a-zA-Z0-9]*)/g)].map((m) => m[1]!.toLowerCase()));
    expect([...tags].sort()).toEqual(
      [
        'body',
        'code',
        'div',
        'h1',
        'h2',
        'head',
        'html',
        'li',
        'meta',
        'p',
        'span',
        'style',
        'table',
        'tbody',
        'td',
        'th',
        'thead',
        'time',
        'title',
        'tr',
        'ul',
        'wbr',
      ].sort(),
    );
    expect(html).toContain('datetime="x&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;"');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;&quot;&#39; &amp;amp;');
  });

  it('lists gaps first, worst first, each finding whole, dates as people read them, and the skipped by name', () => {
    const html = coverageHtml(estate());
    const statuses = [...html.matchAll(/<tr class="(?:gap|quiet)">.*?class="badge"[^>]*>(\w+)</g)].map(
      (m) => m[1],
    );
    expect(statuses).toEqual(ordered(estate().subscriptions).map((s) => s.status));
    expect(html).toContain('<th colspan="5">11 subscriptions with a gap, worst first</th>');
    expect(html).toContain(
      '<th colspan="5">3 subscriptions not counted as gaps: Unreachable, AwaitingData, Covered</th>',
    );
    for (const s of estate().subscriptions)
      for (const f of s.findings) expect(html).toContain(f.message.replace(/'/g, '&#39;'));
    expect(html).toContain('<th>Last streaming data</th><th>Last snapshot data</th>');
    expect(html).toMatch(
      /<span class="nw">2026-11-24<\/span> <span class="nw">11:00 UTC<\/span><\/time><div class="ago">1 hour ago<\/div>/,
    );
    expect(html).toContain('<span class="never">never</span>');
    expect(html).toContain(
      'Evaluated <time datetime="2026-11-24T12:00:00.000Z">2026-11-24 12:00 UTC</time>: 14 subscriptions judged, 11 with a gap; 2 disabled or deleted, skipped (listed below).',
    );
    expect(html).toContain('<h2>Skipped: 2 subscriptions disabled or deleted</h2>');
    expect(html).toMatch(
      /Decommissioned<\/div>.*<td>Disabled<\/td><td>Disabled in Azure: it exports nothing/,
    );

    const one = coverageHtml(
      report([row('Missing', 'Only')], {
        inactive: 1,
        skipped: [{ subscriptionId: 'x', displayName: 'Gone', state: 'Deleted' }],
      }),
    );
    expect(one).toContain(
      '1 subscription judged, 1 with a gap; 1 disabled or deleted, skipped (listed below).',
    );
    expect(one).toContain('<th colspan="5">1 subscription with a gap, worst first</th>');
    expect(one).toContain('<h2>Skipped: 1 subscription disabled or deleted</h2>');
  });
});
