import { API_VERSIONS, reasonOf, type ResourceReader } from '../azure/resources';
import { postWebhook } from '../coverage/notify';
import { ruleChecks, LOGS_TABLE } from '../doctor/logsChecks';
import { check, oneLine, type Check } from '../doctor/model';
import { sendRows } from '../outbox/logsOutbox';
import type { LogsSink } from '../ports';
import { makeRow, type LogsRow } from '../records/row';
import { failureText } from '../sinks/deliveryFailure';
import { keyOf } from '../records/eventKey';
import {
  judgeHealth,
  readPipelineHealth,
  type HealthThresholds,
  type PipelineHealthStores,
} from './pipelineHealth';

/**
 * The pipeline's own health, judged by the reconcile timer each run: Broken when a check fails (nothing has
 * arrived for longer than COVERAGE_STALE_AFTER_HOURS, parked items older than a day, the rule no longer
 * matching the row), Degraded when one is worth a look, else Healthy. Alerted like a coverage gap: once when
 * it breaks, once when it recovers, and reminded while it stays broken.
 */
export type PipelineStatus = 'Healthy' | 'Degraded' | 'Broken';

/** What the state table keeps between runs (lib/state/coverageState.ts). */
export interface PipelineRecord {
  status: PipelineStatus;
  since: string;
  lastAlertAt?: string;
}

export type PipelineAlert = 'broken' | 'recovered' | 'reminder';

export interface PipelineCheckDependencies {
  stores: PipelineHealthStores;
  thresholds: HealthThresholds;
  /** The rule to watch for drift, when LOGS_DCR_RESOURCE_ID is set; read with the app's identity. */
  rule?: { reader: ResourceReader; id: string; immutableId?: string; stream: string };
  state: {
    loadPipeline(): Promise<PipelineRecord | undefined>;
    savePipeline(record: PipelineRecord): Promise<void>;
  };
  logs?: { sink: LogsSink; stream: string };
  webhookUrl?: string;
  reminderMs: number;
  clock: () => Date;
}

export interface PipelineReport {
  status: PipelineStatus;
  since: string;
  /** Every check that did not pass (the passes are counted). */
  problems: Check[];
  passed: number;
  alert?: { kind: PipelineAlert; sent: boolean; error?: string };
  row: { sent: boolean; error?: string };
}

const statusOf = (checks: readonly Check[]): PipelineStatus =>
  checks.some((c) => c.status === 'fail')
    ? 'Broken'
    : checks.some((c) => c.status === 'warn')
      ? 'Degraded'
      : 'Healthy';

/** The alert a run owes: when the pipeline breaks, when it recovers, and a reminder while it stays broken. */
export function pipelineAlert(
  previous: PipelineRecord | undefined,
  status: PipelineStatus,
  now: Date,
  reminderMs: number,
): PipelineAlert | undefined {
  const was = previous?.status === 'Broken';
  if (status === 'Broken' && !was) return 'broken';
  if (status !== 'Broken' && was) return 'recovered';
  if (status === 'Broken' && reminderMs > 0) {
    const last = Date.parse(previous?.lastAlertAt ?? previous?.since ?? '') || 0;
    if (now.getTime() - last >= reminderMs) return 'reminder';
  }
  return undefined;
}

