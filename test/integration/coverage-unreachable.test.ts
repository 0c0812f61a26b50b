import { TableClient } from '@azure/data-tables';
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startArmStandIn, type ArmStandIn } from '../../dev/armServer';
import {
  automation,
  SAMPLE_HUB,
  SAMPLE_SUBSCRIPTIONS,
  sampleEstate,
  STALE_SUBSCRIPTION,
} from '../../dev/sampleEstate';
import { startWebhookReceiver, type WebhookReceiver } from '../../dev/webhookReceiver';
import { loadCoverageConfig } from '../../lib/config';
import { buildCoverageDependencies } from '../../lib/coverage/dependencies';
import type { CoverageStatus } from '../../lib/coverage/model';
import type { WebhookBody } from '../../lib/coverage/notify';
import { reconcileCoverage, type CoverageReport } from '../../lib/coverage/reconcile';
import { coverageHtml, coverageTable } from '../../lib/coverage/report';
import type { LogsRow } from '../../lib/records/row';
import { COVERAGE_HISTORY_TABLE, COVERAGE_TABLE } from '../../lib/state/coverageState';
import { HEARTBEAT_TABLE } from '../../lib/state/heartbeat';
import { ActionableError } from '../../lib/errors';
import { startLocalAzure, type LocalAzure } from '../helpers/localAzure';
import { coverageCommand } from '../../lib/cli/coverageCommand';
import { PassThrough } from 'node:stream';

/**
 * Resource Manager unreachable (503 after the SDK's retries, or connections closed): the run reports
 * Unreachable, and neither alerts nor rewrites state because of it. Also: a correctly configured
 * subscription whose data has never been seen is AwaitingData, not Covered.
 */

const cert = () => ({
  cert: readFileSync(process.env.DEFENDER_EXPORT_DEV_CERT!, 'utf8'),
  key: readFileSync(process.env.DEFENDER_EXPORT_DEV_KEY!, 'utf8'),
});

const NOW = new Date('2026-11-24T12:00:00Z');
const later = (hours: number) => new Date(NOW.getTime() + hours * 3_600_000);
/** The SDK's retries, minus the waiting. */
const ARM_RETRY = { maxRetries: 2, retryDelayInMs: 5, maxRetryDelayInMs: 10 };

let local: LocalAzure;
let webhook: WebhookReceiver;
let arm: ArmStandIn;
beforeAll(async () => {
  local = await startLocalAzure();
  webhook = await startWebhookReceiver(cert());
});
afterAll(async () => {
  await webhook?.close();
  await local?.close();
});

let env: NodeJS.ProcessEnv;
beforeEach(async () => {
  webhook.received.length = 0;
  local.logs.reset();
  arm = await startArmStandIn({ ...cert(), estate: sampleEstate(), token: local.logs.token, pageSize: 3 });
  await local.dropTables([COVERAGE_TABLE, COVERAGE_HISTORY_TABLE, HEARTBEAT_TABLE]);
  env = local.env({
    AZURE_RESOURCE_MANAGER_ENDPOINT: arm.url,
    COVERAGE_DESTINATIONS: SAMPLE_HUB,
    COVERAGE_WEBHOOK_URL: webhook.url,
    // Resource Manager's own reads (test/integration/coverageGraph.test.ts: Resource Graph's outages).
    COVERAGE_SOURCE: 'resourcemanager',
  });
  const seed = await buildCoverageDependencies(loadCoverageConfig(env));
  await seed.heartbeat.record(
    [SAMPLE_SUBSCRIPTIONS.covered, SAMPLE_SUBSCRIPTIONS.coveredTogether, STALE_SUBSCRIPTION].map((id) => ({
      subscriptionId: id,
      dataType: 'Alert',
      snapshot: false,
      lastSeen: new Date(NOW.getTime() - (id === STALE_SUBSCRIPTION ? 240 : 1) * 3_600_000),
    })),
  );
});
afterEach(async () => {
  await arm.close();
});

const run = async (at: Date, overrides: Record<string, string> = {}) =>
  reconcileCoverage(
    await buildCoverageDependencies(loadCoverageConfig({ ...env, ...overrides }), {
      clock: () => at,
      armRetry: ARM_RETRY,
    }),
    { remediate: false, dryRun: false },
  );

const statuses = (report: CoverageReport) =>
  Object.fromEntries(report.subscriptions.map((s) => [s.subscriptionId, s.status]));

