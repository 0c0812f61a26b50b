import { isGap, type CoverageStatus, type Finding, type SubscriptionCoverage } from './model';

export type AlertKind = 'opened' | 'changed' | 'recovered' | 'reminder';

/** What the reconciler remembers about a subscription between runs. */
export interface CoverageRecord {
  subscriptionId: string;
  displayName: string;
  status: CoverageStatus;
  /** When the subscription entered this status. */
  since: string;
  /** When an alert about the current status last went out. */
  lastAlertAt?: string;
  /** An alert that could not be delivered, to send again next run. */
  pendingAlert?: AlertKind;
  configuredSince?: string;
  findings: Finding[];
  /** When this record last changed (an unchanged subscription is not rewritten every run). */
  evaluatedAt: string;
  /**
   * When Resource Manager last confirmed an Unknown status that Resource Graph cannot show (it hides what
   * the identity may not read, so its "no export" says nothing about such a subscription).
   */
  confirmedAt?: string;
}

/** Whether a record differs from what is stored in anything but its timestamp. */
export function recordChanged(before: CoverageRecord | undefined, after: CoverageRecord): boolean {
  if (!before) return true;
  const fields = [
    'status',
    'displayName',
    'since',
    'lastAlertAt',
    'pendingAlert',
    'configuredSince',
    'confirmedAt',
  ] as const;
  return (
    fields.some((field) => (before[field] ?? '') !== (after[field] ?? '')) ||
    JSON.stringify(before.findings) !== JSON.stringify(after.findings)
  );
}

export interface Alert {
  kind: AlertKind;
  coverage: SubscriptionCoverage;
  previousStatus?: CoverageStatus;
  /** For reminders: since when the gap has been open. */
  since: string;
}

export interface HistoryEntry {
  subscriptionId: string;
  from: CoverageStatus | '';
  to: CoverageStatus;
  at: string;
  findings: Finding[];
}

/**
 * Compares this run with the last: an alert when a subscription enters a gap, moves to another gap or
 * recovers, and a reminder when a gap has stayed open `reminderMs` since the last alert (0: never).
 * Unchanged subscriptions raise nothing. An alert that could not be delivered last time is raised again.
 *
 * Gaps are the statuses `isGap` names. AwaitingData is not one: entering it from a gap is a recovery (the
 * export was fixed), and leaving it for NoData opens a gap. Unreachable is no information at all: a
 * subscription judged before keeps its stored record untouched (status, since, last alert, a pending
 * alert), so nothing opens, closes, changes or reminds, and the next run that reaches Resource Manager
 * compares against the last real judgement. One never judged before is remembered as Unreachable, and its
 * first real status is then compared as if it were new.
 */
export function compare(
  previous: ReadonlyMap<string, CoverageRecord>,
  results: readonly SubscriptionCoverage[],
  now: Date,
  reminderMs: number,
): { records: CoverageRecord[]; alerts: Alert[]; history: HistoryEntry[] } {
  const at = now.toISOString();
  const records: CoverageRecord[] = [];
  const alerts: Alert[] = [];
  const history: HistoryEntry[] = [];
  for (const coverage of results) {
    const before = previous.get(coverage.subscriptionId);
    if (coverage.status === 'Unreachable' && before) {
      records.push({ ...before }); // a copy: the caller may mark records, and must then see a change
      continue;
    }
    const changed = before?.status !== coverage.status;
    const record: CoverageRecord = {
      subscriptionId: coverage.subscriptionId,
      displayName: coverage.displayName,
      status: coverage.status,
      since: changed ? at : before!.since,
      findings: coverage.findings,
      evaluatedAt: at,
      ...(coverage.configuredSince ? { configuredSince: coverage.configuredSince } : {}),
      ...(!changed && before?.lastAlertAt ? { lastAlertAt: before.lastAlertAt } : {}),
    };
    let kind: AlertKind | undefined;
    if (changed) {
      history.push({
        subscriptionId: coverage.subscriptionId,
        from: before?.status ?? '',
        to: coverage.status,
        at,
        findings: coverage.findings,
      });
      if (isGap(coverage.status)) kind = before && isGap(before.status) ? 'changed' : 'opened';
      else if (before && isGap(before.status)) kind = 'recovered';
    } else if (before?.pendingAlert) {
      kind = before.pendingAlert;
    } else if (isGap(coverage.status) && reminderMs > 0) {
      const last = Date.parse(before!.lastAlertAt ?? before!.since);
      if (now.getTime() - last >= reminderMs) kind = 'reminder';
    }
    if (kind) {
      alerts.push({
        kind,
        coverage,
        since: record.since,
        ...(before ? { previousStatus: before.status } : {}),
      });
      record.lastAlertAt = at;
    }
    records.push(record);
  }
  return { records, alerts, history };
}
