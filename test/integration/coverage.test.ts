import { TableClient } from '@azure/data-tables';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
import { COVERAGE_HISTORY_TABLE } from '../../lib/state/coverageState';
import type { LogsRow } from '../../lib/records/row';
import { cli } from '../helpers/cli';
import { startLocalAzure, type LocalAzure } from '../helpers/localAzure';

const cert = () => ({
  cert: readFileSync(process.env.DEFENDER_EXPORT_DEV_CERT!, 'utf8'),
  key: readFileSync(process.env.DEFENDER_EXPORT_DEV_KEY!, 'utf8'),
});

let local: LocalAzure;
let webhook: WebhookReceiver;
beforeAll(async () => {
  local = await startLocalAzure();
  webhook = await startWebhookReceiver(cert());
});
afterAll(async () => {
  await webhook?.close();
  await local?.close();
});

const EXPECTED: Record<string, CoverageStatus> = {
  [SAMPLE_SUBSCRIPTIONS.covered]: 'Covered',
  [SAMPLE_SUBSCRIPTIONS.coveredTogether]: 'Covered',
  '5ec00000-0000-4000-8000-000000000010': 'Missing',
  '5ec00000-0000-4000-8000-000000000011': 'Disabled',
  '5ec00000-0000-4000-8000-000000000012': 'WrongDestination',
  '5ec00000-0000-4000-8000-000000000013': 'MissingSources',
  '5ec00000-0000-4000-8000-000000000014': 'Filtered',
  '5ec00000-0000-4000-8000-000000000015': 'PartialScope',
  [STALE_SUBSCRIPTION]: 'Stale',
  '5ec00000-0000-4000-8000-000000000017': 'Unknown',
};
// Every run here happens at a pinned "now", and the heartbeats are seeded relative to it.
const NOW = new Date('2026-11-24T12:00:00Z');
const later = (hours: number) => new Date(NOW.getTime() + hours * 3_600_000);
const atNow = () => NOW;

const statuses = (report: CoverageReport) =>
  Object.fromEntries(report.subscriptions.map((s) => [s.subscriptionId, s.status]));

interface Setup {
  arm: ArmStandIn;
  env: NodeJS.ProcessEnv;
  run(
    at: Date,
    options?: { remediate?: boolean; dryRun?: boolean; adopt?: boolean },
  ): Promise<CoverageReport>;
}

/** A fresh estate, ARM stand-in and state tables; heartbeats: fresh for the covered ones, ten days old for the stale one. */
async function setup(
  options: {
    pageSize?: number;
    throttle?: { every: number; retryAfterSeconds: number };
    source?: 'resourcemanager' | 'resourcegraph';
  } = {},
): Promise<Setup> {
  const arm = await startArmStandIn({
    ...cert(),
    estate: sampleEstate(),
    token: local.logs.token,
    pageSize: options.pageSize ?? 1,
    ...(options.throttle ? { throttle: options.throttle } : {}),
  });
  await local.dropTables([COVERAGE_HISTORY_TABLE, 'DefenderExportCoverage', 'DefenderExportHeartbeat']);
  const env = local.env({
    AZURE_RESOURCE_MANAGER_ENDPOINT: arm.url,
    COVERAGE_DESTINATIONS: SAMPLE_HUB.toUpperCase(), // resource ids compare case-insensitively
    COVERAGE_WEBHOOK_URL: webhook.url,
    COVERAGE_REMEDIATION_RESOURCE_GROUP: 'rg-security',
    COVERAGE_REMEDIATION_LOCATION: 'westeurope',
    COVERAGE_SOURCE: options.source ?? 'resourcegraph',
  });
  const seed = await buildCoverageDependencies(loadCoverageConfig(env));
  await seed.heartbeat.record([
    {
      subscriptionId: SAMPLE_SUBSCRIPTIONS.covered,
      dataType: 'Alert',
      snapshot: false,
      lastSeen: new Date(NOW.getTime() - 3_600_000),
    },
    {
      subscriptionId: SAMPLE_SUBSCRIPTIONS.coveredTogether,
      dataType: 'Recommendation',
      snapshot: false,
      lastSeen: new Date(NOW.getTime() - 3_600_000),
    },
    {
      subscriptionId: STALE_SUBSCRIPTION,
      dataType: 'Recommendation',
      snapshot: false,
      lastSeen: new Date(NOW.getTime() - 10 * 86_400_000),
    },
  ]);
  return {
    arm,
    env,
    run: async (at, flags = {}) => {
      const deps = await buildCoverageDependencies(loadCoverageConfig(env), { clock: () => at });
      if (flags.adopt && deps.remediation) deps.remediation.adopt = true;
      // As the timer runs it: state kept, rows sent, alerts posted.
      return reconcileCoverage(deps, {
        remediate: flags.remediate ?? false,
        dryRun: flags.dryRun ?? false,
        record: true,
        notify: true,
      });
    },
  };
}

