import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  generateAccountSASQueryParameters,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startArmStandIn, type ArmStandIn } from '../../dev/armServer';
import { resourceGraphHandler } from '../../dev/resourceGraphServer';
import {
  APP_ARGS,
  DEPLOYMENT,
  deploymentEstate,
  IDS,
  sampleDeployment,
  serveDeployment,
} from '../../dev/sampleDeployment';
import type { DoctorReport } from '../../lib/doctor/model';
import { ensureTable } from '../../lib/azure/clients';
import { ROLES } from '../../lib/doctor/roles';
import { COVERAGE_HISTORY_TABLE, COVERAGE_TABLE } from '../../lib/state/coverageState';
import { HEARTBEAT_TABLE, TableHeartbeatStore } from '../../lib/state/heartbeat';
import { BlobDeadLetterStore, type DeadLetterRecord } from '../../lib/sinks/deadLetter';
import { BlobParkingStore } from '../../lib/sinks/parking';
import { cli } from '../helpers/cli';
import { startLocalAzure, type LocalAzure } from '../helpers/localAzure';

const cert = () => ({
  cert: readFileSync(process.env.DEFENDER_EXPORT_DEV_CERT!, 'utf8'),
  key: readFileSync(process.env.DEFENDER_EXPORT_DEV_KEY!, 'utf8'),
});

// "Now" is the real clock, as Azurite's: it stamps each blob's creation time, which the dead-letter count
// reads. Parked items and heartbeats are seeded relative to it (CI also runs this a year ahead).
const NOW = new Date();
const atNow = () => NOW;
const AZURITE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

let local: LocalAzure;
let arm: ArmStandIn;
/** The app's settings as the stand-in serves them (fresh containers per test). */
let appSettings: Record<string, string>;

beforeAll(async () => {
  local = await startLocalAzure();
  arm = await startArmStandIn({
    ...cert(),
    token: local.logs.token,
    estate: deploymentEstate(),
  });
});
afterAll(async () => {
  await arm?.close();
  await local?.close();
});

/** A healthy deployment, anew for every test: each test breaks one thing. */
beforeEach(async () => {
  const { LOCAL_DEV_BEARER_TOKEN: _token, ...env } = local.env({
    COVERAGE_DESTINATIONS: `${IDS.namespace}/eventhubs/defender-cloud`,
  });
  const deployment = sampleDeployment({
    immutableId: local.logs.ruleId,
    logsEndpoint: local.logs.url,
    settings: { ...env, AZURE_RESOURCE_MANAGER_ENDPOINT: arm.url },
  });
  serveDeployment(arm, deployment);
  // The object the stand-in serves: a test changes a setting here.
  appSettings = arm.appSettings.get(IDS.site.toLowerCase())!;
  // The containers and tables the app creates at its first batch.
  const blobs = local.blobs;
  for (const name of [env.ARCHIVE_CONTAINER!, env.PARKED_CONTAINER!, env.DEADLETTER_CONTAINER!])
    await blobs.getContainerClient(name).createIfNotExists();
  for (const name of [HEARTBEAT_TABLE, COVERAGE_TABLE, COVERAGE_HISTORY_TABLE])
    await ensureTable(
      TableClient.fromConnectionString(local.azurite.connectionString(), name, {
        allowInsecureConnection: true,
      }),
    );
});

/** `doctor --app` as an operator signed in for the stand-ins runs it. */
const operator = () => ({
  LOCAL_DEV_BEARER_TOKEN: local.logs.token,
  AZURE_RESOURCE_MANAGER_ENDPOINT: arm.url,
});
const APP = APP_ARGS;

async function doctorJson(args: string[] = [], env = operator()) {
  const result = await cli(['doctor', ...APP, ...args, '-o', 'json'], '', env, atNow);
  return { ...result, report: JSON.parse(result.stdout || 'null') as DoctorReport };
}

const line = (report: DoctorReport, name: string) => report.checks.find((c) => c.name === name);
const failed = (report: DoctorReport) => report.checks.filter((c) => c.status === 'fail');

const resource = (id: string) => arm.resources.get(id.toLowerCase())!;
const ruleColumns = () =>
  (
    resource(IDS.rule).properties.streamDeclarations as Record<
      string,
      { columns: Array<{ name: string; type: string }> }
    >
  )['Custom-DefenderExport']!.columns;

