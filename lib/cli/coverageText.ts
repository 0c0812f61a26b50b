import { STATUSES } from '../coverage/model';
import type { CoverageReport } from '../coverage/reconcile';
import { columns, plural } from './text';

const cut = (text: string, width: number) => (text.length <= width ? text : `${text.slice(0, width - 1)}…`);

/**
 * `coverage -o table`: every subscription judged, the counts, what happened to the alerts and the rows,
 * and what the run did not do because it was not asked to (the command line looks before it acts).
 */
export function coverageTable(report: CoverageReport, notes: readonly string[] = []): string {
  const rows = report.subscriptions.map((s) => [
    s.subscriptionId,
    cut(s.displayName, 24),
    s.status,
    s.since.slice(0, 16).replace('T', ' '),
    cut(s.findings[0]?.message ?? '', 110),
  ]);
  const counts = STATUSES.filter((s) => report.counts[s] > 0)
    .map((s) => `${report.counts[s]} ${s}`)
    .join(', ');
  const lines = [
    `${plural(report.subscriptions.length, 'subscription')} judged${counts ? ` (${counts})` : ''}` +
      (report.inactive ? `; ${report.inactive} disabled or deleted, skipped` : ''),
  ];
  const kinds = Object.entries(report.alerts.counts).map(([k, n]) => `${n} ${k}`);
  if (kinds.length) {
    const fate = report.notDone.includes('alerts')
      ? 'not posted'
      : report.alerts.sent
        ? 'sent to the webhook'
        : report.alerts.error
          ? `NOT sent: ${report.alerts.error}`
          : 'no webhook configured';
    lines.push(`alerts: ${kinds.join(', ')} — ${fate}`);
  }
  if (report.rows.sent > 0 || report.rows.failed > 0) {
    lines.push(
      `Coverage rows: ${report.rows.sent} sent to Log Analytics` +
        (report.rows.failed > 0 ? `, ${report.rows.failed} NOT sent: ${report.rows.error ?? 'refused'}` : ''),
    );
  }
  const undone = notDoneText(report);
  if (undone) lines.push(undone);
  lines.push(...notes);
  return `${columns(['SUBSCRIPTION', 'NAME', 'STATUS', 'SINCE (UTC)', 'WHAT IS WRONG'], rows)}\n${lines.join('\n')}\n`;
}

/** One sentence on what a run left undone, or '' when it did everything. */
export function notDoneText(report: CoverageReport): string {
  const parts: string[] = [];
  if (report.notDone.includes('state')) parts.push('coverage state and history not written');
  if (report.notDone.includes('rows'))
    parts.push(`${plural(report.subscriptions.length, 'Coverage row')} not sent to Log Analytics`);
  const record = parts.length > 0 ? `${parts.join(', ')} (add --record)` : '';
  const alerts = report.notDone.includes('alerts')
    ? `${plural(
        Object.values(report.alerts.counts).reduce((a, b) => a + (b ?? 0), 0),
        'alert',
      )} not posted to the webhook (add --notify)`
    : '';
  const all = [record, alerts].filter(Boolean);
  return all.length > 0 ? `not done, as not asked: ${all.join('; ')}` : '';
}
