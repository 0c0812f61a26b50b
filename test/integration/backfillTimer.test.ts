import { InvocationContext, type LogLevel } from '@azure/functions';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startArmStandIn, type ArmStandIn } from '../../dev/armServer';
import { resourceGraphHandler, type ResourceGraphHandler } from '../../dev/resourceGraphServer';
import { automation } from '../../dev/sampleEstate';
import { sampleSecurityResources } from '../../dev/sampleSecurityResources';
import { backfill as backfillTimer } from '../../functions/backfill';
import { buildBackfillDependencies } from '../../lib/backfill/dependencies';
import { runScheduledBackfill } from '../../lib/backfill/scheduled';
import { loadConfig, type CoverageConfig, type DeliveryConfig } from '../../lib/config';
import { buildCoverageDependencies } from '../../lib/coverage/dependencies';
import { reconcileCoverage } from '../../lib/coverage/reconcile';
import type { LogsRow } from '../../lib/records/row';
import { startLocalAzure, type LocalAzure } from '../helpers/localAzure';

const cert = () => ({
  cert: readFileSync(process.env.DEFENDER_EXPORT_DEV_CERT!, 'utf8'),
  key: readFileSync(process.env.DEFENDER_EXPORT_DEV_KEY!, 'utf8'),
});

const FIXED = '5ec00000-0000-4000-8000-0000000000c1';
const STEADY = '5ec00000-0000-4000-8000-0000000000c2';
const HUB =
  '/subscriptions/5ec00000-0000-4000-8000-000000000001/resourceGroups/rg-security/providers/Microsoft.EventHub/namespaces/ns-defender/eventhubs/defender-cloud';

let local: LocalAzure;
let graph: ResourceGraphHandler;
let arm: ArmStandIn;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  local = await startLocalAzure();
  graph = resourceGraphHandler({
    token: local.logs.token,
    resources: sampleSecurityResources([FIXED, STEADY], new Date()),
    pageSize: 5,
  });
  arm = await startArmStandIn({
    ...cert(),
    token: local.logs.token,
    graph,
    estate: [
      // Its export is switched off: a gap, until someone switches it on.
      {
        subscriptionId: FIXED,
        displayName: 'Fixed',
        automations: [automation(FIXED, 'export', { isEnabled: false, hub: HUB })],
      },
      {
        subscriptionId: STEADY,
        displayName: 'Steady',
        automations: [automation(STEADY, 'export', { hub: HUB })],
      },
    ],
  });
  backfillable = graph.resources.filter(
    (r) => !r.type.endsWith('/alerts') || r.properties.Status === 'Active',
  ).length;
  env = local.env({
    AZURE_RESOURCE_MANAGER_ENDPOINT: arm.url,
    COVERAGE_DESTINATIONS: HUB,
    BACKFILL_AFTER_RECOVERY: 'true',
  });
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await arm?.close();
  await local?.close();
});

/** Every resource but the alerts no longer active: what a backfill without --since reads. */
let backfillable = 0;
const rows = () => local.logs.accepted('Custom-DefenderExport') as unknown as LogsRow[];
const config = () => loadConfig(env, { delivery: true, coverage: true }) as DeliveryConfig & CoverageConfig;

describe('backfill in Azure: the backfill timer', () => {
  it('backfills every subscription in scope once after deployment, and not again', async () => {
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    local.logs.reset();
    const logged: Array<[LogLevel, string]> = [];
    const context = new InvocationContext({
      logHandler: (level, ...args) => logged.push([level, String(args[0])]),
    });
    const first = await backfillTimer({}, context);
    expect(first.initial).toMatchObject({ report: { run: { finished: true } } });
    expect(rows().filter((r) => r.PartIndex === 0)).toHaveLength(backfillable);
    expect(JSON.parse(logged.at(-1)![1]).backfill).toMatchObject({
      initial: 'finished now',
      received: backfillable,
      problems: [],
    });

    local.logs.reset();
    const second = await backfillTimer({}, context);
    expect(second.initial).toMatchObject({ finishedAt: expect.any(String) });
    expect(rows()).toEqual([]);
  });

  it('backfills a subscription whose gap closed, at its next run, and only that one', async () => {
    const coverage = await buildCoverageDependencies(config());
    const opened = await reconcileCoverage(coverage, { remediate: false, dryRun: false });
    expect(opened.subscriptions.find((s) => s.subscriptionId === FIXED)?.status).toBe('Disabled');
    expect(opened.backfillRequested).toBe(0);

    arm.estate.find((s) => s.subscriptionId === FIXED)!.automations[0]!.properties.isEnabled = true;
    const closed = await reconcileCoverage(coverage, { remediate: false, dryRun: false });
    expect(closed.backfillRequested).toBe(1);

    local.logs.reset();
    const deps = await buildBackfillDependencies(config());
    const report = await runScheduledBackfill(deps, {
      onDeploy: false,
      scope: () => Promise.reject(new Error('the scope is not read when only requests wait')),
      deadline: Date.now() + 60_000,
    });
    expect(report.requests.map((r) => [r.subscriptionId, r.reason, r.report.run.finished])).toEqual([
      [FIXED, 'coverage gap closed', true],
    ]);
    expect(report.waiting).toBe(0);
    expect(new Set(rows().map((r) => r.AzureSubscriptionId))).toEqual(new Set([FIXED]));
    expect(await deps.state.requests()).toEqual([]);
  });

  it('stops at its deadline and the next run resumes where it stopped', async () => {
    const deps = await buildBackfillDependencies(config());
    await deps.state.request([STEADY], 'asked by a test', new Date());
    local.logs.reset();
    const stopped = await runScheduledBackfill(deps, {
      onDeploy: false,
      scope: async () => [],
      deadline: Date.now() - 1,
    });
    expect(stopped.waiting).toBe(1);
    expect(rows()).toEqual([]);
    const resumed = await runScheduledBackfill(deps, {
      onDeploy: false,
      scope: async () => [],
      deadline: Date.now() + 60_000,
    });
    expect(resumed.waiting).toBe(0);
    expect(new Set(rows().map((r) => r.AzureSubscriptionId))).toEqual(new Set([STEADY]));
  });
});