describe.each(['resourcemanager', 'resourcegraph'] as const)(
  'coverage reconciliation through the real SDK clients, read through %s',
  (source) => {
    let s: Setup;
    beforeEach(async () => {
      webhook.received.length = 0;
      local.logs.reset();
      s = await setup({ source });
    });

    it('finds every kind of gap, with a sentence on what to fix, reading every page', async () => {
      const report = await s.run(NOW);
      expect(statuses(report)).toEqual(EXPECTED);
      expect(report.inactive).toBe(1);
      expect(report.gaps).toBe(8);
      const byId = new Map(report.subscriptions.map((r) => [r.subscriptionId, r]));
      expect(byId.get('5ec00000-0000-4000-8000-000000000013')!.missingSources).toEqual([
        'AssessmentsSnapshot',
        'SubAssessmentsSnapshot',
        'SecureScoresSnapshot',
        'SecureScoreControlsSnapshot',
        'RegulatoryComplianceAssessmentSnapshot',
      ]);
      expect(byId.get('5ec00000-0000-4000-8000-000000000014')!.filtered).toEqual([
        { source: 'Alerts', severities: ['Medium', 'Low'] },
      ]);
      expect(byId.get('5ec00000-0000-4000-8000-000000000017')!.findings[0]!.message).toMatch(
        /AuthorizationFailed.*Security Reader/,
      );
      for (const r of report.subscriptions.filter((x) => x.status !== 'Covered'))
        expect(r.findings[0]!.message).toMatch(/: [a-z]/);
      expect(report.estate.source).toBe(source === 'resourcegraph' ? 'Resource Graph' : 'Resource Manager');
      if (source === 'resourcegraph') {
        // Two queries (subscriptions, automations) answered in one page each; the gaps, which open
        // alerts, were read again through Resource Manager before any: only their automations.
        expect(s.arm.graph.requests.map((r) => r.status)).toEqual([200, 200]);
        expect(report.estate.confirmed).toBe(report.gaps);
        expect(s.arm.requests.filter((r) => r.path.startsWith('/subscriptions?'))).toEqual([]);
        return;
      }
      // Pages of one: the subscription list and the two-export subscription were both followed by nextLink.
      expect(
        s.arm.requests.filter((r) => r.path.startsWith('/subscriptions?') && r.path.includes('skiptoken'))
          .length,
      ).toBe(10);
      expect(
        s.arm.requests.some(
          (r) =>
            r.path.includes(
              `${SAMPLE_SUBSCRIPTIONS.coveredTogether}/providers/Microsoft.Security/automations`,
            ) && r.path.includes('skiptoken'),
        ),
      ).toBe(true);
    });

    it('writes one coverage row per subscription to Log Analytics', async () => {
      await s.run(NOW);
      const rows = local.logs.accepted() as unknown as LogsRow[];
      expect(rows).toHaveLength(10);
      expect(Object.fromEntries(rows.map((r) => [r.AzureSubscriptionId, r.State]))).toEqual(EXPECTED);
      expect(rows.every((r) => r.DataType === 'Coverage' && r.Category === r.State)).toBe(true);
    });

    it('alerts once when a gap opens, once when it recovers, and reminds after COVERAGE_REMINDER_HOURS', async () => {
      const hour = 3_600_000;
      const t0 = NOW;
      await s.run(t0);
      expect(webhook.received).toHaveLength(1);
      const first = webhook.received[0] as WebhookBody;
      expect(first.opened.map((a) => a.subscriptionId).sort()).toEqual(
        Object.keys(EXPECTED)
          .filter((id) => EXPECTED[id] !== 'Covered')
          .sort(),
      );
      expect(first.text).toMatch(/8 opened/);
      expect(first.text).not.toContain('secret-token');

      await s.run(new Date(t0.getTime() + 6 * hour));
      expect(webhook.received).toHaveLength(1); // nothing changed: no alert

      s.arm.estate.find((x) => x.subscriptionId.endsWith('0011'))!.automations[0]!.properties.isEnabled =
        true;
      await s.run(new Date(t0.getTime() + 12 * hour));
      expect(webhook.received).toHaveLength(2);
      const recovery = webhook.received[1] as WebhookBody;
      expect(recovery).toMatchObject({
        opened: [],
        changed: [],
        reminders: [],
        recovered: [
          {
            subscriptionId: '5ec00000-0000-4000-8000-000000000011',
            // Configured again, but no data from it has arrived yet: AwaitingData, not Covered.
            status: 'AwaitingData',
            previousStatus: 'Disabled',
          },
        ],
      });

      await s.run(new Date(t0.getTime() + 25 * hour));
      const reminder = webhook.received[2] as WebhookBody;
      expect(reminder.reminders).toHaveLength(7);
      expect(reminder.opened).toEqual([]);

      const history: Array<{ subscriptionId: string; from: string; to: string }> = [];
      const table = TableClient.fromConnectionString(
        local.azurite.connectionString(),
        COVERAGE_HISTORY_TABLE,
        {
          allowInsecureConnection: true,
        },
      );
      for await (const e of table.listEntities<{ subscriptionId: string; from: string; to: string }>())
        history.push(e);
      expect(history.filter((h) => h.subscriptionId.endsWith('0011')).map((h) => [h.from, h.to])).toEqual([
        ['Disabled', 'AwaitingData'],
        ['', 'Disabled'],
      ]);
    });

    it('rewrites no state for subscriptions whose coverage did not change', async () => {
      const table = TableClient.fromConnectionString(
        local.azurite.connectionString(),
        'DefenderExportCoverage',
        { allowInsecureConnection: true },
      );
      const etags = async () => {
        const found = new Map<string, string>();
        for await (const e of table.listEntities()) found.set(e.rowKey!, e.etag);
        return found;
      };
      await s.run(NOW);
      const before = await etags();
      s.arm.estate
        .find((x) => x.subscriptionId.endsWith('0010'))!
        .automations.push(automation('5ec00000-0000-4000-8000-000000000010', 'exportToEventHub'));
      s.arm.estateChanged(); // Resource Graph has indexed the new automation
      await s.run(later(1));
      const after = await etags();
      const rewritten = [...after].filter(([key, etag]) => before.get(key) !== etag).map(([key]) => key);
      expect(rewritten).toEqual(['5ec00000-0000-4000-8000-000000000010']);
    });

    it('sends the alerts again next run when the webhook could not take them', async () => {
      webhook.fail(503, 3);
      const failed = await s.run(NOW);
      expect(failed.alerts).toMatchObject({ sent: false, error: 'the webhook answered HTTP 503' });
      expect(webhook.received).toHaveLength(0);
      const retried = await s.run(later(1));
      expect(retried.alerts.sent).toBe(true);
      expect((webhook.received[0] as WebhookBody).opened).toHaveLength(8);
    });

    it('prints what remediation would change on a dry run, changes nothing, and leaves automations it did not create alone', async () => {
      const report = await s.run(NOW, { dryRun: true, remediate: true });
      expect(s.arm.requests.filter((r) => r.method === 'PUT')).toEqual([]);
      const plan = Object.fromEntries(report.remediation.map((c) => [c.subscriptionId.slice(-2), c.kind]));
      // Missing and WrongDestination get a new export; the others already have an exportToEventHub of someone else's.
      expect(plan).toEqual({
        '10': 'create',
        '11': 'skip',
        '12': 'create',
        '13': 'skip',
        '14': 'skip',
        '15': 'skip',
      });
      const create = report.remediation.find((c) => c.kind === 'create')!;
      expect(create.url).toMatch(
        /\/resourceGroups\/rg-security\/providers\/Microsoft\.Security\/automations\/exportToEventHub\?api-version=2023-12-01-preview$/,
      );
      expect(create.body).toMatchObject({
        location: 'westeurope',
        tags: { managedBy: 'defender-export' },
        properties: { isEnabled: true, actions: [{ actionType: 'EventHub', isTrustedServiceEnabled: true }] },
      });
    });

    it('remediates every fixable gap when told to adopt, and the next run finds them covered', async () => {
      const t0 = NOW;
      const fixed = await s.run(t0, { remediate: true, adopt: true });
      expect(fixed.remediation.map((c) => [c.subscriptionId.slice(-2), c.kind, c.applied?.ok])).toEqual([
        ['10', 'create', true],
        ['11', 'update', true],
        ['12', 'create', true],
        ['13', 'update', true],
        ['14', 'update', true],
        ['15', 'update', true],
      ]);
      const after = await s.run(new Date(t0.getTime() + 3_600_000));
      // Configured correctly now; the six fixed ones await their first data (no heartbeat yet).
      expect(after.counts).toMatchObject({ Covered: 2, AwaitingData: 6, Stale: 1, Unknown: 1 });
    });

    it('reports a remediation that ARM refuses', async () => {
      s.arm.estate.find((x) => x.subscriptionId.endsWith('0010'))!.resourceGroups = [];
      const report = await s.run(NOW, { remediate: true });
      expect(report.remediation.find((c) => c.subscriptionId.endsWith('0010'))!.applied).toEqual({
        ok: false,
        status: 404,
        message: "HTTP 404 ResourceGroupNotFound: Resource group 'rg-security' could not be found.",
      });
    });
  },
);

