import type { CoverageReport, NotDone } from './reconcile';
import { isGap, STATUSES, type CoverageStatus } from './model';

/** A subscription the run did not judge: switched off or deleted in Azure, so it exports nothing. */
export interface SkippedSubscription {
  subscriptionId: string;
  displayName: string;
  /** The subscription's state in Azure: Disabled or Deleted. */
  state: string;
}

/**
 * Every status, worst first: nothing reaches the destination at all (Missing, Disabled, WrongDestination,
 * NoData); part of the data is lost (MissingSources: whole data types, PartialScope: whole resource groups,
 * Filtered: some severities); data stopped arriving, which may be a quiet subscription (Stale); nothing
 * known because access was refused (Unknown). Then the statuses that are not gaps: nothing learnt this run
 * (Unreachable), a new export not due yet (AwaitingData), and Covered last.
 */
export const STATUS_ORDER: readonly CoverageStatus[] = [
  'Missing',
  'Disabled',
  'WrongDestination',
  'NoData',
  'MissingSources',
  'PartialScope',
  'Filtered',
  'Stale',
  'Unknown',
  'Unreachable',
  'AwaitingData',
  'Covered',
];
const RANK = new Map(STATUS_ORDER.map((status, i) => [status, i]));

const nameOf = (s: { displayName: string; subscriptionId: string }) => s.displayName || s.subscriptionId;
const byName = (
  a: { displayName: string; subscriptionId: string },
  b: { displayName: string; subscriptionId: string },
) =>
  nameOf(a).localeCompare(nameOf(b), 'en', { sensitivity: 'base', numeric: true }) ||
  a.subscriptionId.localeCompare(b.subscriptionId);

/** The subscriptions worst first (STATUS_ORDER), and by name within a status. */
export function ordered<T extends { status: CoverageStatus; displayName: string; subscriptionId: string }>(
  subscriptions: readonly T[],
): T[] {
  return [...subscriptions].sort(
    (a, b) => (RANK.get(a.status) ?? RANK.size) - (RANK.get(b.status) ?? RANK.size) || byName(a, b),
  );
}

/** `1 subscription`, `2 subscriptions`. */
const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** An instant to the minute, as people read it: `2026-11-24 10:15 UTC` (a text that is no date stays as it is). */
export function utcMinute(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

const UNITS: ReadonlyArray<[unit: string, ms: number, below: number]> = [
  ['minute', 60_000, 60],
  ['hour', 3_600_000, 48],
  ['day', 86_400_000, 90],
  ['month', 2_629_746_000, 24],
  ['year', 31_556_952_000, Infinity],
];

/**
 * How long before `at` an instant was, as people say it: `just now`, `5 minutes ago`, `1 hour ago`,
 * `10 days ago`, `3 months ago` (`in 2 hours` for a later one). `at` is the report's evaluatedAt, never the
 * clock: a report reads the same whenever it is looked at.
 */
export function ago(iso: string, at: string): string {
  const then = new Date(iso).getTime();
  const now = new Date(at).getTime();
  if (Number.isNaN(then) || Number.isNaN(now)) return '';
  const diff = now - then;
  const size = Math.abs(diff);
  if (size < 60_000) return 'just now';
  for (const [unit, ms, below] of UNITS) {
    const n = Math.floor(size / ms);
    if (n < below) return diff > 0 ? `${count(n, unit)} ago` : `in ${count(n, unit)}`;
  }
  return '';
}

/** Where a word too long for its line may break: after a slash, hyphen, underscore, comma, colon or dot. */
const BREAK_AFTER = /[/\-_,:.]/;

function splitWord(word: string, width: number): string[] {
  const pieces: string[] = [];
  let rest = word;
  while (rest.length > width) {
    let at = -1;
    for (let i = width - 1; i > width / 3; i--) {
      if (BREAK_AFTER.test(rest[i]!)) {
        at = i + 1;
        break;
      }
    }
    if (at < 0) at = width;
    pieces.push(rest.slice(0, at));
    rest = rest.slice(at);
  }
  if (rest) pieces.push(rest);
  return pieces;
}

/**
 * Text in lines of at most `width` characters, broken between words; a word longer than a line (a resource
 * id) is broken after a slash or hyphen where it can be, else at the width. Nothing is left out.
 */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (!line) {
      const pieces = splitWord(word, width);
      line = pieces.pop()!;
      lines.push(...pieces);
    } else if (line.length + 1 + word.length <= width) {
      line += ` ${word}`;
    } else {
      lines.push(line);
      const pieces = splitWord(word, width);
      line = pieces.pop()!;
      lines.push(...pieces);
    }
  }
  if (line || lines.length === 0) lines.push(line);
  return lines;
}

