import pLimit from 'p-limit';
import { sendRows } from '../outbox/logsOutbox';
import type { HeartbeatStore, LogsSink } from '../ports';
import { failureText } from '../sinks/deliveryFailure';
import { coverageRow } from './coverageRows';
import { evaluate } from './evaluate';
import { INACTIVE_STATES } from './estate';
import type { Estate } from './graphEstate';
import type { SkippedSubscription } from './report';
import type { Automation, CoverageStatus, DesiredState, SubscriptionCoverage } from './model';
import { isGap, STATUSES } from './model';
import { postWebhook, webhookBody } from './notify';
import {
  applyRemediation,
  planRemediation,
  type Applied,
  type PlannedChange,
  type RemediationSettings,
} from './remediate';
import type { CoverageStateStore } from '../state/coverageState';
import { compare, recordChanged, type Alert, type AlertKind, type CoverageRecord } from './transitions';

export interface CoverageDependencies {
  estate: Estate;
  state: CoverageStateStore;
  heartbeat: HeartbeatStore;
  desired: DesiredState;
  /** COVERAGE_SCOPE; undefined: every subscription the identity can see. */
  scope?: readonly string[];
  concurrency: number;
  reminderMs: number;
  webhookUrl?: string;
  /** Where coverage rows go (the default logs stream), when logs are configured. */
  logs?: { sink: LogsSink; stream: string };
  remediation?: RemediationSettings;
  /** Where a subscription whose gap closed is put down for a backfill (BACKFILL_AFTER_RECOVERY). */
  backfillRequests?: { request(subscriptionIds: readonly string[], reason: string, at: Date): Promise<void> };
  clock: () => Date;
}

export interface ReconcileOptions {
  /** Plan (and unless dryRun, apply) remediation for fixable gaps. */
  remediate: boolean;
  dryRun: boolean;
  /**
   * Write the coverage state and history, and send one Coverage row per subscription to Log Analytics.
   * Default true, as the timer does; the command line looks only, unless told `--record`. Without it,
   * the transitions and alerts are still worked out (the report shows them) but nothing is kept.
   */
  record?: boolean;
  /**
   * Post the alerts to the webhook. Default true, as the timer does. It implies `record`: the stored state
   * is what tells a new gap from one already alerted, so alerts posted without it would be posted again.
   * Recording without notifying keeps the alerts pending in the state, for the next run that notifies.
   */
  notify?: boolean;
}

/** What a run was asked not to do, so a report never reads as if it had. */
export type NotDone = 'state' | 'rows' | 'alerts';

export interface CoverageReport {
  evaluatedAt: string;
  subscriptions: Array<SubscriptionCoverage & { since: string }>;
  counts: Record<CoverageStatus, number>;
  /** Subscriptions in a Disabled or Deleted state: nothing to judge. */
  inactive: number;
  /** Those subscriptions, named. */
  skipped: SkippedSubscription[];
  alerts: { sent: boolean; counts: Partial<Record<AlertKind, number>>; error?: string };
  remediation: Array<PlannedChange & { applied?: Applied }>;
  rows: { sent: number; failed: number; error?: string };
  gaps: number;
  /**
   * What this run did not do because it was not asked to (ReconcileOptions.record and notify): `state` not
   * written, `rows` not sent (only when Log Analytics is configured), `alerts` not posted (only when there
   * were some and a webhook is configured). Empty for the timer.
   */
  notDone: NotDone[];
  /** Where the estate was read, and how many changed statuses were read again through Resource Manager. */
  estate: { source: string; confirmed: number };
  /** Subscriptions put down for a backfill because their gap closed (only when recording, and asked to). */
  backfillRequested?: number;
}

/**
 * One reconciliation: reads every subscription in scope and its exports, judges each against the desired
 * state and its last heartbeat, records transitions, alerts once per change (and reminds), optionally
 * remediates, and writes one coverage row per subscription to Log Analytics. `record: false` and
 * `notify: false` make it look only (the report's `notDone` says what it left undone).
 */
