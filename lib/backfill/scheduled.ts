import { BACKFILL_DATA_TYPES } from './mapping';
import { runBackfill, type BackfillDependencies, type BackfillReport } from './backfill';

export interface ScheduledBackfillSettings {
  /** BACKFILL_ON_DEPLOY: every subscription in scope, once. */
  onDeploy: boolean;
  /** The subscriptions in scope (COVERAGE_SCOPE, else every one visible), read only when needed. */
  scope: () => Promise<string[]>;
  /** When this invocation must stop starting pages (epoch ms); the next one resumes. */
  deadline: number;
}

export interface ScheduledBackfillReport {
  /** The backfill after deployment: run now, or already finished (when), or off. */
  initial: { report: BackfillReport } | { finishedAt: string } | 'off';
  /** Subscriptions whose gap closed, each backfilled on its own. */
  requests: Array<{ subscriptionId: string; reason: string; report: BackfillReport }>;
  /** Requests left for the next run (the deadline came first). */
  waiting: number;
}

const finished = (r: BackfillReport) => r.run.finished;

/** How long one timer run reads before it stops starting pages: well inside host.json's 10-minute limit. */
export const TIMER_BUDGET_MS = 7 * 60_000;

/** The run as one log line: what was read and where it went, without the per-destination details. */
export function scheduledSummary(report: ScheduledBackfillReport) {
  const reports = [
    ...(typeof report.initial === 'object' && 'report' in report.initial ? [report.initial.report] : []),
    ...report.requests.map((r) => r.report),
  ];
  return {
    initial:
      report.initial === 'off'
        ? 'off'
        : 'finishedAt' in report.initial
          ? `finished ${report.initial.finishedAt}`
          : report.initial.report.run.finished
            ? 'finished now'
            : 'in progress',
    subscriptions: report.requests.map((r) => ({
      subscriptionId: r.subscriptionId,
      reason: r.reason,
      finished: r.report.run.finished,
    })),
    waiting: report.waiting,
    received: reports.reduce((n, r) => n + r.ledger.received, 0),
    destinations: reports.map((r) => r.ledger.destinations),
    problems: reports.flatMap((r) => r.ledger.problems),
  };
}

/**
 * What the backfill timer does: first the backfill after deployment (until it has finished once), then one
 * backfill per subscription the reconciler asked for, oldest first, until the deadline; the rest wait for
 * the next run, which resumes where this one stopped. Every data type, every active alert.
 */
export async function runScheduledBackfill(
  deps: BackfillDependencies,
  settings: ScheduledBackfillSettings,
): Promise<ScheduledBackfillReport> {
  const dataTypes = [...BACKFILL_DATA_TYPES];
  await deps.state.ensure();
  let initial: ScheduledBackfillReport['initial'] = 'off';
  if (settings.onDeploy) {
    const started = await deps.state.initial();
    if (started?.finishedAt) initial = { finishedAt: started.finishedAt };
    else {
      // Once started, over the subscriptions it started with: a change of scope must not restart it.
      const kept = started?.key ? await deps.state.subscriptions(started.key) : [];
      const report = await runBackfill(deps, {
        dataTypes,
        subscriptions: kept.length > 0 ? kept : await settings.scope(),
        dryRun: false,
        deadline: settings.deadline,
      });
      await deps.state.saveInitial({
        key: report.run.key,
        ...(finished(report) ? { finishedAt: deps.clock().toISOString() } : {}),
      });
      initial = { report };
      if (!finished(report)) return { initial, requests: [], waiting: (await deps.state.requests()).length };
    }
  }
  const pending = await deps.state.requests();
  const requests: ScheduledBackfillReport['requests'] = [];
  let settled = 0;
  for (const request of pending) {
    if (deps.clock().getTime() >= settings.deadline) break;
    const report = await runBackfill(deps, {
      dataTypes,
      subscriptions: [request.subscriptionId],
      dryRun: false,
      deadline: settings.deadline,
    });
    requests.push({ subscriptionId: request.subscriptionId, reason: request.reason, report });
    if (!finished(report)) break;
    if (await deps.state.settleRequest(request)) settled++;
  }
  return { initial, requests, waiting: pending.length - settled };
}