/** The counts in the order of STATUSES, as `2 Covered, 1 Missing`. */
const countsText = (report: CoverageReport) =>
  STATUSES.filter((s) => report.counts[s] > 0)
    .map((s) => `${report.counts[s]} ${s}`)
    .join(', ');

/** Why a subscription was not judged, in a few words. */
const skippedWhy = (state: string) =>
  `${state || 'inactive'} in Azure: it exports nothing, so there is nothing to judge`;

/** One sentence on what a run left undone, or '' when it did everything. */
export function notDoneText(report: Pick<CoverageReport, 'notDone' | 'subscriptions' | 'alerts'>): string {
  const has = (what: NotDone) => report.notDone.includes(what);
  const parts: string[] = [];
  if (has('state')) parts.push('coverage state and history not written');
  if (has('rows'))
    parts.push(`${count(report.subscriptions.length, 'Coverage row')} not sent to Log Analytics`);
  const record = parts.length > 0 ? `${parts.join(', ')} (add --record)` : '';
  const alerts = has('alerts')
    ? `${count(
        Object.values(report.alerts.counts).reduce((a, b) => a + (b ?? 0), 0),
        'alert',
      )} not posted to the webhook (add --notify)`
    : '';
  const all = [record, alerts].filter(Boolean);
  return all.length > 0 ? `not done, as not asked: ${all.join('; ')}` : '';
}

/** The narrowest the fix column may be before the sentences move under their rows. */
const FIX_MIN = 50;
/** The widest a name gets before it wraps, and the narrowest it wraps to. */
const NAME_MAX = 28;
const NAME_MIN = 12;
/** How far the sentences are indented when they are under their rows. */
const INDENT = 4;

interface Column {
  header: string;
  /** Per row, the cell's paragraphs: each wraps on its own. */
  cells: string[][];
  width: number;
  /** How narrow the column may be wrapped. */
  min: number;
}

/** A column as wide as its widest paragraph (up to `max`), which may be wrapped down to `min`. */
function column(header: string, cells: string[][], options: { max?: number; min?: number } = {}): Column {
  const natural = Math.max(header.length, ...cells.flat().map((p) => p.length));
  const min = Math.min(natural, Math.max(header.length, options.min ?? natural));
  return { header, cells, width: Math.max(min, Math.min(natural, options.max ?? natural)), min };
}

/** A date cell: the minute (UTC, said once under the table) and how long before the report it was. */
const when = (iso: string | undefined, at: string): string[] =>
  iso ? [utcMinute(iso).replace(/ UTC$/, ''), ago(iso, at)].filter(Boolean) : ['never'];

/**
 * The reconciliation as a table for a terminal `width` columns wide (120 when not said): gaps first, worst
 * first, by name within a status; the status, since when, when data of each kind was last seen, and every
 * finding in full, wrapped in its column (under its row when the terminal is too narrow for a column of
 * FIX_MIN). Then the counts, the skipped subscriptions by name, and what happened to the alerts and rows.
 */