export async function reconcileCoverage(
  deps: CoverageDependencies,
  options: ReconcileOptions,
): Promise<CoverageReport> {
  const notify = options.notify ?? true;
  const record = notify || (options.record ?? true);
  const now = deps.clock();
  const [previous, lastSeen, inactiveBefore] = await Promise.all([
    deps.state.load(),
    deps.heartbeat.lastSeenBySubscription(),
    deps.state.loadInactive(),
  ]);
  const limit = pLimit(deps.concurrency);
  const remediating = options.remediate ? deps.remediation : undefined;
  const results: SubscriptionCoverage[] = [];
  const gapAutomations = new Map<string, Automation[]>();
  // Judgements under way or waiting, at most a few per concurrent slot: the estate is not read further ahead
  // than it is judged (a block's automations wait in memory until their subscriptions are judged).
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  const skipped: SkippedSubscription[] = [];
  let confirmed = 0;
  const confirmedUnknown = new Set<string>();

  for await (const subscription of deps.estate.subscriptions(deps.scope)) {
    if (INACTIVE_STATES.has(subscription.state.toLowerCase())) {
      const { subscriptionId, displayName, state } = subscription;
      skipped.push({ subscriptionId, displayName, state });
      continue;
    }
    const task: Promise<void> = limit(async () => {
      let automations = subscription.error
        ? { error: subscription.error }
        : await deps.estate.automations(subscription.subscriptionId);
      const before = previous.get(subscription.subscriptionId);
      const configuredSince = before?.configuredSince ? new Date(before.configuredSince) : undefined;
      const judge = () =>
        evaluate(
          {
            subscription,
            automations,
            lastSeen: lastSeen.get(subscription.subscriptionId) ?? {},
            now,
            ...(configuredSince ? { configuredSince } : {}),
          },
          deps.desired,
        );
      let coverage = judge();
      // An index that lags (Resource Graph) never opens, changes or closes an alert by itself: a status
      // that would is read again through Resource Manager first.
      if (deps.estate.confirm && !subscription.error && alerting(before?.status, coverage.status)) {
        if (before && graphBlind(before, automations, now)) {
          // Resource Graph hides what the identity may not read: "no export" says nothing new about a
          // subscription Resource Manager refused lately, so it stays as judged then.
          coverage.status = before.status;
          coverage.findings = before.findings;
        } else {
          automations = await deps.estate.confirm(subscription.subscriptionId);
          coverage = judge();
          confirmed++;
          if (coverage.status === 'Unknown') confirmedUnknown.add(coverage.subscriptionId);
        }
      }
      results.push(coverage);
      // Keep the automations only where remediation will need them: memory stays small for large estates.
      if (remediating && coverage.status !== 'Covered' && Array.isArray(automations))
        gapAutomations.set(coverage.subscriptionId, automations);
    })
      .catch((error: unknown) => {
        failure ??= { error };
      })
      .finally(() => inFlight.delete(task));
    inFlight.add(task);
    if (inFlight.size >= deps.concurrency * 4) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  if (failure) throw failure.error;
  results.sort((a, b) => a.subscriptionId.localeCompare(b.subscriptionId));

  const { records, alerts, history } = compare(previous, results, now, deps.reminderMs);
  for (const record of records) {
    const before = previous.get(record.subscriptionId);
    if (confirmedUnknown.has(record.subscriptionId)) record.confirmedAt = now.toISOString();
    else if (record.status === 'Unknown' && before?.status === 'Unknown' && before.confirmedAt)
      record.confirmedAt = before.confirmedAt;
  }
  const counts = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<CoverageStatus, number>;
  for (const r of results) counts[r.status]++;
  // Awaiting data and an unreachable Resource Manager are reported, but they are not gaps.
  const gaps = results.filter((r) => isGap(r.status)).length;

  const remediation: CoverageReport['remediation'] = [];
  if (remediating) {
    for (const coverage of results) {
      const change = planRemediation(
        coverage,
        gapAutomations.get(coverage.subscriptionId) ?? [],
        remediating,
      );
      if (change) remediation.push(change);
    }
    if (!options.dryRun) {
      await Promise.all(
        remediation
          .filter((c) => c.kind !== 'skip')
          .map((change) =>
            limit(async () => {
              change.applied = await applyRemediation(change, deps.estate.security(change.subscriptionId));
            }),
          ),
      );
    }
  }

  const alertCounts: Partial<Record<AlertKind, number>> = {};
  for (const a of alerts) alertCounts[a.kind] = (alertCounts[a.kind] ?? 0) + 1;
  const report: CoverageReport['alerts'] = { sent: false, counts: alertCounts };
  const notDone: NotDone[] = [];
  if (!record) notDone.push('state');
  if (!record && deps.logs) notDone.push('rows');
  if (!notify && alerts.length > 0 && deps.webhookUrl) notDone.push('alerts');
  if (!notify && alerts.length > 0) {
    // Kept (when recording) as owed, so the next run that notifies, the timer's, still sends them.
    keepPending(records, alerts);
  } else if (alerts.length > 0 && deps.webhookUrl) {
    const totals = `${results.length} subscription${results.length === 1 ? '' : 's'}: ${STATUSES.filter(
      (s) => counts[s] > 0,
    )
      .map((s) => `${counts[s]} ${s}`)
      .join(', ')}`;
    const posted = await postWebhook(deps.webhookUrl, webhookBody(alerts, totals));
    report.sent = posted.ok;
    if (!posted.ok) {
      report.error = posted.reason;
      // Not delivered: raise the same alerts again next run.
      keepPending(records, alerts);
    }
  }

  if (record) {
    const judged = new Set(results.map((r) => r.subscriptionId));
    await deps.state.save(
      records.filter((r) => recordChanged(previous.get(r.subscriptionId), r)),
      [...previous.keys()].filter((id) => !judged.has(id)),
    );
    await deps.state.append(history);
    // What the runs between two listings ask about (lib/coverage/graphEstate.ts): the whole estate only. While
    // Resource Manager cannot be reached, an inactive subscription not seen this run is not forgotten.
    if (!deps.scope) {
      const seen = new Set([...judged, ...skipped.map((s) => s.subscriptionId)]);
      const unseen = counts.Unreachable > 0 ? inactiveBefore.filter((r) => !seen.has(r.subscriptionId)) : [];
      await deps.state.saveInactive(inactiveBefore, [...skipped, ...unseen]);
    }
    if (deps.estate.listing) await deps.state.saveListing(deps.estate.listing);
  }

  // The events of a gap are gone from the stream for good: a backfill brings back the current state.
  let backfillRequested: number | undefined;
  if (record && deps.backfillRequests) {
    const recovered = alerts.filter((a) => a.kind === 'recovered').map((a) => a.coverage.subscriptionId);
    if (recovered.length > 0) await deps.backfillRequests.request(recovered, 'coverage gap closed', now);
    backfillRequested = recovered.length;
  }

  const since = new Map(records.map((r) => [r.subscriptionId, r.since]));
  const rows: CoverageReport['rows'] = { sent: 0, failed: 0 };
  if (deps.logs && record) {
    const outcome = await sendRows(
      deps.logs.sink,
      deps.logs.stream,
      results.map((r) => ({
        bytes: Buffer.from(JSON.stringify(coverageRow(r, now, since.get(r.subscriptionId)!)), 'utf8'),
      })),
    );
    rows.sent = outcome.delivered;
    rows.failed = outcome.rejected.length + outcome.failed.reduce((n, f) => n + f.rows.length, 0);
    if (outcome.first) rows.error = failureText(outcome.first);
  }

  return {
    evaluatedAt: now.toISOString(),
    // The results themselves, their `since` added: a copy of 100,000 would double the run's memory.
    subscriptions: results.map((r) => Object.assign(r, { since: since.get(r.subscriptionId)! })),
    counts,
    inactive: skipped.length,
    skipped,
    alerts: report,
    remediation,
    rows,
    gaps,
    notDone,
    estate: { source: deps.estate.source, confirmed },
    ...(backfillRequested !== undefined ? { backfillRequested } : {}),
  };
}

/** How long an Unknown that Resource Manager confirmed stands before Resource Graph's silence is checked again. */
export const GRAPH_BLIND_RECHECK_MS = 24 * 3_600_000;

/**
 * Whether Resource Graph's answer for a subscription says nothing: it showed no export (or none that
 * qualifies) where Resource Manager refused to show them less than GRAPH_BLIND_RECHECK_MS ago. Once a day
 * Resource Manager is asked again, so access granted later to a subscription that has no export is seen.
 */
function graphBlind(
  before: CoverageRecord,
  automations: Automation[] | { error: string },
  now: Date,
): boolean {
  if (before.status !== 'Unknown' || !before.confirmedAt || !Array.isArray(automations)) return false;
  return automations.length === 0 && now.getTime() - Date.parse(before.confirmedAt) < GRAPH_BLIND_RECHECK_MS;
}

/** Whether going from `before` to `after` opens, changes or closes a gap (an alert, once recorded). */
function alerting(before: CoverageStatus | undefined, after: CoverageStatus): boolean {
  if (before === after) return false;
  return isGap(after) || (before !== undefined && isGap(before));
}

/** Marks the records of alerts that were not sent, so that the next run raises them again. */
function keepPending(records: CoverageRecord[], alerts: readonly Alert[]): void {
  const pending = new Map(alerts.map((a) => [a.coverage.subscriptionId, a.kind]));
  for (const record of records) {
    const kind = pending.get(record.subscriptionId);
    if (kind) {
      record.pendingAlert = kind;
      delete record.lastAlertAt;
    }
  }
}
