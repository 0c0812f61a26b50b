import { TableClient } from '@azure/data-tables';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startArmStandIn, type ArmStandIn } from '../../dev/armServer';
import { resourceGraphHandler, type ResourceGraphHandler } from '../../dev/resourceGraphServer';
import { sampleSecurityResources } from '../../dev/sampleSecurityResources';
import { runBackfill, type BackfillOptions, type GraphSource } from '../../lib/backfill/backfill';
import { buildBackfillDependencies } from '../../lib/backfill/dependencies';
import { BACKFILL_DATA_TYPES, GRAPH_TYPES } from '../../lib/backfill/mapping';
import { loadDeliveryConfig } from '../../lib/config';
import type { LogsRow } from '../../lib/records/row';
import { HEARTBEAT_TABLE } from '../../lib/state/heartbeat';
import { cli } from '../helpers/cli';
import { FAST, readContainer, startLocalAzure, type LocalAzure } from '../helpers/localAzure';

const cert = () => ({
  cert: readFileSync(process.env.DEFENDER_EXPORT_DEV_CERT!, 'utf8'),
  key: readFileSync(process.env.DEFENDER_EXPORT_DEV_KEY!, 'utf8'),
});

const SUBSCRIPTIONS = ['5ec00000-0000-4000-8000-0000000000b1', '5ec00000-0000-4000-8000-0000000000b2'];
// The estate and every run are pinned to this "now"; the alerts' ages are relative to it.
const NOW = new Date('2026-11-24T12:00:00Z');
const atNow = () => NOW;
/** Rows per Resource Graph page: small, so every data type of two subscriptions takes several pages. */
const PAGE = 2;

let local: LocalAzure;
let graph: ResourceGraphHandler;
let arm: ArmStandIn;
beforeAll(async () => {
  local = await startLocalAzure();
  graph = resourceGraphHandler({ token: local.logs.token, resources: [], pageSize: PAGE });
  arm = await startArmStandIn({ ...cert(), token: local.logs.token, estate: [], graph });
});
afterAll(async () => {
  await arm?.close();
  await local?.close();
});

let env: NodeJS.ProcessEnv;
beforeEach(async () => {
  graph.resources.splice(0, Infinity, ...sampleSecurityResources(SUBSCRIPTIONS, NOW));
  graph.requests.length = 0;
  graph.clearFaults();
  local.logs.reset();
  await local.dropTables(['DefenderExportBackfill', HEARTBEAT_TABLE]);
  env = local.env({ AZURE_RESOURCE_MANAGER_ENDPOINT: arm.url });
});

const deps = (options: { graph?: GraphSource } = {}) =>
  buildBackfillDependencies(loadDeliveryConfig(env), { ...FAST, clock: atNow, ...options });

const everything = (overrides: Partial<BackfillOptions> = {}): BackfillOptions => ({
  dataTypes: [...BACKFILL_DATA_TYPES],
  subscriptions: SUBSCRIPTIONS,
  dryRun: false,
  ...overrides,
});

/** What a backfill without --since reads: every resource but the alerts no longer active. */
const backfillable = () =>
  graph.resources.filter(
    (r) =>
      r.type !== GRAPH_TYPES.Alert.resourceType || String(r.properties.Status).toLowerCase() === 'active',
  );
const rows = () => local.logs.accepted('Custom-DefenderExport') as unknown as LogsRow[];
const byType = (list: readonly { DataType: string }[]) => {
  const counts: Record<string, number> = {};
  for (const r of list) counts[r.DataType] = (counts[r.DataType] ?? 0) + 1;
  return counts;
};
const expectedByType = () => {
  const counts: Record<string, number> = {};
  for (const [dataType, { resourceType }] of Object.entries(GRAPH_TYPES))
    counts[dataType] = backfillable().filter((r) => r.type === resourceType).length;
  return counts;
};
const archiveLines = async () =>
  (await readContainer(local.blobs.getContainerClient(env.ARCHIVE_CONTAINER!))).flatMap((b) =>
    b.lines.map((line) => ({ blob: b.name, line })),
  );