describe('coverage under throttling', () => {
  it('waits as long as Retry-After says and still judges every subscription', async () => {
    // Resource Manager's own reads; Resource Graph's 429: test/integration/coverageGraph.test.ts.
    const s = await setup({ throttle: { every: 4, retryAfterSeconds: 1 }, source: 'resourcemanager' });
    const report = await s.run(NOW);
    expect(statuses(report)).toEqual(EXPECTED);
    const throttled = s.arm.requests.filter((r) => r.status === 429);
    expect(throttled.length).toBeGreaterThan(0);
    for (const t of throttled) {
      const retry = s.arm.requests.find((r) => r.path === t.path && r.at > t.at && r.status !== 429);
      expect(retry!.at - t.at).toBeGreaterThanOrEqual(950);
    }
    await s.arm.close();
  });
});

describe('defender-export coverage', () => {
  it('prints a table, writes an escaped HTML report, and exits 1 when there is a gap', async () => {
    const s = await setup();
    s.arm.estate[0]!.displayName = '<script>alert(1)</script> Production';
    const html = join(mkdtempSync(join(tmpdir(), 'coverage-')), 'coverage.html');
    const { code, stdout } = await cli(['coverage', '--html', html], '', s.env, atNow);
    expect(code).toBe(1);
    expect(stdout).toMatch(/^SUBSCRIPTION\s+NAME\s+STATUS/);
    for (const status of new Set(Object.values(EXPECTED))) expect(stdout).toContain(status);
    expect(stdout).toMatch(
      /10 subscriptions judged \(2 Covered, 1 Missing, 1 Disabled, 1 WrongDestination, 1 MissingSources, 1 Filtered, 1 PartialScope, 1 Stale, 1 Unknown\); 1 disabled or deleted, skipped/,
    );
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt; Production');
    expect(page).not.toContain('<script>');
    const json = await cli(['coverage', '--json'], '', s.env, atNow);
    expect(JSON.parse(json.stdout).counts).toMatchObject({ Covered: 2, Missing: 1 });
    await s.arm.close();
  });

  it('prints the exact requests of a dry run on stderr', async () => {
    const s = await setup();
    const { stderr } = await cli(['coverage', '--dry-run'], '', s.env, atNow);
    expect(stderr).toMatch(
      /remediation \(would create\) 5ec00000-0000-4000-8000-000000000010: Missing: create exportToEventHub/,
    );
    expect(stderr).toMatch(
      /PUT https:\/\/127\.0\.0\.1:\d+\/subscriptions\/5ec00000-0000-4000-8000-000000000010\/resourceGroups\/rg-security\/providers\/Microsoft\.Security\/automations\/exportToEventHub\?api-version=2023-12-01-preview/,
    );
    expect(s.arm.requests.filter((r) => r.method === 'PUT')).toEqual([]);
    await s.arm.close();
  });
});