export function coverageTable(report: CoverageReport, options: { width?: number } = {}): string {
  const width = Math.max(FIX_MIN, Math.floor(options.width ?? 120));
  const at = report.evaluatedAt;
  const subscriptions = ordered(report.subscriptions);
  const dates = (pick: (s: CoverageReport['subscriptions'][number]) => string | undefined) => {
    const cells = subscriptions.map((s) => when(pick(s), at));
    // A date wraps between the day and the time; how long ago stays on one line.
    return { cells, min: Math.max(10, ...cells.map((c) => (c.length > 1 ? c[1]!.length : 0))) };
  };
  const since = dates((s) => s.since);
  const streaming = dates((s) => s.lastSeen.streaming);
  const snapshot = dates((s) => s.lastSeen.snapshot);
  const columns = [
    column(
      'SUBSCRIPTION',
      subscriptions.map((s) => [s.subscriptionId]),
    ),
    column(
      'NAME',
      subscriptions.map((s) => [s.displayName || '(no name)']),
      { max: NAME_MAX, min: NAME_MIN },
    ),
    column(
      'STATUS',
      subscriptions.map((s) => [s.status]),
    ),
    column('SINCE', since.cells, { min: since.min }),
    column('LAST STREAMING', streaming.cells, { min: streaming.min }),
    column('LAST SNAPSHOT', snapshot.cells, { min: snapshot.min }),
  ];
  const fix = column(
    'WHAT IS WRONG, AND HOW TO FIX IT',
    subscriptions.map((s) => s.findings.map((f) => f.message)),
  );
  const NAME = 1;
  const DATES = [3, 4, 5];
  /** The width of the columns so far, each with the two spaces after it. */
  const used = () => columns.reduce((n, c) => n + c.width + 2, 0);
  const natural = columns.map((c) => c.width);
  /** Wraps the dates, then the names, until the columns take at most `budget`. */
  const fit = (budget: number) => {
    if (used() > budget) for (const i of DATES) columns[i]!.width = columns[i]!.min;
    const name = columns[NAME]!;
    if (used() > budget) name.width = Math.max(name.min, name.width - (used() - budget));
  };
  fit(width - FIX_MIN);
  const beside = width - used() >= FIX_MIN;
  if (beside) {
    fix.width = Math.min(fix.width, width - used());
    columns.push(fix);
  } else {
    // The sentences go under their rows: the rows keep as much of their natural width as fits, and a long
    // name may take what is left.
    columns.forEach((c, i) => (c.width = natural[i]!));
    const name = columns[NAME]!;
    const longest = Math.max(0, ...name.cells.flat().map((p) => p.length));
    name.width = Math.max(name.width, Math.min(longest, width + 2 - (used() - name.width)));
    fit(width + 2);
  }
  const fixWidth = Math.max(FIX_MIN, width - INDENT);

  const render = (cells: string[][]) => {
    const wrapped = cells.map((paragraphs, i) => paragraphs.flatMap((p) => wrap(p, columns[i]!.width)));
    const height = Math.max(1, ...wrapped.map((lines) => lines.length));
    return Array.from({ length: height }, (_, row) =>
      wrapped
        .map((lines, i) =>
          i === wrapped.length - 1 ? (lines[row] ?? '') : (lines[row] ?? '').padEnd(columns[i]!.width),
        )
        .join('  ')
        .trimEnd(),
    );
  };
  const lines = render(columns.map((c) => [c.header]));
  if (!beside) lines.push(`${' '.repeat(INDENT)}${fix.header}`);
  lines.push(render(columns.map((c) => ['-'.repeat(c.width)]))[0]!);
  subscriptions.forEach((s, row) => {
    if (row > 0) lines.push('');
    lines.push(...render(columns.map((c) => c.cells[row]!)));
    if (!beside) {
      for (const message of s.findings.map((f) => f.message))
        lines.push(...wrap(message, fixWidth).map((l) => `${' '.repeat(INDENT)}${l}`));
    }
  });
  lines.push('', `Times are UTC; how long ago is counted from the evaluation, ${utcMinute(at)}.`);

  const counts = countsText(report);
  const summary = [
    `${count(report.subscriptions.length, 'subscription')} judged${counts ? ` (${counts})` : ''}` +
      (report.inactive ? `; ${report.inactive} disabled or deleted, skipped` : ''),
    report.gaps > 0
      ? `${count(report.gaps, 'subscription')} with a gap to act on, listed first, worst first`
      : 'no gap to act on',
  ];
  if (report.counts.Unreachable > 0)
    summary.push(
      `${report.counts.Unreachable} not judged: Resource Manager could not be reached; alerts keep their last known status`,
    );
  if (report.skipped && report.skipped.length > 0) {
    const skipped = [...report.skipped].sort(byName);
    const idWidth = Math.max(...skipped.map((s) => s.subscriptionId.length));
    const nameWidth = Math.max(...skipped.map((s) => (s.displayName || '(no name)').length));
    summary.push(
      `skipped, not judged (${count(skipped.length, 'subscription')}):`,
      ...skipped.map(
        (s) =>
          `  ${s.subscriptionId.padEnd(idWidth)}  ${(s.displayName || '(no name)').padEnd(nameWidth)}  ${skippedWhy(s.state)}`,
      ),
    );
  }
  const kinds = Object.entries(report.alerts.counts).map(([k, n]) => `${n} ${k}`);
  if (kinds.length) {
    const fate = report.notDone.includes('alerts')
      ? 'not posted'
      : report.alerts.sent
        ? 'sent to the webhook'
        : report.alerts.error
          ? `NOT sent: ${report.alerts.error}`
          : 'no webhook configured';
    summary.push(`alerts: ${kinds.join(', ')} — ${fate}`);
  }
  if (report.rows.sent > 0 || report.rows.failed > 0) {
    summary.push(
      `Coverage rows: ${report.rows.sent} sent to Log Analytics` +
        (report.rows.failed > 0 ? `, ${report.rows.failed} NOT sent: ${report.rows.error ?? 'refused'}` : ''),
    );
  }
  if (report.estate.source !== 'Resource Manager') {
    summary.push(
      report.estate.source.startsWith('Resource Graph')
        ? `read through ${report.estate.source}, which lags changes by minutes: ${count(report.estate.confirmed, 'subscription')} whose status changed read again through Resource Manager before any alert`
        : `read through ${report.estate.source}`,
    );
  }
  const undone = notDoneText(report);
  if (undone) summary.push(undone);
  return `${[...lines, '', ...summary].join('\n')}\n`;
}

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