describe('defender-export backfill', () => {
  it('sends every resource as the event its export would send: every data type, marked, never a heartbeat', async () => {
    const report = await runBackfill(await deps(), everything());
    expect(report.ledger.problems).toEqual([]);
    expect(report.ledger.received).toBe(backfillable().length);
    expect(report.resources).toEqual(expectedByType());
    expect(byType(rows())).toEqual(expectedByType());
    for (const row of rows()) {
      expect(row.IsSnapshot, row.RecordId).toBe(true);
      expect(row.Action).toBe('Insert');
      expect(
        (row.Properties as { securityEventDataEnrichment?: { source?: string } }).securityEventDataEnrichment
          ?.source,
      ).toBe('Backfill');
      expect(SUBSCRIPTIONS).toContain(row.AzureSubscriptionId);
      expect(row.RecordId).not.toBe('');
    }
    // Resource Graph's answers are no proof that an export works: no subscription got a heartbeat.
    const heartbeats = TableClient.fromConnectionString(local.azurite.connectionString(), HEARTBEAT_TABLE, {
      allowInsecureConnection: true,
    });
    const seen: unknown[] = [];
    for await (const e of heartbeats.listEntities()) seen.push(e);
    expect(seen).toEqual([]);
  });

  it('pages with $skipToken, one page at a time, each data type over three pages and more', async () => {
    await runBackfill(await deps(), everything({ dataTypes: ['Recommendation'] }));
    const recommendations = graph.requests.filter((r) =>
      r.query.includes(GRAPH_TYPES.Recommendation.resourceType),
    );
    // 2 subscriptions × 3 assessments, 2 a page.
    expect(recommendations.map((r) => Boolean(r.skipToken))).toEqual([false, true, true]);
    expect(rows()).toHaveLength(6);
  });

  it('waits out a 429 in the middle and loses nothing', async () => {
    graph.inject({ status: 429, retryAfterSeconds: 0, times: 2, when: (r) => Boolean(r.skipToken) });
    const report = await runBackfill(await deps(), everything());
    expect(graph.requests.filter((r) => r.status === 429)).toHaveLength(2);
    expect(report.ledger.received).toBe(backfillable().length);
    expect(rows()).toHaveLength(backfillable().length);
  });

  it('resumes after a crash where it stopped: a page sent again is archived once', async () => {
    const dependencies = await deps();
    const store = dependencies.state;
    let saved = 0;
    // The crash comes after a page was delivered and before its position was kept: the worst moment.
    const crashing = Object.assign(Object.create(Object.getPrototypeOf(store)) as typeof store, store, {
      savePosition: async (...args: Parameters<typeof store.savePosition>) => {
        if (++saved === 5) throw new Error('the worker was recycled');
        return store.savePosition(...args);
      },
    });
    await expect(
      runBackfill({ ...dependencies, state: crashing, concurrency: 1 }, everything()),
    ).rejects.toThrow(/recycled/);
    const before = new Set(rows().map((r) => r.EventKey)).size;
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(backfillable().length);

    const resumed = await runBackfill(await deps(), everything());
    expect(resumed.run.resumed).toBe(true);
    expect(resumed.run.finished).toBe(true);
    // The page the crash interrupted was sent again (same EventKeys: removable), and archived once.
    const keys = rows().map((r) => r.EventKey);
    expect(new Set(keys).size).toBe(backfillable().length);
    expect(keys.length).toBeGreaterThan(new Set(keys).size);
    const lines = await archiveLines();
    expect(lines).toHaveLength(backfillable().length);
    expect(new Set(lines.map((l) => l.line)).size).toBe(backfillable().length);
  });

  it('stops at a deadline, and the same backfill resumes from there', async () => {
    let now = NOW.getTime();
    // Each look at the clock is a minute later: the deadline comes after a few pages.
    const dependencies = { ...(await deps()), clock: () => new Date((now += 60_000)), concurrency: 1 };
    const stopped = await runBackfill(dependencies, everything({ deadline: NOW.getTime() + 5 * 60_000 }));
    expect(stopped.run.finished).toBe(false);
    expect(stopped.pages).toBeGreaterThan(0);
    const resumed = await runBackfill(await deps(), everything());
    expect(resumed.run).toMatchObject({ resumed: true, finished: true });
    expect(stopped.ledger.received + resumed.ledger.received).toBe(backfillable().length);
  });

  it('a row the mapping cannot take is accounted for, dead-lettered with its reason, and the rest goes on', async () => {
    const real = (await deps()).graph;
    let first = true;
    // Resource Graph answers a row that is no resource at all, once.
    const odd: GraphSource = {
      page: async (...args) => {
        const page = await real.page(...args);
        if (!first) return page;
        first = false;
        return { ...page, records: [...page.records, null as never] };
      },
    };
    const report = await runBackfill(
      await deps({ graph: odd }),
      everything({ dataTypes: ['Recommendation'] }),
    );
    expect(report.ledger.problems).toEqual([]);
    expect(report.ledger.received).toBe(7);
    expect(report.ledger.invalid).toBe(1);
    expect(report.ledger.deadLetterReasons).toEqual([expect.stringMatching(/not|null|JSON/i)]);
    expect(new Set(rows().map((r) => r.EventKey)).size).toBe(6);
  });

  it('a same-day backfill of other subscriptions archives what it read (nothing taken for written)', async () => {
    await runBackfill(await deps(), everything({ subscriptions: [SUBSCRIPTIONS[0]!] }));
    const first = (await archiveLines()).length;
    await runBackfill(await deps(), everything());
    const lines = await archiveLines();
    expect(lines.length).toBe(first + backfillable().length);
    const second = lines.filter((l) => l.line.includes(SUBSCRIPTIONS[1]!));
    expect(second.length).toBeGreaterThan(0);
  });

  it('a second backfill the same day gives the same EventKeys and no new archive blob', async () => {
    await runBackfill(await deps(), everything());
    const first = rows()
      .map((r) => r.EventKey)
      .sort();
    const archived = (await archiveLines()).map((l) => `${l.blob}\n${l.line}`);
    local.logs.reset();

    const again = await runBackfill(await deps(), everything());
    expect(again.run.resumed).toBe(false);
    expect(
      rows()
        .map((r) => r.EventKey)
        .sort(),
    ).toEqual(first);
    expect((await archiveLines()).map((l) => `${l.blob}\n${l.line}`)).toEqual(archived);
  });

  it('reads the active alerts, and with --since every alert generated since then', async () => {
    const active = await runBackfill(await deps(), everything({ dataTypes: ['Alert'] }));
    expect(active.resources).toEqual({ Alert: SUBSCRIPTIONS.length });
    for (const row of rows()) expect(row.State).toBe('Active');
    local.logs.reset();

    const since = new Date(NOW.getTime() - 30 * 86_400_000);
    const report = await runBackfill(await deps(), everything({ dataTypes: ['Alert'], since }));
    expect(report.resources).toEqual({ Alert: 2 * SUBSCRIPTIONS.length });
    expect(new Set(rows().map((r) => r.State))).toEqual(new Set(['Active', 'Resolved']));
    for (const row of rows()) expect(Date.parse(row.TimeGenerated)).toBeGreaterThanOrEqual(since.getTime());
  });

  it('from the command line: --dry-run counts per data type and sends nothing', async () => {
    const { code, stdout, stderr } = await cli(
      ['backfill', '--dry-run', '--subscriptions', SUBSCRIPTIONS.join(','), '-o', 'json'],
      '',
      env,
      atNow,
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout).resources).toEqual(expectedByType());
    expect(rows()).toEqual([]);
  });

  it('from the command line: the table, the ledger on stderr, and usage errors', async () => {
    const { code, stdout, stderr } = await cli(
      ['backfill', '--subscriptions', SUBSCRIPTIONS[0]!, '--data-types', 'securescore,SecureScoreControl'],
      '',
      env,
      atNow,
    );
    expect(code).toBe(0);
    expect(stdout).toMatch(/^SecureScore +1$/m);
    expect(stdout).toMatch(/^SecureScoreControl +3$/m);
    expect(stdout).toMatch(/snapshot of 2026-11-24/);
    expect(stderr).toMatch(/^accounted for: all 4 received$/m);

    const usage = await cli(['backfill', '--data-types', 'Everything'], '', env, atNow);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--data-types.*must be among Alert, Recommendation/);
  });
});