/** Reads and judges the pipeline's health, keeps its status, sends its row and posts its alert. */
export async function checkPipeline(deps: PipelineCheckDependencies): Promise<PipelineReport> {
  const now = deps.clock();
  let checks: Check[];
  try {
    const health = await readPipelineHealth(deps.stores, now);
    checks = judgeHealth(health, deps.thresholds, now).map((f) =>
      check('health', f.subject, f.status, f.text, f.fix),
    );
  } catch (error) {
    // Stores the app cannot read are a broken pipeline too: it parks and dead-letters into them.
    checks = [
      check(
        'health',
        'stores',
        'fail',
        `the parked, dead-letter or heartbeat store could not be read: ${oneLine(error)}`,
        "Check the app identity's Storage Blob Data Contributor and Storage Table Data Contributor, and the storage firewall.",
      ),
    ];
  }
  if (deps.rule) checks.push(...(await ruleDrift(deps.rule)));
  const status = statusOf(checks);
  const previous = await deps.state.loadPipeline();
  const since = previous?.status === status ? previous.since : now.toISOString();
  const problems = checks.filter((c) => c.status !== 'pass');
  const kind = pipelineAlert(previous, status, now, deps.reminderMs);

  const report: PipelineReport = {
    status,
    since,
    problems,
    passed: checks.length - problems.length,
    row: { sent: false },
  };
  let lastAlertAt = previous?.lastAlertAt;
  if (kind && deps.webhookUrl) {
    const posted = await postWebhook(
      deps.webhookUrl,
      pipelineWebhookBody(kind, status, previous?.status, problems),
    );
    report.alert = { kind, sent: posted.ok, ...(posted.ok ? {} : { error: posted.reason }) };
    if (posted.ok) lastAlertAt = now.toISOString();
  } else if (kind) {
    report.alert = { kind, sent: false };
    lastAlertAt = now.toISOString(); // nowhere to post: the log alert rule on the row is the alert
  }
  await deps.state.savePipeline({ status, since, ...(lastAlertAt ? { lastAlertAt } : {}) });

  if (deps.logs) {
    const outcome = await sendRows(deps.logs.sink, deps.logs.stream, [
      { bytes: Buffer.from(JSON.stringify(pipelineHealthRow(report, now)), 'utf8') },
    ]);
    report.row = {
      sent: outcome.delivered === 1,
      ...(outcome.first ? { error: failureText(outcome.first) } : {}),
    };
  }
  return report;
}

/** The rule against the row, with the app's own identity; a rule it may not read is skipped, not failed. */
async function ruleDrift(rule: NonNullable<PipelineCheckDependencies['rule']>): Promise<Check[]> {
  const read = await rule.reader.get(rule.id, API_VERSIONS.dataCollectionRule);
  if ('found' in read)
    return ruleChecks(read.found, {
      ...(rule.immutableId ? { immutableId: rule.immutableId } : {}),
      stream: rule.stream,
      table: LOGS_TABLE,
    });
  if ('missing' in read)
    return [
      check('logs', 'data collection rule', 'fail', `LOGS_DCR_RESOURCE_ID: no such rule (${read.missing})`),
    ];
  return [
    check(
      'logs',
      'data collection rule',
      'skip',
      `not watched for drift: ${reasonOf(read)}`,
      "Grant the app's identity Reader on the data collection rule (infra/main.bicep does).",
    ),
  ];
}

const SEVERITY: Record<PipelineStatus, string> = {
  Healthy: 'Informational',
  Degraded: 'Medium',
  Broken: 'High',
};

/** One row per run (`DataType == "PipelineHealth"`, the status in `State`): what the log alert rule reads. */
export function pipelineHealthRow(report: PipelineReport, now: Date): LogsRow {
  const time = now.toISOString();
  return makeRow(
    {
      TimeGenerated: time,
      DataType: 'PipelineHealth',
      Category: report.status,
      RecordId: 'pipeline',
      EventKey: keyOf(`pipeline\n${time}`),
      AzureSubscriptionId: '',
      Severity: SEVERITY[report.status],
      State: report.status,
      DisplayName: 'defender-export pipeline',
      Action: '',
      IsSnapshot: false,
    },
    { PartIndex: 0, PartCount: 1, PartPath: '', Trimmed: false, OriginalBytes: 0, ArchiveBlob: '' },
    {
      status: report.status,
      since: report.since,
      passed: report.passed,
      problems: report.problems.map(({ area, name, status, detail }) => ({ area, name, status, detail })),
    },
  );
}

export interface PipelineWebhookBody {
  text: string;
  summary: string;
  pipeline: { status: PipelineStatus; previousStatus?: PipelineStatus; problems: string[] };
}

const HEADING: Record<PipelineAlert, string> = {
  broken: 'is broken',
  recovered: 'recovered',
  reminder: 'is still broken',
};

/** The alert, in the shape of the coverage alerts (`text` and `summary` for Teams, Slack and Logic Apps). */
export function pipelineWebhookBody(
  kind: PipelineAlert,
  status: PipelineStatus,
  previous: PipelineStatus | undefined,
  problems: readonly Check[],
): PipelineWebhookBody {
  const summary = `Defender export pipeline ${HEADING[kind]}${kind === 'recovered' ? ` (now ${status})` : ''}`;
  const listed = problems.map((p) => `${p.name}: ${p.detail}`);
  return {
    text: [
      `**${summary}**`,
      ...listed.map((l) => `- ${l}`),
      '',
      'Run `defender-export doctor` for every check and its fix.',
    ].join('\n'),
    summary,
    pipeline: { status, ...(previous ? { previousStatus: previous } : {}), problems: listed },
  };
}
