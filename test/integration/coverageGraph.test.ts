import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startArmStandIn, type ArmStandIn, type EstateSubscription } from '../../dev/armServer';
import { resourceGraphHandler } from '../../dev/resourceGraphServer';
import { largeEstate, SAMPLE_HUB, sampleEstate } from '../../dev/sampleEstate';
import { loadCoverageConfig } from '../../lib/config';
import { buildCoverageDependencies } from '../../lib/coverage/dependencies';
import { reconcileCoverage, type CoverageReport } from '../../lib/coverage/reconcile';
import { COVERAGE_HISTORY_TABLE, COVERAGE_TABLE } from '../../lib/state/coverageState';
import { HEARTBEAT_TABLE } from '../../lib/state/heartbeat';
import { startLocalAzure, type LocalAzure } from '../helpers/localAzure';

const cert = () => ({
  cert: readFileSync(process.env.DEFENDER_EXPORT_DEV_CERT!, 'utf8'),
  key: readFileSync(process.env.DEFENDER_EXPORT_DEV_KEY!, 'utf8'),
});
const NOW = new Date('2026-11-24T12:00:00Z');
const FAST = { maxRetries: 2, retryDelayInMs: 5, maxRetryDelayInMs: 20 };

let local: LocalAzure;
let arm: ArmStandIn | undefined;
beforeAll(async () => {
  local = await startLocalAzure();
});
afterEach(async () => {
  await arm?.close();
  arm = undefined;
});
afterAll(async () => {
  await local?.close();
});

type Source = 'resourcemanager' | 'resourcegraph';

async function estate(
  subscriptions: EstateSubscription[],
  options: { graphPageSize?: number; scopeLimit?: number } = {},
) {
  const graph = resourceGraphHandler({
    token: local.logs.token,
    resources: [],
    ...(options.graphPageSize ? { pageSize: options.graphPageSize } : {}),
    ...(options.scopeLimit ? { scopeLimit: options.scopeLimit } : {}),
  });
  arm = await startArmStandIn({
    ...cert(),
    estate: subscriptions,
    token: local.logs.token,
    graph,
    pageSize: 50,
  });
  await local.dropTables([COVERAGE_TABLE, COVERAGE_HISTORY_TABLE, HEARTBEAT_TABLE]);
  const env = local.env({ AZURE_RESOURCE_MANAGER_ENDPOINT: arm.url, COVERAGE_DESTINATIONS: SAMPLE_HUB });
  /** One reconciliation at `at`; `record: false` looks only, so two sources can judge from the same state. */
  const run = async (source: Source, at = NOW, record = false) =>
    reconcileCoverage(
      await buildCoverageDependencies(loadCoverageConfig({ ...env, COVERAGE_SOURCE: source }), {
        clock: () => at,
        armRetry: FAST,
      }),
      // Recording runs also notify, as the timer does (no webhook here: nothing is posted, nothing owed).
      { remediate: false, dryRun: false, record, notify: record },
    );
  return { arm: arm!, graph, run };
}

/** Every judgement of a report: status, the reasons and the details they rest on. */
const judgements = (report: CoverageReport) =>
  report.subscriptions.map(({ since: _since, ...judged }) => judged);

