import { InvocationContext, type LogLevel } from '@azure/functions';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startArmStandIn, type ArmStandIn } from '../../dev/armServer';
import { deploymentEstate, IDS, sampleDeployment, serveDeployment } from '../../dev/sampleDeployment';
import { startWebhookReceiver, type WebhookReceiver } from '../../dev/webhookReceiver';
import { reconcileCoverage as reconcileTimer } from '../../functions/reconcileCoverage';
import { loadConfig, type CoverageConfig, type DeliveryConfig } from '../../lib/config';
import { buildCoverageDependencies } from '../../lib/coverage/dependencies';
import { buildPipelineCheckDependencies } from '../../lib/health/dependencies';
import { checkPipeline, pipelineAlert, type PipelineWebhookBody } from '../../lib/health/pipelineCheck';
import type { ParkedItem } from '../../lib/ports';
import { BlobParkingStore } from '../../lib/sinks/parking';
import { startLocalAzure, type LocalAzure } from '../helpers/localAzure';

const cert = () => ({
  cert: readFileSync(process.env.DEFENDER_EXPORT_DEV_CERT!, 'utf8'),
  key: readFileSync(process.env.DEFENDER_EXPORT_DEV_KEY!, 'utf8'),
});
const HOUR = 3_600_000;

let local: LocalAzure;
let arm: ArmStandIn;
let webhook: WebhookReceiver;
beforeAll(async () => {
  local = await startLocalAzure();
  webhook = await startWebhookReceiver(cert());
  arm = await startArmStandIn({
    ...cert(),
    token: local.logs.token,
    estate: deploymentEstate(),
  });
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await arm?.close();
  await webhook?.close();
  await local?.close();
});

let env: NodeJS.ProcessEnv;
beforeEach(async () => {
  local.logs.reset();
  webhook.received.length = 0;
  await local.dropTables([
    'DefenderExportCoverage',
    'DefenderExportCoverageHistory',
    'DefenderExportHeartbeat',
  ]);
  const deployment = sampleDeployment({
    immutableId: local.logs.ruleId,
    logsEndpoint: local.logs.url,
    settings: {},
  });
  serveDeployment(arm, deployment);
  env = local.env({
    AZURE_RESOURCE_MANAGER_ENDPOINT: arm.url,
    COVERAGE_DESTINATIONS: `${IDS.namespace}/eventhubs/defender-cloud`,
    COVERAGE_WEBHOOK_URL: webhook.url,
    LOGS_DCR_RESOURCE_ID: IDS.rule,
  });
});

/** The timer's pipeline check at `now`, over the stores the settings name. */
async function pipelineAt(now: Date) {
  const config = loadConfig(env, { delivery: true, coverage: true }) as DeliveryConfig & CoverageConfig;
  const coverage = await buildCoverageDependencies(config, { clock: () => now });
  return checkPipeline(buildPipelineCheckDependencies(config, coverage));
}

async function parkAged(firstParkedAt: Date): Promise<void> {
  const item: ParkedItem = {
    version: 1,
    origin: { source: 'defender-cloud', partitionId: '0', firstSequenceNumber: 1, lastSequenceNumber: 1 },
    events: 1,
    attempts: 4,
    firstParkedAt: firstParkedAt.toISOString(),
    lastError: { status: 503, message: 'Service Unavailable' },
    destination: 'logs',
    stream: 'Custom-DefenderExport',
    rows: ['{"parked":true}'],
  };
  const container = local.blobs.getContainerClient(env.PARKED_CONTAINER!);
  await container.createIfNotExists();
  await new BlobParkingStore(container).park(item, firstParkedAt);
}