describe('defender-export coverage looks before it acts', () => {
  const tableClient = (name: string) =>
    TableClient.fromConnectionString(local.azurite.connectionString(), name, {
      allowInsecureConnection: true,
    });
  /** A table's rows; of the coverage table, the subscriptions' records (not the inactive ones' rows). */
  const entities = async (name: string) => {
    const found: Array<Record<string, unknown>> = [];
    for await (const e of tableClient(name).listEntities<Record<string, unknown>>())
      if (name !== 'DefenderExportCoverage' || e.partitionKey === 'current') found.push(e);
    return found;
  };
  const GAPS = Object.values(EXPECTED).filter((status) => status !== 'Covered').length;

  let s: Setup;
  beforeEach(async () => {
    webhook.received.length = 0;
    local.logs.reset();
    s = await setup();
  });
  afterEach(async () => {
    await s.arm.close();
  });

  it('only reads and reports by default: no state rows, no Coverage rows, no webhook, and says so', async () => {
    const { code, stdout } = await cli(['coverage'], '', s.env, atNow);
    expect(code).toBe(1);
    expect(stdout).toMatch(/^10 subscriptions judged/m);
    expect(stdout).toContain(
      `not done, as not asked: coverage state and history not written, 10 Coverage rows not sent to Log Analytics (add --record); ${GAPS} alerts not posted to the webhook (add --notify)`,
    );
    expect(stdout).toMatch(new RegExp(`^alerts: ${GAPS} opened — not posted$`, 'm'));
    expect(await entities('DefenderExportCoverage')).toEqual([]);
    expect(await entities(COVERAGE_HISTORY_TABLE)).toEqual([]);
    expect(local.logs.accepted()).toEqual([]);
    expect(webhook.received).toEqual([]);

    const json = await cli(['coverage', '-o', 'json'], '', s.env, atNow);
    const report = JSON.parse(json.stdout) as CoverageReport;
    expect(report.notDone).toEqual(['state', 'rows', 'alerts']);
    expect(report.rows).toEqual({ sent: 0, failed: 0 });
    expect(report.alerts).toMatchObject({ sent: false, counts: { opened: GAPS } });
    expect(await entities('DefenderExportCoverage')).toEqual([]);
    expect(local.logs.accepted()).toEqual([]);
    expect(webhook.received).toEqual([]);
  });

  it('--record writes the state and sends the rows, but posts nothing: the alerts stay owed to the next run that notifies', async () => {
    const recorded = await cli(['coverage', '--record', '-o', 'json'], '', s.env, atNow);
    expect(recorded.code).toBe(1);
    const report = JSON.parse(recorded.stdout) as CoverageReport;
    expect(report.notDone).toEqual(['alerts']);
    expect(report.rows).toEqual({ sent: 10, failed: 0 });
    const state = await entities('DefenderExportCoverage');
    expect(state).toHaveLength(10);
    expect(state.filter((e) => e.pendingAlert === 'opened')).toHaveLength(GAPS);
    expect(await entities(COVERAGE_HISTORY_TABLE)).toHaveLength(10);
    expect(local.logs.accepted()).toHaveLength(10);
    expect(webhook.received).toEqual([]);

    // The timer (or --notify) an hour later sends exactly the alerts --record did not: nothing is swallowed.
    const notified = await cli(['coverage', '--notify', '-o', 'none'], '', s.env, () => later(1));
    expect(notified).toMatchObject({ code: 1, stdout: '' });
    expect(webhook.received).toHaveLength(1);
    expect((webhook.received[0] as WebhookBody).opened).toHaveLength(GAPS);
    const after = await entities('DefenderExportCoverage');
    expect(after.filter((e) => e.pendingAlert)).toEqual([]);
  });

  it('--notify posts the alerts and implies --record', async () => {
    const { code, stdout } = await cli(['coverage', '--notify'], '', s.env, atNow);
    expect(code).toBe(1);
    expect(stdout).toMatch(new RegExp(`^alerts: ${GAPS} opened — sent to the webhook$`, 'm'));
    expect(stdout).toMatch(/^Coverage rows: 10 sent to Log Analytics$/m);
    expect(stdout).not.toMatch(/not done/);
    expect(webhook.received).toHaveLength(1);
    expect(await entities('DefenderExportCoverage')).toHaveLength(10);
    expect(local.logs.accepted()).toHaveLength(10);

    const again = await cli(['coverage', '--notify'], '', s.env, () => later(1));
    expect(again.code).toBe(1);
    expect(webhook.received).toHaveLength(1); // nothing changed: the state said so
  });

  it('--notify without a webhook is a configuration error, before anything is read', async () => {
    const { COVERAGE_WEBHOOK_URL: _url, ...env } = s.env;
    const { code, stderr } = await cli(['coverage', '--notify'], '', env, atNow);
    expect(code).toBe(2);
    expect(stderr).toMatch(
      /^defender-export: error: invalid configuration: 1 problem\n {2}- COVERAGE_WEBHOOK_URL: is required by --notify$/m,
    );
    expect(s.arm.requests).toEqual([]);
  });

  it('applies --query to the report, and prints tsv for scripts', async () => {
    const { code, stdout } = await cli(
      ['coverage', '--query', "subscriptions[?status!='Covered'].[subscriptionId, status]", '-o', 'tsv'],
      '',
      s.env,
      atNow,
    );
    expect(code).toBe(1);
    const lines = stdout
      .trimEnd()
      .split('\n')
      .map((line) => line.split('\t'));
    expect(Object.fromEntries(lines)).toEqual(
      Object.fromEntries(Object.entries(EXPECTED).filter(([, status]) => status !== 'Covered')),
    );
    const table = await cli(['coverage', '--query', 'counts', '-o', 'table'], '', s.env, atNow);
    expect(table.stdout).toMatch(/^Covered\s.*\bMissing\s/);
    expect(table.stdout).toMatch(/^-+\s+-+/m);
  });

  it('does not remediate because COVERAGE_REMEDIATE is set: the flag acts, and the table says so', async () => {
    const { code, stdout, stderr } = await cli(
      ['coverage'],
      '',
      { ...s.env, COVERAGE_REMEDIATE: 'true' },
      atNow,
    );
    expect(code).toBe(1);
    expect(s.arm.requests.filter((r) => r.method === 'PUT')).toEqual([]);
    expect(stderr).not.toMatch(/remediation/);
    expect(stdout).toMatch(
      /^remediation not run: COVERAGE_REMEDIATE is the timer's setting; --remediate applies it here/m,
    );
  });
});