/** Red for every configuration gap; the others by what they are. */
const COLOURS: Record<string, string> = {
  Covered: '#2e7d32',
  AwaitingData: '#1565c0',
  Stale: '#ef6c00',
  NoData: '#d84315',
  Unknown: '#6a1b9a',
  Unreachable: '#546e7a',
};

const badge = (status: string) =>
  `<span class="badge" style="background:${Object.hasOwn(COLOURS, status) ? COLOURS[status] : '#c62828'}">${escapeHtml(status)}</span>`;

/** A date cell: the minute in UTC and how long before the evaluation; `never` when there is none. */
const whenHtml = (iso: string | undefined, at: string) =>
  iso
    ? `<time datetime="${escapeHtml(iso)}">${utcMinute(iso)
        .split(/ (?=\d\d:)/)
        .map((part) => `<span class="nw">${escapeHtml(part)}</span>`)
        .join(' ')}</time><div class="ago">${escapeHtml(ago(iso, at))}</div>`
    : '<span class="never">never</span>';

/** A subscription cell: its name, and its id, which may break after a hyphen (copied, it is whole). */
const subscriptionHtml = (s: { displayName: string; subscriptionId: string }) =>
  `<div class="name">${escapeHtml(s.displayName || '(no name)')}</div><code>${escapeHtml(s.subscriptionId).replace(/-/g, '-<wbr>')}</code>`;

const STYLE = `
*{box-sizing:border-box}
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em;color:#222;max-width:110em}
h1{font-size:1.6em;margin:0 0 .3em}h2{font-size:1.2em;margin:1.6em 0 .4em}
p{margin:.4em 0}
table{border-collapse:collapse;margin:.6em 0;width:100%}
td,th{border-bottom:1px solid #ddd;padding:.45em .6em;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{overflow-wrap:normal}thead th{position:sticky;top:0;background:#fff;border-bottom:2px solid #bbb}
.nw{white-space:nowrap}
tr.group th{background:#f4f4f4;font-weight:600;padding-top:.6em}
tr.gap td:first-child{box-shadow:inset 3px 0 #c62828}
.badge{display:inline-block;color:#fff;border-radius:3px;padding:.1em .5em;font-size:12px;white-space:nowrap}
code{color:#555;font-size:12px}
.name{font-weight:600}
.ago,.never{color:#666;font-size:12px}
td.sub{min-width:11em;width:16em}td.status{min-width:9.5em}td.when{min-width:6.5em}
td.fix{min-width:18em;width:45%}
.since{margin-top:.3em;font-size:13px}
td.fix ul{margin:0;padding-left:1.1em}td.fix li+li{margin-top:.3em}
.counts{display:flex;flex-wrap:wrap;gap:.4em 1.2em;list-style:none;padding:0;margin:.8em 0}
.counts li{white-space:nowrap}.counts .zero{opacity:.45}
`.trim();

/**
 * A self-contained HTML page an auditor can open: gaps first, worst first; each subscription's status, since
 * when, when data was last seen, and every finding in full; the counts; the skipped subscriptions by name;
 * remediation. Every value from Azure or the state is escaped; the page runs no script.
 */