/** The stored coverage records, by row key: their etags change only when a record is rewritten. */
async function stored(): Promise<Map<string, { status: string; since: string; etag: string }>> {
  const table = TableClient.fromConnectionString(local.azurite.connectionString(), COVERAGE_TABLE, {
    allowInsecureConnection: true,
  });
  const found = new Map<string, { status: string; since: string; etag: string }>();
  for await (const e of table.listEntities<{ status: string; since: string }>())
    found.set(e.rowKey!, { status: e.status, since: e.since, etag: e.etag });
  return found;
}

async function history(): Promise<number> {
  const table = TableClient.fromConnectionString(local.azurite.connectionString(), COVERAGE_HISTORY_TABLE, {
    allowInsecureConnection: true,
  });
  let n = 0;
  for await (const _ of table.listEntities()) n++;
  return n;
}

describe('coverage while Resource Manager is unreachable', () => {
  it('reports every subscription Unreachable when ARM answers 503, alerts nothing, rewrites nothing, and picks up where it was', async () => {
    const first = await run(NOW);
    const judged = statuses(first);
    expect(webhook.received).toHaveLength(1);
    const before = await stored();
    const transitions = await history();

    const automationReads = () => arm.requests.filter((r) => r.path.includes('/automations')).length;
    const readBefore = automationReads();
    arm.inject({ status: 503, times: Infinity });
    local.logs.reset();
    const down = await run(later(30)); // past the 24 h reminder: not even a reminder goes out
    expect(new Set(Object.values(statuses(down)))).toEqual(new Set(['Unreachable']));
    expect(Object.keys(statuses(down)).sort()).toEqual(Object.keys(judged).sort());
    expect(down.counts.Unreachable).toBe(Object.keys(judged).length);
    expect(down.alerts).toEqual({ sent: false, counts: {} });
    expect(webhook.received).toHaveLength(1);
    expect(await stored()).toEqual(before);
    expect(await history()).toBe(transitions);
    const finding = down.subscriptions[0]!.findings[0]!.message;
    expect(finding).toMatch(
      /^Resource Manager could not be reached \(listing subscriptions: HTTP 503 ServiceUnavailable injected by the stand-in/,
    );
    // Only the subscription list was asked (and retried): nobody's automations.
    expect(automationReads()).toBe(readBefore);
    expect(arm.requests.filter((r) => r.status === 503).map((r) => r.path.split('?')[0])).toEqual([
      '/subscriptions',
      '/subscriptions',
      '/subscriptions',
    ]);
    // Told the same way in the table, the HTML and the rows.
    expect(coverageTable(down)).toMatch(
      /not judged: Resource Manager could not be reached; alerts keep their last known status/,
    );
    expect(coverageHtml(down)).toContain('>Unreachable</span>');
    const rows = local.logs.accepted() as unknown as LogsRow[];
    expect(rows.map((r) => [r.State, r.Severity])).toEqual(rows.map(() => ['Unreachable', 'Low']));

    arm.clearFaults();
    const back = await run(later(31));
    expect(statuses(back)).toEqual(judged);
    // Back: the reminders held while it was down are due now; nothing opened, changed or recovered.
    expect(webhook.received).toHaveLength(2);
    const reminder = webhook.received[1] as WebhookBody;
    expect([reminder.opened, reminder.changed, reminder.recovered]).toEqual([[], [], []]);
    expect(reminder.reminders).toHaveLength(first.gaps);
    expect(await history()).toBe(transitions);
  });

  it('makes only the subscriptions whose connections are closed Unreachable, keeping their last status', async () => {
    const first = await run(NOW);
    const finance = '5ec00000-0000-4000-8000-000000000011';
    expect(statuses(first)[finance]).toBe('Disabled');
    arm.inject({ reset: true, times: Infinity, when: (r) => r.path.includes(`${finance}/providers`) });
    // Meanwhile someone fixed it: nobody can tell yet, so nothing recovers.
    arm.estate.find((s) => s.subscriptionId === finance)!.automations[0]!.properties.isEnabled = true;
    const down = await run(later(1));
    expect(statuses(down)).toEqual({ ...statuses(first), [finance]: 'Unreachable' });
    expect(down.subscriptions.find((s) => s.subscriptionId === finance)!.findings[0]!.message).toMatch(
      /^Resource Manager could not be reached \(ECONNRESET/,
    );
    expect(webhook.received).toHaveLength(1);
    expect((await stored()).get(finance)?.status).toBe('Disabled');

    arm.clearFaults();
    await run(later(2));
    // Reached again: a recovery, to AwaitingData, since no data from it has arrived yet.
    expect((webhook.received[1] as WebhookBody).recovered).toMatchObject([
      { subscriptionId: finance, status: 'AwaitingData', previousStatus: 'Disabled' },
    ]);
  });

  it('reports a scoped subscription Unreachable without asking for its automations', async () => {
    const scope = [SAMPLE_SUBSCRIPTIONS.covered, '5ec00000-0000-4000-8000-000000000010'];
    arm.inject({
      status: 503,
      times: Infinity,
      when: (r) => r.path.startsWith(`/subscriptions/${scope[1]}?`),
    });
    const report = await run(NOW, { COVERAGE_SCOPE: scope.join(',') });
    expect(statuses(report)).toEqual({ [scope[0]!]: 'Covered', [scope[1]!]: 'Unreachable' });
    expect(arm.requests.filter((r) => r.path.includes(`${scope[1]}/providers`))).toEqual([]);
    // Never judged before: remembered as Unreachable, and no alert.
    expect(webhook.received).toEqual([]);
    expect([...(await stored()).values()].map((r) => r.status).sort()).toEqual(['Covered', 'Unreachable']);
  });

  it('fails the run with what to check when the list fails and no subscription is known', async () => {
    arm.inject({ reset: true, times: Infinity });
    const error = await run(NOW).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ActionableError);
    expect((error as ActionableError).message).toMatch(
      /^Resource Manager could not be reached to list subscriptions \(.*ECONNRESET.*\), and no subscription is known from an earlier run$/,
    );
    expect((error as ActionableError).hint).toMatch(/AZURE_RESOURCE_MANAGER_ENDPOINT/);
    expect(webhook.received).toEqual([]);
  });
});

describe('a correctly configured subscription whose data has never been seen', () => {
  it('is AwaitingData, not Covered, and is alerted only once the stale threshold has passed, as NoData', async () => {
    const fresh = '5ec00000-0000-4000-8000-000000000010';
    arm.estate
      .find((s) => s.subscriptionId === fresh)!
      .automations.push(automation(fresh, 'exportToEventHub'));
    const report = await run(NOW);
    const expected: Record<string, CoverageStatus> = { [fresh]: 'AwaitingData' };
    expect(statuses(report)).toMatchObject(expected);
    expect(report.subscriptions.find((s) => s.subscriptionId === fresh)!.findings[0]!.message).toBe(
      'Configured correctly since 2026-11-24 12:00 UTC, but no data from this subscription has arrived yet: nothing to do before 2026-11-26 12:00 UTC; if none has arrived by then it becomes NoData.',
    );
    const opened = (webhook.received[0] as WebhookBody).opened.map((a) => a.subscriptionId);
    expect(opened).not.toContain(fresh);
    const row = (local.logs.accepted() as unknown as LogsRow[]).find((r) => r.AzureSubscriptionId === fresh)!;
    expect([row.State, row.Severity]).toEqual(['AwaitingData', 'Informational']);

    await run(later(47));
    expect(webhook.received).toHaveLength(2); // the reminder of the others
    expect((webhook.received[1] as WebhookBody).reminders.map((a) => a.subscriptionId)).not.toContain(fresh);
    const overdue = await run(later(49));
    expect(statuses(overdue)[fresh]).toBe('NoData');
    // (The others' heartbeats are 49 hours old by now: they open as Stale beside it.)
    expect((webhook.received[2] as WebhookBody).opened.find((a) => a.subscriptionId === fresh)).toMatchObject(
      {
        status: 'NoData',
        previousStatus: 'AwaitingData',
      },
    );
  });
});

describe('defender-export coverage while Resource Manager is unreachable', () => {
  it('does not exit 0 ("no gap") when subscriptions were not judged: exit 2, saying why', async () => {
    await run(NOW); // a first run knows the estate
    arm.inject({ status: 503, times: Infinity });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let errors = '';
    stdout.resume();
    stderr.on('data', (chunk: Buffer) => (errors += chunk.toString('utf8')));
    const deps = await buildCoverageDependencies(loadCoverageConfig(env), {
      clock: () => later(1),
      armRetry: ARM_RETRY,
    });
    const code = await coverageCommand(
      { remediate: false, dryRun: false },
      { stdin: new PassThrough(), stdout, stderr, env },
      deps,
    );
    expect(code).toBe(2);
    expect(errors).toMatch(
      /^defender-export: error: Resource Manager could not be reached for \d+ subscriptions: they were not judged$/m,
    );
    expect(errors).toMatch(/Check AZURE_RESOURCE_MANAGER_ENDPOINT/);
  });
});
