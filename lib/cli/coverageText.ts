import type { CoverageReport } from '../coverage/reconcile';
import { coverageTable as table, notDoneText } from '../coverage/report';
import { isTTY } from './io';

export { notDoneText };

/** The width the table is laid out for when stdout is not a terminal (a file, a pipe, a CI log). */
export const DEFAULT_WIDTH = 120;

/** How wide the table may be: the terminal's width when stdout is one, else DEFAULT_WIDTH. */
export function terminalWidth(stream: unknown): number {
  const columns = (stream as { columns?: unknown }).columns;
  return isTTY(stream) && typeof columns === 'number' && columns > 0 ? columns : DEFAULT_WIDTH;
}

/**
 * `coverage -o table`: every subscription judged, gaps first and worst first, each finding in full wrapped
 * to `width`; the counts, the skipped subscriptions, what happened to the alerts and the rows, and what the
 * run did not do because it was not asked to (the command line looks before it acts).
 */
export function coverageTable(
  report: CoverageReport,
  notes: readonly string[] = [],
  options: { width?: number } = {},
): string {
  const text = table(report, { width: options.width ?? DEFAULT_WIDTH });
  return notes.length > 0 ? `${text}${notes.join('\n')}\n` : text;
}