describe('the pipeline health check the reconcile timer runs', () => {
  it('is Broken once a parked item has waited a day: alerted once, reminded, and recovered', async () => {
    const now = new Date('2026-11-24T12:00:00Z');
    await parkAged(new Date(now.getTime() - 30 * HOUR));
    const first = await pipelineAt(now);
    expect(first.status).toBe('Broken');
    expect(first.problems.find((p) => p.name === 'parked items')).toMatchObject({ status: 'fail' });
    expect(first.alert).toEqual({ kind: 'broken', sent: true });
    expect((webhook.received[0] as PipelineWebhookBody).summary).toBe('Defender export pipeline is broken');
    expect((webhook.received[0] as PipelineWebhookBody).text).toMatch(
      /- parked items: 1 parked item waiting/,
    );
    // Its row, for the log alert rule.
    const rows = local.logs.accepted('Custom-DefenderExport').filter((r) => r.DataType === 'PipelineHealth');
    expect(rows).toEqual([
      expect.objectContaining({ State: 'Broken', Severity: 'High', TimeGenerated: now.toISOString() }),
    ]);

    const second = await pipelineAt(new Date(now.getTime() + HOUR));
    expect(second.alert).toBeUndefined();
    expect(second.since).toBe(now.toISOString());
    const reminded = await pipelineAt(new Date(now.getTime() + 25 * HOUR));
    expect(reminded.alert).toEqual({ kind: 'reminder', sent: true });

    await local.blobs.getContainerClient(env.PARKED_CONTAINER!).deleteIfExists();
    const recovered = await pipelineAt(new Date(now.getTime() + 26 * HOUR));
    expect(recovered.status).not.toBe('Broken');
    expect(recovered.alert).toEqual({ kind: 'recovered', sent: true });
    expect(webhook.received).toHaveLength(3);
  });

  it('watches the rule for drift with the app identity, and skips it when the rule cannot be read', async () => {
    const columns = (
      arm.resources.get(IDS.rule.toLowerCase())!.properties.streamDeclarations as Record<
        string,
        { columns: Array<{ name: string }> }
      >
    )['Custom-DefenderExport']!.columns;
    columns.splice(
      columns.findIndex((c) => c.name === 'OriginalBytes'),
      1,
    );
    const now = new Date('2026-11-24T12:00:00Z');
    const drifted = await pipelineAt(now);
    expect(drifted.status).toBe('Broken');
    expect(drifted.problems.find((p) => p.name === 'stream Custom-DefenderExport')?.detail).toBe(
      'the stream does not match the row: missing OriginalBytes (long)',
    );

    arm.forbidden.add(IDS.rule.toLowerCase());
    const unreadable = await pipelineAt(new Date(now.getTime() + HOUR));
    expect(unreadable.problems.find((p) => p.name === 'data collection rule')).toMatchObject({
      status: 'skip',
      detail: expect.stringMatching(/^not watched for drift: HTTP 403 AuthorizationFailed/),
    });
    expect(unreadable.status).not.toBe('Broken');
  });

  it('runs in the timer after the coverage reconciliation, logging a Broken pipeline as an error', async () => {
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    await parkAged(new Date(Date.now() - 30 * HOUR));
    const logged: Array<[LogLevel, string]> = [];
    const result = await reconcileTimer(
      {},
      new InvocationContext({ logHandler: (level, ...args) => logged.push([level, String(args[0])]) }),
    );
    expect(result?.coverage.subscriptions).toHaveLength(1);
    expect(result?.pipeline.status).toBe('Broken');
    const line = logged.find(([, text]) => text.startsWith('{"pipeline"'));
    expect(line?.[0]).toBe('error');
    expect(JSON.parse(line![1]).pipeline.problems).toContainEqual(
      expect.objectContaining({ name: 'parked items', status: 'fail' }),
    );
  });
});

describe('pipelineAlert', () => {
  const at = (h: number) => new Date(Date.UTC(2026, 10, 24, h));
  const since = at(0).toISOString();
  it('alerts when the pipeline breaks and when it recovers, not while it stays degraded', () => {
    expect(pipelineAlert(undefined, 'Broken', at(1), 0)).toBe('broken');
    expect(pipelineAlert({ status: 'Degraded', since }, 'Broken', at(1), 0)).toBe('broken');
    expect(pipelineAlert({ status: 'Broken', since }, 'Degraded', at(1), 0)).toBe('recovered');
    expect(pipelineAlert({ status: 'Healthy', since }, 'Degraded', at(1), 0)).toBeUndefined();
    expect(pipelineAlert(undefined, 'Healthy', at(1), 0)).toBeUndefined();
  });
  it('reminds while broken, REMINDER after the last alert, never with 0', () => {
    const record = { status: 'Broken' as const, since, lastAlertAt: at(1).toISOString() };
    expect(pipelineAlert(record, 'Broken', at(24), 24 * HOUR)).toBeUndefined();
    expect(pipelineAlert(record, 'Broken', at(25), 24 * HOUR)).toBe('reminder');
    expect(pipelineAlert(record, 'Broken', at(99), 0)).toBeUndefined();
  });
});