describe('coverage read through Resource Graph', () => {
  it('judges the sample estate exactly as Resource Manager does: every status and reason', async () => {
    const { run } = await estate(sampleEstate());
    const manager = await run('resourcemanager');
    const graph = await run('resourcegraph');
    expect(judgements(graph)).toEqual(judgements(manager));
    expect([graph.counts, graph.skipped]).toEqual([manager.counts, manager.skipped]);
    expect(graph.estate.source).toBe('Resource Graph');
  });

  it('judges a generated estate of 2,000 as Resource Manager does, one only Resource Manager sees included', async () => {
    const subscriptions = largeEstate(2000);
    const hidden = subscriptions.filter((s) => s.graphHidden).map((s) => s.subscriptionId);
    expect(hidden.length).toBeGreaterThan(0);
    const { arm: stand, run } = await estate(subscriptions, { graphPageSize: 500 });
    // A first run, as the timer's: from then on the reconciler knows every subscription it judged.
    await run('resourcemanager', NOW, true);
    const calls = stand.requests.length;
    const manager = await run('resourcemanager');
    const managerCalls = stand.requests.length - calls;
    const before = { arm: stand.requests.length, graph: stand.graph.requests.length };
    const graph = await run('resourcegraph');
    expect(judgements(graph)).toEqual(judgements(manager));
    expect(graph.subscriptions.map((s) => s.subscriptionId)).toEqual(expect.arrayContaining(hidden));
    // A steady run: the list in 4 pages of 500 rows; then 2 blocks of 1,000 named subscriptions, each
    // answered in 2 requests (a summarize has no second page: the rest are asked for again). Resource
    // Manager only for the subscription Resource Graph does not show, and the statuses whose change it confirms.
    const graphCalls = stand.graph.requests.length - before.graph;
    const armCalls = stand.requests.length - before.arm;
    expect(graphCalls).toBe(4 + 2 * 2);
    expect(armCalls).toBeLessThan(managerCalls / 20);
  });

  it('a stale index never opens an alert by itself: a status it changes is read again through Resource Manager', async () => {
    const subscriptions = sampleEstate();
    const { arm: stand, run } = await estate(subscriptions);
    const recorded = await run('resourcegraph', NOW, true);
    // Configured right, no data yet (no heartbeats here): no gap.
    const covered = recorded.subscriptions.find((s) => s.status === 'AwaitingData')!.subscriptionId;
    // Resource Graph still holds the export switched off (its row was read before the fix); Resource
    // Manager holds it switched on: an index minutes behind.
    const subscription = stand.estate.find((s) => s.subscriptionId === covered)!;
    const live = subscription.automations[0]!;
    subscription.automations[0] = { ...live, properties: { ...live.properties, isEnabled: false } };
    stand.estateChanged();
    await run('resourcegraph'); // Resource Graph indexes the switched-off export (a look, nothing recorded)
    subscription.automations[0] = live;
    const report = await run('resourcegraph', new Date(NOW.getTime() + 3_600_000), true);
    expect(report.subscriptions.find((s) => s.subscriptionId === covered)?.status).toBe('AwaitingData');
    expect(report.alerts.counts).toEqual({});
    expect(report.estate.confirmed).toBe(1);
  });

  it('reads through Resource Manager when Resource Graph cannot be asked, and says so', async () => {
    const { arm: stand, graph, run } = await estate(sampleEstate());
    const manager = await run('resourcemanager');
    graph.inject({ status: 503, times: Infinity });
    const report = await run('resourcegraph');
    expect(judgements(report)).toEqual(judgements(manager));
    expect(report.estate.source).toMatch(/^Resource Manager \(Resource Graph failed: HTTP 503/);
    expect(stand.graph.requests.filter((r) => r.status === 503)).toHaveLength(FAST.maxRetries + 1);
  });

  it('over the tenant-wide limit, lists the subscriptions through Resource Manager and asks Resource Graph a thousand at a time', async () => {
    // 2,500 subscriptions and a limit of 2,000 under one scope: Resource Graph refuses the tenant-wide query.
    const { arm: stand, run } = await estate(largeEstate(2500), { scopeLimit: 2000 });
    await run('resourcemanager', NOW, true);
    const manager = await run('resourcemanager');
    const before = stand.graph.requests.length;
    const report = await run('resourcegraph');
    expect(judgements(report)).toEqual(judgements(manager));
    expect(report.estate.source).toMatch(/subscriptions listed through Resource Manager/);
    const asked = stand.graph.requests.slice(before);
    expect(asked.filter((r) => r.status === 400)).toHaveLength(1); // the refused tenant-wide query
    const named = asked.filter((r) => r.status === 200);
    expect(named.every((r) => r.subscriptions > 0 && r.subscriptions <= 1000)).toBe(true);
    expect(named).toHaveLength(3); // 2,500 subscriptions: 3 blocks, one page of automations each
  });

  it('over the limit, lists through Resource Manager once a day and between asks Resource Graph about the known subscriptions alone', async () => {
    const { arm: stand, run } = await estate(largeEstate(2500), { scopeLimit: 2000 });
    const lists = (from: number) =>
      stand.requests.slice(from).filter((r) => /^\/subscriptions\?/.test(r.path)).length;
    let from = stand.requests.length;
    const first = await run('resourcegraph', NOW, true);
    expect(lists(from)).toBe(2500 / 50); // the whole list, 50 a page
    expect(first.inactive).toBe(25);

    // After the listing: a subscription created (no export), one deleted, and one Disabled switched back on.
    const created: EstateSubscription = {
      subscriptionId: '5ec00000-0000-4000-8000-999999999999',
      displayName: 'created after the listing',
      automations: [],
    };
    stand.estate.push(created);
    const deleted = stand.estate.find((s) => s.subscriptionId.endsWith('000000000011'))!;
    stand.estate.splice(stand.estate.indexOf(deleted), 1);
    stand.estateChanged();
    const enabled = stand.estate.find((s) => s.state === 'Disabled')!;
    enabled.state = 'Enabled';

    const sixHours = new Date(NOW.getTime() + 6 * 3_600_000);
    from = stand.requests.length;
    const graphFrom = stand.graph.requests.length;
    const steady = await run('resourcegraph', sixHours, true);
    expect(lists(from)).toBe(0);
    const asked = stand.graph.requests.slice(graphFrom);
    // 2,475 judged and 25 inactive known: 3 named requests of at most 1,000, nothing tenant-wide.
    expect(asked.map((r) => [r.subscriptions > 0 && r.subscriptions <= 1000, r.status])).toEqual([
      [true, 200],
      [true, 200],
      [true, 200],
    ]);
    expect(steady.estate.source).toMatch(/known since Resource Manager listed them at 2026-11-24T12:00:00/);
    const ids = steady.subscriptions.map((s) => s.subscriptionId);
    expect(ids).not.toContain(created.subscriptionId); // waits for the next listing
    expect(ids).not.toContain(deleted.subscriptionId); // Resource Manager: gone
    expect(ids).toContain(enabled.subscriptionId); // known as inactive, asked about, judged
    expect(steady.inactive).toBe(24);
    // Every other judgement is Resource Manager's own.
    const manager = await run('resourcemanager', sixHours);
    expect(judgements(steady)).toEqual(
      judgements(manager).filter((j) => j.subscriptionId !== created.subscriptionId),
    );

    from = stand.requests.length;
    const nextDay = await run('resourcegraph', new Date(NOW.getTime() + 25 * 3_600_000), true);
    expect(lists(from)).toBe(Math.ceil(2500 / 50));
    expect(nextDay.subscriptions.find((s) => s.subscriptionId === created.subscriptionId)?.status).toBe(
      'Missing',
    );
    expect(nextDay.estate.source).toMatch(/listed through Resource Manager/);
  });

  it('over the limit, lists again next run when Resource Manager broke off the listing', async () => {
    const { arm: stand, run } = await estate(largeEstate(2500), { scopeLimit: 2000 });
    const lists = (from: number) =>
      stand.requests.slice(from).filter((r) => /^\/subscriptions\?/.test(r.path)).length;
    await run('resourcegraph', NOW, true);
    // A day later the list fails from its second page on: the rest are known, reported Unreachable.
    stand.inject({
      status: 503,
      times: Infinity,
      when: (r) => /^\/subscriptions\?.*skiptoken/i.test(r.path),
    });
    const broken = await run('resourcegraph', new Date(NOW.getTime() + 25 * 3_600_000), true);
    expect(broken.counts.Unreachable).toBeGreaterThan(2000);
    stand.clearFaults();
    const from = stand.requests.length;
    const next = await run('resourcegraph', new Date(NOW.getTime() + 26 * 3_600_000), true);
    expect(lists(from)).toBe(2500 / 50);
    expect(next.counts.Unreachable).toBe(0);
  });

  it('does not ask Resource Manager every run about a subscription whose exports it refuses to show, but again a day later', async () => {
    const { arm: stand, run } = await estate(sampleEstate());
    const forbidden = stand.estate.find((s) => s.forbidden)!.subscriptionId;
    const asksAbout = (from: number) =>
      stand.requests.slice(from).filter((r) => r.path.toLowerCase().includes(forbidden)).length;
    let from = stand.requests.length;
    const first = await run('resourcegraph', NOW, true);
    expect(first.subscriptions.find((s) => s.subscriptionId === forbidden)?.status).toBe('Unknown');
    expect(asksAbout(from)).toBe(1); // Resource Graph shows no export: Resource Manager refuses (403)

    from = stand.requests.length;
    const later = await run('resourcegraph', new Date(NOW.getTime() + 6 * 3_600_000), true);
    expect(later.subscriptions.find((s) => s.subscriptionId === forbidden)?.status).toBe('Unknown');
    expect(later.alerts.counts).toEqual({});
    expect(asksAbout(from)).toBe(0);

    // Read access granted a day later, and there is no export: Resource Manager is asked again, and says so.
    stand.estate.find((s) => s.subscriptionId === forbidden)!.forbidden = false;
    stand.estate.find((s) => s.subscriptionId === forbidden)!.automations = [];
    stand.estateChanged();
    from = stand.requests.length;
    const nextDay = await run('resourcegraph', new Date(NOW.getTime() + 25 * 3_600_000), true);
    expect(asksAbout(from)).toBe(1);
    expect(nextDay.subscriptions.find((s) => s.subscriptionId === forbidden)?.status).toBe('Missing');
    expect(nextDay.alerts.counts.changed).toBe(1); // Unknown → Missing (the other gaps are reminded of)
  });

  it('reads the rest through Resource Manager when Resource Graph fails partway, and judges them the same', async () => {
    const { graph, run } = await estate(largeEstate(2500), { graphPageSize: 1000 });
    await run('resourcemanager', NOW, true);
    const manager = await run('resourcemanager');
    // The automations of the second block of 1,000 fail past the retries.
    let automationQueries = 0;
    graph.inject({
      status: 503,
      times: Infinity,
      when: (r) => r.query.includes('microsoft.security/automations') && ++automationQueries >= 2,
    });
    const report = await run('resourcegraph');
    expect(judgements(report)).toEqual(judgements(manager));
    expect(report.estate.source).toMatch(
      /^Resource Graph, then Resource Manager \(Resource Graph failed: HTTP 503/,
    );
  });

  it('waits out a 429 in the middle of the pages and judges every subscription', async () => {
    const { graph, run } = await estate(largeEstate(300), { graphPageSize: 50 });
    await run('resourcemanager', NOW, true); // known from then on, the one Resource Graph does not show included
    const manager = await run('resourcemanager');
    graph.inject({ status: 429, retryAfterSeconds: 0, times: 1, when: (r) => Boolean(r.skipToken) });
    const report = await run('resourcegraph');
    expect(graph.requests.filter((r) => r.status === 429)).toHaveLength(1);
    expect(judgements(report)).toEqual(judgements(manager));
  });
});