export function coverageHtml(report: CoverageReport): string {
  const at = report.evaluatedAt;
  const counts = STATUS_ORDER.map(
    (s) =>
      `<li${report.counts[s] ? '' : ' class="zero"'}>${badge(s)} <span class="n">${report.counts[s] ?? 0}</span></li>`,
  ).join('');
  const row = (s: CoverageReport['subscriptions'][number]) => {
    const findings =
      s.findings.length === 0
        ? '—'
        : s.findings.length === 1
          ? escapeHtml(s.findings[0]!.message)
          : `<ul>${s.findings.map((f) => `<li>${escapeHtml(f.message)}</li>`).join('')}</ul>`;
    return (
      `<tr class="${isGap(s.status) ? 'gap' : 'quiet'}"><td class="sub">${subscriptionHtml(s)}</td>` +
      `<td class="status">${badge(s.status)}<div class="since">since ${whenHtml(s.since, at)}</div></td>` +
      `<td class="when">${whenHtml(s.lastSeen.streaming, at)}</td><td class="when">${whenHtml(s.lastSeen.snapshot, at)}</td>` +
      `<td class="fix">${findings}</td></tr>`
    );
  };
  const all = ordered(report.subscriptions);
  const gaps = all.filter((s) => isGap(s.status));
  const quiet = all.filter((s) => !isGap(s.status));
  const group = (title: string, rows: typeof all) =>
    rows.length
      ? `<tbody><tr class="group"><th colspan="5">${escapeHtml(title)}</th></tr>\n${rows.map(row).join('\n')}\n</tbody>`
      : '';
  const skipped = report.skipped?.length
    ? `<h2>Skipped: ${count(report.skipped.length, 'subscription')} disabled or deleted</h2>
<table><thead><tr><th>Subscription</th><th>State</th><th>Why it was not judged</th></tr></thead><tbody>
${[...report.skipped]
  .sort(byName)
  .map(
    (s) =>
      `<tr><td class="sub">${subscriptionHtml(s)}</td><td>${escapeHtml(s.state)}</td><td>${escapeHtml(skippedWhy(s.state))}</td></tr>`,
  )
  .join('\n')}
</tbody></table>`
    : '';
  const remediation = report.remediation.length
    ? `<h2>Remediation</h2><ul>${report.remediation.map((c) => `<li><code>${escapeHtml(c.kind)}</code> ${escapeHtml(c.subscriptionId)}: ${escapeHtml(c.reason)}${c.applied ? ` — ${c.applied.ok ? `done (HTTP ${escapeHtml(String(c.applied.status))})` : `failed: ${escapeHtml(c.applied.message)}`}` : ''}</li>`).join('')}</ul>`
    : '';
  const judged = report.subscriptions.length;
  const inactive = report.inactive
    ? `; ${report.inactive} disabled or deleted, skipped${report.skipped?.length ? ' (listed below)' : ''}`
    : '';
  const unreachable = report.counts.Unreachable
    ? `<p>${count(report.counts.Unreachable, 'subscription')} not judged: Resource Manager could not be reached; alerts keep their last known status.</p>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Defender continuous export coverage ${escapeHtml(utcMinute(at))}</title>
<style>${STYLE}</style></head>
<body><h1>Defender for Cloud continuous export coverage</h1>
<p>Evaluated <time datetime="${escapeHtml(at)}">${escapeHtml(utcMinute(at))}</time>: ${count(judged, 'subscription')} judged, ${report.gaps} with a gap${escapeHtml(inactive)}. Times are UTC; how long ago is counted from the evaluation.</p>
${unreachable}<ul class="counts">${counts}</ul>
<table class="subscriptions"><thead><tr><th>Subscription</th><th>Status, since</th><th>Last streaming data</th><th>Last snapshot data</th><th>What is wrong, and how to fix it</th></tr></thead>
${group(gaps.length ? `${count(gaps.length, 'subscription')} with a gap, worst first` : '', gaps)}
${group(`${count(quiet.length, 'subscription')} not counted as gaps: ${STATUS_ORDER.filter((st) => quiet.some((s) => s.status === st)).join(', ')}`, quiet)}
</table>
${skipped}${remediation}
</body></html>
`;
}
