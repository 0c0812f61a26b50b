import type { CoverageReport } from './reconcile';
import { STATUSES } from './model';

const cut = (text: string, width: number) => (text.length <= width ? text : `${text.slice(0, width - 1)}…`);

/** The reconciliation as a table for a terminal. */
export function coverageTable(report: CoverageReport): string {
  const rows = report.subscriptions.map((s) => [
    s.subscriptionId,
    cut(s.displayName, 24),
    s.status,
    s.since.slice(0, 16).replace('T', ' '),
    cut(s.findings[0]?.message ?? '', 110),
  ]);
  const header = ['SUBSCRIPTION', 'NAME', 'STATUS', 'SINCE (UTC)', 'WHAT IS WRONG'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const counts = STATUSES.filter((s) => report.counts[s] > 0)
    .map((s) => `${report.counts[s]} ${s}`)
    .join(', ');
  const lines = [
    line(header),
    ...rows.map(line),
    '',
    `${report.subscriptions.length} subscriptions judged (${counts})${report.inactive ? `; ${report.inactive} disabled or deleted, skipped` : ''}`,
  ];
  if (report.counts.Unreachable > 0)
    lines.push(
      `${report.counts.Unreachable} not judged: Resource Manager could not be reached; alerts keep their last known status`,
    );
  const kinds = Object.entries(report.alerts.counts).map(([k, n]) => `${n} ${k}`);
  if (kinds.length)
    lines.push(
      `alerts: ${kinds.join(', ')} — ${report.alerts.sent ? 'sent to the webhook' : report.alerts.error ? `NOT sent: ${report.alerts.error}` : 'no webhook configured'}`,
    );
  return `${lines.join('\n')}\n`;
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
  NoData: '#e65100',
  Unknown: '#6a1b9a',
  Unreachable: '#546e7a',
};

/** A self-contained HTML page an auditor can open: the status of every subscription, why, and the counts. */
export function coverageHtml(report: CoverageReport): string {
  const badge = (status: string) =>
    `<span class="badge" style="background:${COLOURS[status] ?? '#c62828'}">${escapeHtml(status)}</span>`;
  const counts = STATUSES.map(
    (s) => `<tr><td>${badge(s)}</td><td class="n">${report.counts[s]}</td></tr>`,
  ).join('');
  const rows = report.subscriptions
    .map(
      (s) =>
        `<tr><td><div>${escapeHtml(s.displayName || '(no name)')}</div><code>${escapeHtml(s.subscriptionId)}</code></td><td>${badge(s.status)}</td>` +
        `<td>${escapeHtml(s.since)}</td><td>${s.findings.length ? `<ul>${s.findings.map((f) => `<li>${escapeHtml(f.message)}</li>`).join('')}</ul>` : '—'}</td>` +
        `<td>${escapeHtml(s.lastSeen.streaming ?? '—')}<br>${escapeHtml(s.lastSeen.snapshot ?? '—')}</td></tr>`,
    )
    .join('\n');
  const remediation = report.remediation.length
    ? `<h2>Remediation</h2><ul>${report.remediation.map((c) => `<li><code>${escapeHtml(c.kind)}</code> ${escapeHtml(c.subscriptionId)}: ${escapeHtml(c.reason)}${c.applied ? ` — ${c.applied.ok ? `done (HTTP ${c.applied.status})` : `failed: ${escapeHtml(c.applied.message)}`}` : ''}</li>`).join('')}</ul>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Defender continuous export coverage ${escapeHtml(report.evaluatedAt)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border-bottom:1px solid #ddd;padding:.4em .6em;text-align:left;vertical-align:top}
.badge{color:#fff;border-radius:3px;padding:.1em .5em;font-size:12px}.n{text-align:right}code{color:#555;font-size:12px}ul{margin:0;padding-left:1.2em}</style></head>
<body><h1>Defender for Cloud continuous export coverage</h1>
<p>Evaluated ${escapeHtml(report.evaluatedAt)}: ${report.subscriptions.length} subscriptions judged, ${report.gaps} with a gap${report.inactive ? `, ${report.inactive} disabled or deleted (skipped)` : ''}.</p>
<table><thead><tr><th>Status</th><th>Subscriptions</th></tr></thead><tbody>${counts}</tbody></table>
<table><thead><tr><th>Subscription</th><th>Status</th><th>Since</th><th>What is wrong, and how to fix it</th><th>Last data seen<br>(streaming / snapshot)</th></tr></thead><tbody>
${rows}
</tbody></table>${remediation}
</body></html>
`;
}