describe('defender-export doctor', () => {
  it("passes a healthy deployment, reading the app's settings and its identity's roles", async () => {
    const { code, report, stderr } = await doctorJson();
    expect(stderr).toBe('');
    expect(failed(report)).toEqual([]);
    expect(code).toBe(0);
    expect(report.settingsFrom).toBe(`app ${DEPLOYMENT.app} in ${DEPLOYMENT.resourceGroup}`);
    expect(report.principal?.id).toBe(DEPLOYMENT.principalId);
    for (const name of [
      'data collection rule',
      'stream Custom-DefenderExport',
      'data flow',
      'ingestion endpoint',
      'table DefenderExport_CL',
      'role Monitoring Metrics Publisher',
      'namespace',
      'hub defender-cloud',
      `consumer group ${DEPLOYMENT.consumerGroup} of defender-xdr`,
      'role Azure Event Hubs Data Receiver',
      'subscriptions',
      'continuous export settings',
      'resource graph',
      'role Security Reader',
      `container ${appSettings.ARCHIVE_CONTAINER}`,
      'table DefenderExportHeartbeat',
    ]) {
      expect(line(report, name)?.status, name).toBe('pass');
    }
    expect(line(report, 'hub defender-cloud')?.detail).toMatch(/^4 partitions, Active/);
  });

  it('passes Resource Graph that refuses a tenant-wide query: over 18,000 subscriptions it is asked by name', async () => {
    // A stand-in whose tenant-wide limit the one subscription exceeds, as 18,001 would the service's.
    const capped = await startArmStandIn({
      ...cert(),
      token: local.logs.token,
      estate: deploymentEstate(),
      graph: resourceGraphHandler({ token: local.logs.token, resources: [], scopeLimit: 0 }),
    });
    try {
      const { LOCAL_DEV_BEARER_TOKEN: _token, ...env } = local.env({
        COVERAGE_DESTINATIONS: `${IDS.namespace}/eventhubs/defender-cloud`,
      });
      serveDeployment(
        capped,
        sampleDeployment({
          immutableId: local.logs.ruleId,
          logsEndpoint: local.logs.url,
          settings: { ...env, AZURE_RESOURCE_MANAGER_ENDPOINT: capped.url },
        }),
      );
      const { report } = await doctorJson([], { ...operator(), AZURE_RESOURCE_MANAGER_ENDPOINT: capped.url });
      expect(line(report, 'resource graph')).toMatchObject({
        status: 'pass',
        detail: expect.stringMatching(/^answers, for more than 18,000 subscriptions: .*1,000 at a time$/),
      });
      expect(capped.graph.requests.map((r) => r.status)).toEqual([400]);
    } finally {
      await capped.close();
    }
  });

  it('prints a table of ✓ lines and never a setting value', async () => {
    const { code, stdout } = await cli(['doctor', ...APP], '', operator(), atNow);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^✓ logs +stream Custom-DefenderExport +declares the row's 18 columns$/m);
    expect(stdout).toMatch(/^\d+ passed, 0 failed/m);
    for (const secret of [AZURITE_KEY, local.logs.token, appSettings.AzureWebJobsStorage!])
      expect(stdout).not.toContain(secret);
  });

  it('names the column a rule lacks and the one it types differently', async () => {
    const columns = ruleColumns();
    columns.splice(
      columns.findIndex((c) => c.name === 'Trimmed'),
      1,
    );
    columns.find((c) => c.name === 'PartIndex')!.type = 'string';
    const { code, report } = await doctorJson();
    expect(code).toBe(1);
    expect(failed(report).map((c) => c.name)).toEqual(['stream Custom-DefenderExport']);
    expect(line(report, 'stream Custom-DefenderExport')!.detail).toBe(
      'the stream does not match the row: missing Trimmed (boolean); PartIndex is string, the row sends int',
    );
    expect(line(report, 'stream Custom-DefenderExport')!.fix).toMatch(/Redeploy infra\/main\.bicep/);

    const table = await cli(['doctor', ...APP], '', operator(), atNow);
    expect(table.stdout).toMatch(
      /^✗ logs +stream Custom-DefenderExport +the stream does not match the row: missing Trimmed/m,
    );
    expect(table.stdout).toMatch(/^ +fix: Redeploy infra\/main\.bicep/m);
  });

  it('finds a table that lacks a column the row sends', async () => {
    const schema = resource(IDS.table).properties.schema as { columns: Array<{ name: string }> };
    schema.columns = schema.columns.filter((c) => c.name !== 'ArchiveBlob');
    const { code, report } = await doctorJson();
    expect(code).toBe(1);
    expect(line(report, 'table DefenderExport_CL')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('missing ArchiveBlob (string)'),
    });
  });

  it('fails a missing consumer group and says how to create it', async () => {
    arm.resources.delete(
      `${IDS.namespace}/eventhubs/defender-xdr/consumergroups/${DEPLOYMENT.consumerGroup}`.toLowerCase(),
    );
    const { code, report } = await doctorJson();
    expect(code).toBe(1);
    const group = line(report, `consumer group ${DEPLOYMENT.consumerGroup} of defender-xdr`)!;
    expect(group.status).toBe('fail');
    expect(group.detail).toMatch(
      /EVENTHUB_CONSUMER_GROUP: defender-xdr has no consumer group defender-export/,
    );
    expect(group.fix).toMatch(
      /az eventhubs eventhub consumer-group create .*--eventhub-name defender-xdr --name defender-export/,
    );
    expect(line(report, `consumer group ${DEPLOYMENT.consumerGroup} of defender-cloud`)!.status).toBe('pass');
  });

  it("fails a role the app's identity does not hold, with the command that grants it", async () => {
    arm.roleAssignments.splice(
      arm.roleAssignments.findIndex((a) => a.roleDefinition === ROLES.monitoringMetricsPublisher),
      1,
    );
    const { code, report } = await doctorJson();
    expect(code).toBe(1);
    const role = line(report, 'role Monitoring Metrics Publisher')!;
    expect(role.status).toBe('fail');
    expect(role.fix).toContain(
      `az role assignment create --assignee-object-id ${DEPLOYMENT.principalId} --role "Monitoring Metrics Publisher" --scope ${IDS.rule}`,
    );
  });

  it('accepts a role held higher up, on the resource group', async () => {
    const at = arm.roleAssignments.find((a) => a.roleDefinition === ROLES.monitoringMetricsPublisher)!;
    at.scope = IDS.group;
    const { report } = await doctorJson();
    expect(line(report, 'role Monitoring Metrics Publisher')).toMatchObject({
      status: 'pass',
      detail: `held on ${IDS.group} (inherited)`,
    });
  });

  it('fails a container the identity cannot write to', async () => {
    const sas = generateAccountSASQueryParameters(
      {
        permissions: AccountSASPermissions.parse('rl'),
        resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
        services: AccountSASServices.parse('b').toString(),
        expiresOn: new Date(Date.now() + 3_600_000),
      },
      new StorageSharedKeyCredential('devstoreaccount1', AZURITE_KEY),
    ).toString();
    appSettings.ARCHIVE_STORAGE = `BlobEndpoint=http://127.0.0.1:${local.azurite.blobPort}/devstoreaccount1;SharedAccessSignature=${sas}`;
    const { code, report, stdout } = await doctorJson();
    expect(code).toBe(1);
    const archive = line(report, `container ${appSettings.ARCHIVE_CONTAINER}`)!;
    expect(archive.status).toBe('fail');
    expect(archive.detail).toMatch(
      /a probe blob could not be written .*\(HTTP 403 AuthorizationPermissionMismatch\)/,
    );
    expect(stdout).not.toContain(sas);
    const table = await cli(['doctor', ...APP], '', operator(), atNow);
    const signature = /sig=([^&]+)/.exec(sas)![1]!;
    for (const text of [signature, decodeURIComponent(signature)])
      expect(`${table.stdout}${table.stderr}`).not.toContain(text);
  });

  it('reports a parked backlog, failing once the oldest item has waited a day', async () => {
    const parked = new BlobParkingStore(local.blobs.getContainerClient(appSettings.PARKED_CONTAINER!));
    const item = (hoursAgo: number) => ({
      version: 1 as const,
      origin: {
        source: 'defender-cloud',
        partitionId: '0',
        firstSequenceNumber: hoursAgo,
        lastSequenceNumber: hoursAgo,
      },
      events: 1,
      attempts: 3,
      firstParkedAt: new Date(NOW.getTime() - hoursAgo * 3_600_000).toISOString(),
      lastError: { status: 503, message: 'Service Unavailable' },
      destination: 'logs' as const,
      stream: 'Custom-DefenderExport',
      rows: [`{"hoursAgo":${hoursAgo}}`],
    });
    await parked.park(item(2), NOW);
    const recent = await doctorJson();
    expect(recent.code).toBe(0);
    expect(line(recent.report, 'parked items')).toMatchObject({ status: 'warn' });

    await parked.park(item(30), NOW);
    const { code, report } = await doctorJson();
    expect(code).toBe(1);
    expect(line(report, 'parked items')!.status).toBe('fail');
    expect(line(report, 'parked items')!.detail).toMatch(/2 parked items/);
  });

  it('--probe sends one row the stand-in accepts, marked DataType "Probe"', async () => {
    const before = local.logs.accepted('Custom-DefenderExport').length;
    const { report } = await doctorJson(['--probe']);
    expect(line(report, 'probe row')?.status).toBe('pass');
    const rows = local.logs.accepted('Custom-DefenderExport').slice(before);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ DataType: 'Probe', TimeGenerated: NOW.toISOString() });
  });

  it('checks local.settings.json as it is, roles of --principal-id', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'doctor-')), 'local.settings.json');
    writeFileSync(
      file,
      JSON.stringify({
        IsEncrypted: false,
        Values: { ...appSettings, LOCAL_DEV_BEARER_TOKEN: local.logs.token },
      }),
    );
    const { code, stdout } = await cli(
      ['doctor', '--settings', file, '--principal-id', DEPLOYMENT.principalId, '-o', 'json'],
      '',
      {},
      atNow,
    );
    const report = JSON.parse(stdout) as DoctorReport;
    expect(report.settingsFrom).toBe(file);
    expect(report.principal).toEqual({ id: DEPLOYMENT.principalId, from: '--principal-id' });
    expect(failed(report)).toEqual([]);
    expect(code).toBe(0);
  });

  it('a rule that cannot be found, and settings that do not load, are failures with the setting named', async () => {
    arm.resources.delete(IDS.rule.toLowerCase());
    const { code, report } = await doctorJson();
    expect(code).toBe(1);
    expect(line(report, 'data collection rule')).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/^LOGS_DCR_RESOURCE_ID: no such rule \(HTTP 404 ResourceNotFound/),
    });

    appSettings.RECORD_SIZE_LIMIT_BYTES = '10';
    const broken = await doctorJson();
    expect(broken.code).toBe(1);
    expect(line(broken.report, 'RECORD_SIZE_LIMIT_BYTES')?.detail).toMatch(
      /must be a whole number from \d+ to \d+ bytes/,
    );
    expect(failed(broken.report).map((c) => c.name)).toEqual(['RECORD_SIZE_LIMIT_BYTES']);
  });

  it('fails a hub that is not Active and a receive role the identity lacks', async () => {
    resource(`${IDS.namespace}/eventhubs/defender-xdr`).properties.status = 'Disabled';
    arm.roleAssignments.splice(
      arm.roleAssignments.findIndex(
        (a) => a.roleDefinition === ROLES.eventHubsDataReceiver && a.scope.endsWith('/defender-cloud'),
      ),
      1,
    );
    const { code, report } = await doctorJson();
    expect(code).toBe(1);
    expect(failed(report).map((c) => [c.name, c.detail])).toEqual([
      [
        'role Azure Event Hubs Data Receiver',
        `principal ${DEPLOYMENT.principalId} holds no Azure Event Hubs Data Receiver on hub defender-cloud`,
      ],
      ['hub defender-xdr', '4 partitions, Disabled'],
    ]);
  });

  it("fails an endpoint setting that is not the rule's, and accepts the rule's own (kind Direct)", async () => {
    appSettings.LOGS_INGESTION_ENDPOINT = 'https://dce-other.westeurope-1.ingest.monitor.azure.com';
    const wrong = await doctorJson();
    expect(line(wrong.report, 'ingestion endpoint')).toMatchObject({
      status: 'fail',
      detail: `LOGS_INGESTION_ENDPOINT is dce-other.westeurope-1.ingest.monitor.azure.com, the rule's endpoint is ${new URL(local.logs.url).host}`,
    });
    // A Direct rule has its own endpoint beside the collection endpoint's: either is right.
    resource(IDS.rule).properties.endpoints = {
      logsIngestion: 'https://dce-other.westeurope-1.ingest.monitor.azure.com',
    };
    expect(line((await doctorJson()).report, 'ingestion endpoint')?.status).toBe('pass');
  });

  it('reports dead letters of the last day and when each data type last arrived', async () => {
    const container = local.blobs.getContainerClient(appSettings.DEADLETTER_CONTAINER!);
    const record = (sequenceNumber: number): DeadLetterRecord => ({
      stage: 'input',
      reason: 'body is not valid JSON',
      body: '{',
      encoding: 'utf8',
      partitionId: '0',
      sequenceNumber,
      enqueuedTimeUtc: NOW.toISOString(),
    });
    await new BlobDeadLetterStore(container, () => NOW).write(
      { source: 'defender-cloud', partitionId: '0', firstSequenceNumber: 7, lastSequenceNumber: 8 },
      [record(7), record(8)],
    );
    const heartbeat = new TableHeartbeatStore(
      TableClient.fromConnectionString(local.azurite.connectionString(), HEARTBEAT_TABLE, {
        allowInsecureConnection: true,
      }),
    );
    const ago = (ms: number) => new Date(NOW.getTime() - ms);
    await heartbeat.record([
      {
        subscriptionId: DEPLOYMENT.subscriptionId,
        dataType: 'Alert',
        snapshot: false,
        lastSeen: ago(3 * 86_400_000),
      },
      {
        subscriptionId: DEPLOYMENT.subscriptionId,
        dataType: 'Recommendation',
        snapshot: true,
        lastSeen: ago(10 * 86_400_000),
      },
      {
        subscriptionId: DEPLOYMENT.subscriptionId,
        dataType: 'SecurityFinding',
        snapshot: false,
        lastSeen: ago(3_600_000),
      },
    ]);
    const { code, report } = await doctorJson();
    expect(code).toBe(0);
    expect(line(report, 'dead letters')).toMatchObject({
      status: 'warn',
      detail: '2 records dead-lettered in the last 24 hours (1 blob)',
    });
    expect(line(report, 'incoming data')).toMatchObject({
      status: 'pass',
      detail: 'data last arrived 1 hour ago',
    });
    expect(line(report, 'Recommendation')?.status).toBe('warn'); // past the weekly snapshot
    expect(line(report, 'Alert')?.status).toBe('pass'); // alerts may be quiet for days
  });

  it('checks the environment as it is: the signed-in identity, whose roles cannot be told from a local token', async () => {
    const { code, stdout } = await cli(
      ['doctor', '-o', 'json'],
      '',
      { ...appSettings, LOCAL_DEV_BEARER_TOKEN: local.logs.token },
      atNow,
    );
    const report = JSON.parse(stdout) as DoctorReport;
    expect(report.settingsFrom).toBe('the environment');
    expect(failed(report)).toEqual([]);
    expect(code).toBe(0);
    expect(line(report, 'identity')).toMatchObject({
      status: 'warn',
      fix: expect.stringMatching(/--principal-id/),
    });
    expect(report.checks.filter((c) => c.name.startsWith('role '))).toEqual([]);
  });

  it('--principal-id is whose roles are checked, also with --app', async () => {
    const other = '0b5e7a11-0000-4000-8000-0000000000ff';
    const { report } = await doctorJson(['--principal-id', other]);
    expect(report.principal).toEqual({ id: other, from: '--principal-id' });
    expect(line(report, 'role Monitoring Metrics Publisher')?.status).toBe('fail');
  });

  it('says which settings are Key Vault references instead of failing them', async () => {
    appSettings.COVERAGE_WEBHOOK_URL =
      '@Microsoft.KeyVault(SecretUri=https://kv-x.vault.azure.net/secrets/webhook/)';
    const { code, report } = await doctorJson();
    expect(code).toBe(0);
    expect(line(report, 'COVERAGE_WEBHOOK_URL')).toMatchObject({ status: 'warn' });
  });

  it('exits 2 for usage and for an app that cannot be read', async () => {
    const conflict = await cli(
      ['doctor', ...APP, '--settings', 'local.settings.json'],
      '',
      operator(),
      atNow,
    );
    expect(conflict.code).toBe(2);
    const usage = await cli(['doctor', '--app', DEPLOYMENT.app], '', operator(), atNow);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--app needs --resource-group and --subscription/);
    const missing = await cli(
      [
        'doctor',
        '--app',
        'func-nope',
        '--resource-group',
        DEPLOYMENT.resourceGroup,
        '--subscription',
        DEPLOYMENT.subscriptionId,
      ],
      '',
      operator(),
      atNow,
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(
      /^defender-export: error: app func-nope in rg-defender-export could not be read: HTTP 404 ResourceNotFound/m,
    );
    const file = await cli(['doctor', '--settings', '/nonexistent/local.settings.json'], '', {}, atNow);
    expect(file.code).toBe(2);
    expect(file.stderr).toMatch(/--settings \/nonexistent\/local\.settings\.json: no such file/);
  });
});
