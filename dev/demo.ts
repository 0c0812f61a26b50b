import { BlobServiceClient } from '@azure/storage-blob';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { run } from '../lib/cli/program';
import { replayCommand } from '../lib/cli/replayCommand';
import { GUID, loadCoverageConfig, loadDeliveryConfig } from '../lib/config';
import { buildDependencies } from '../lib/dependencies';
import type { Ledger } from '../lib/ledger';
import { coverageCommand } from '../lib/cli/coverageCommand';
import { buildCoverageDependencies } from '../lib/coverage/dependencies';
import type { WebhookBody } from '../lib/coverage/notify';
import { reconcileCoverage } from '../lib/coverage/reconcile';
import { startArmStandIn } from './armServer';
import { startAzurite } from './azurite';
import { startLogsIngestionStandIn, type LogsIngestionStandIn } from './logsIngestionServer';
import { resourceGraphHandler } from './resourceGraphServer';
import { sampleSecurityResources } from './sampleSecurityResources';
import { APP_ARGS, DEPLOYMENT, IDS, sampleDeployment, serveDeployment } from './sampleDeployment';
import { SAMPLE_HUB, sampleEstate, STALE_SUBSCRIPTION } from './sampleEstate';
import { startWebhookReceiver } from './webhookReceiver';
import { withTrustedCertificate, type TrustedCertificate } from './trustedCertificate';
import { workload } from './workload';

/**
 * `npm run demo`: the whole product on this machine, no Azure needed. Azurite and the https Logs Ingestion
 * stand-in start on free ports; the Defender samples, generated oversized events and malformed ones go
 * through the very function the Event Hub trigger calls; then coverage is reconciled over a sample estate
 * behind a local https Resource Manager, and its alerts arrive at a local webhook.
 */

const ROOT = resolve(__dirname, '../..');
const SAMPLES = [resolve(ROOT, '../shared/samples'), resolve(ROOT, 'test/fixtures/samples')].find(
  existsSync,
)!;

// Demo routing: XDR device inventory is dropped, findings are trimmed rather than split, the rest goes
// everywhere. Every event still ends somewhere the ledger can show.
const ROUTES = [
  {
    name: 'device inventory is noise here',
    match: { dataTypes: ['XdrEvent'], categories: ['DeviceInfo'] },
    to: ['drop'],
  },
  {
    name: 'findings: one row each',
    match: { dataTypes: ['SecurityFinding'] },
    to: ['logs', 'archive'],
    oversize: 'trim',
  },
  { to: ['logs', 'archive'] },
];

function heading(text: string): void {
  process.stdout.write(`\n== ${text}\n`);
}

/** Oversized and malformed events, written next to the samples as NDJSON files. */
function generatedInputs(dir: string): string[] {
  const oversized = [...workload({ count: 400, seed: 7 })].filter((body) => Buffer.byteLength(body) > 32_768);
  const big = [...workload({ count: 2000, seed: 11 })]
    .filter((body) => Buffer.byteLength(body) > 32_768)
    .slice(0, 3);
  const oversizedFile = join(dir, 'generated-oversized.ndjson');
  writeFileSync(oversizedFile, `${[...oversized, ...big].join('\n')}\n`);
  const malformedFile = join(dir, 'generated-malformed.ndjson');
  writeFileSync(
    malformedFile,
    [
      '{"VendorName":"Microsoft","AlertType":"VM_Truncated","SystemAlertId":',
      JSON.stringify({
        VendorName: 'Microsoft',
        AlertType: 'VM_NoId',
        AlertDisplayName: 'an alert without SystemAlertId',
      }),
      JSON.stringify({ records: { category: 'AdvancedHunting-DeviceEvents' } }),
      JSON.stringify({
        records: [42, { category: 'AdvancedHunting-DeviceEvents', properties: 'not an object' }],
      }),
    ].join('\n') + '\n',
  );
  return [oversizedFile, malformedFile];
}

async function listContainer(
  blobs: BlobServiceClient,
  name: string,
): Promise<Array<{ name: string; lines: string[] }>> {
  const container = blobs.getContainerClient(name);
  const out: Array<{ name: string; lines: string[] }> = [];
  for await (const blob of container.listBlobsFlat()) {
    const content = await container.getBlobClient(blob.name).downloadToBuffer();
    const text = (blob.properties.contentEncoding === 'gzip' ? gunzipSync(content) : content).toString(
      'utf8',
    );
    out.push({ name: blob.name, lines: text.split('\n').filter(Boolean) });
  }
  return out;
}

/** Coverage over the sample estate: every kind of gap, the alert at a local webhook, then a fix and its recovery alert. */
async function demoCoverage(
  cert: TrustedCertificate,
  deliveryEnv: NodeJS.ProcessEnv,
  token: string,
): Promise<string> {
  heading(
    'coverage: an estate of 11 subscriptions read through Resource Graph at a local https Resource Manager; every status that opens an alert read again through Resource Manager (pages of 3, every 7th request answered 429)',
  );
  const arm = await startArmStandIn({
    ...cert,
    estate: sampleEstate(),
    token,
    pageSize: 3,
    throttle: { every: 7, retryAfterSeconds: 1 },
  });
  const webhook = await startWebhookReceiver(cert);
  try {
    const env: NodeJS.ProcessEnv = {
      ...deliveryEnv,
      AZURE_RESOURCE_MANAGER_ENDPOINT: arm.url,
      COVERAGE_DESTINATIONS: SAMPLE_HUB,
      COVERAGE_WEBHOOK_URL: webhook.url,
    };
    const config = loadCoverageConfig(env);
    const deps = await buildCoverageDependencies(config);
    // The replay above was the only traffic from the sample subscriptions; the silent one last sent ten days ago.
    await deps.heartbeat.record([
      {
        subscriptionId: STALE_SUBSCRIPTION,
        dataType: 'Recommendation',
        snapshot: false,
        lastSeen: new Date(Date.now() - 10 * 86_400_000),
      },
    ]);
    const io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stdout, env };
    const first = await coverageCommand(
      { json: false, remediate: false, dryRun: false, notify: true },
      io,
      deps,
    );
    process.stdout.write(
      `(exit code ${first}: gaps found; ${arm.graph.requests.length} Resource Graph and ${arm.requests.length} Resource Manager requests, ${arm.requests.filter((r) => r.status === 429).length} throttled with Retry-After and retried)\n`,
    );
    heading('the alert, as the webhook received it');
    process.stdout.write(
      `${(webhook.received[0] as WebhookBody | undefined)?.text ?? '(no alert arrived)'}\n`,
    );

    heading('someone switches the Finance export back on; the next run alerts once, for the recovery only');
    arm.estate.find((s) => s.displayName.startsWith('Finance'))!.automations[0]!.properties.isEnabled = true;
    const second = await reconcileCoverage(await buildCoverageDependencies(config), {
      remediate: false,
      dryRun: false,
    });
    process.stdout.write(
      `${(webhook.received[1] as WebhookBody | undefined)?.text ?? '(no alert arrived)'}\n`,
    );
    const alerts = webhook.received.length;
    // Finance is configured again but has sent nothing yet: awaiting data, which is not a gap.
    return alerts === 2 && second.counts.Covered === 2 && second.counts.AwaitingData === 1
      ? `ok (${second.gaps} gaps open, ${alerts} alerts received)`
      : `unexpected: ${alerts} alerts`;
  } finally {
    await webhook.close();
    await arm.close();
  }
}

/**
 * `doctor --app` against the deployment as Resource Manager would show it (dev/sampleDeployment.ts), with the
 * demo's own settings as the app's: every check, then a rule someone edited by hand.
 */
async function demoDoctor(
  cert: TrustedCertificate,
  deliveryEnv: NodeJS.ProcessEnv,
  token: string,
): Promise<string> {
  const arm = await startArmStandIn({ ...cert, estate: sampleEstate(), token });
  try {
    const deployment = sampleDeployment({
      immutableId: deliveryEnv.LOGS_DCR_IMMUTABLE_ID!,
      logsEndpoint: deliveryEnv.LOGS_INGESTION_ENDPOINT!,
      settings: {
        ...deliveryEnv,
        LOCAL_DEV_BEARER_TOKEN: undefined, // never an app setting in Azure
        AZURE_RESOURCE_MANAGER_ENDPOINT: arm.url,
        COVERAGE_DESTINATIONS: SAMPLE_HUB,
      },
    });
    serveDeployment(arm, deployment);
    const app = APP_ARGS;
    const io = {
      stdin: process.stdin,
      stdout: process.stdout,
      stderr: process.stdout,
      env: { LOCAL_DEV_BEARER_TOKEN: token, AZURE_RESOURCE_MANAGER_ENDPOINT: arm.url },
    };
    heading(
      `doctor: ${DEPLOYMENT.app} as a local Resource Manager shows it (defender-export doctor ${app.join(' ')} --probe)`,
    );
    const healthy = await run(['doctor', ...app, '--probe'], io);

    heading('someone edits the rule by hand: PartIndex becomes a string and Trimmed is dropped');
    const rule = arm.resources.get(IDS.rule.toLowerCase())!;
    const columns = (
      rule.properties.streamDeclarations as Record<string, { columns: Array<{ name: string; type: string }> }>
    )['Custom-DefenderExport']!.columns;
    columns.find((c) => c.name === 'PartIndex')!.type = 'string';
    columns.splice(
      columns.findIndex((c) => c.name === 'Trimmed'),
      1,
    );
    process.stdout.write(
      `$ defender-export doctor ... --query "checks[?status=='fail'].[name, detail]" -o tsv\n`,
    );
    const drifted = await run(
      ['doctor', ...app, '--query', "checks[?status=='fail'].[name, detail]", '-o', 'tsv'],
      io,
    );
    process.stdout.write(`(exit code ${drifted})\n`);
    return healthy === 0 && drifted === 1
      ? 'ok (healthy: exit 0; drifted rule: exit 1)'
      : `unexpected: exit ${healthy}, then ${drifted}`;
  } finally {
    await arm.close();
  }
}

/**
 * `backfill` of the sample estate: Resource Graph (dev/resourceGraphServer.ts, at Resource Manager's address)
 * holds each subscription's current Defender state; counted first, then sent through the pipeline.
 */
async function demoBackfill(
  cert: TrustedCertificate,
  deliveryEnv: NodeJS.ProcessEnv,
  token: string,
  logs: LogsIngestionStandIn,
): Promise<string> {
  // Active subscriptions with a real id (one sample payload carries a malformed one).
  const estate = sampleEstate().filter(
    (s) => (!s.state || s.state === 'Enabled') && GUID.test(s.subscriptionId),
  );
  const subscriptions = estate.map((s) => s.subscriptionId);
  const graph = resourceGraphHandler({
    token,
    resources: sampleSecurityResources(subscriptions, new Date()),
    pageSize: 50,
  });
  const arm = await startArmStandIn({ ...cert, estate, token, graph });
  try {
    const io = {
      stdin: process.stdin,
      stdout: process.stdout,
      stderr: process.stdout,
      env: { ...deliveryEnv, AZURE_RESOURCE_MANAGER_ENDPOINT: arm.url },
    };
    const scope = ['--subscriptions', subscriptions.join(',')];
    heading(
      `backfill: the current state of ${subscriptions.length} subscriptions from Resource Graph (defender-export backfill --dry-run, then backfill)`,
    );
    await run(['backfill', ...scope, '--dry-run'], io);
    const before = logs.accepted().length;
    process.stdout.write('\n');
    const code = await run(['backfill', ...scope], io);
    const rows = logs.accepted().slice(before);
    heading(
      'three backfilled rows (DataType, RecordId, IsSnapshot, Properties.securityEventDataEnrichment.source)',
    );
    for (const type of ['Recommendation', 'SecurityFinding', 'Alert']) {
      const row = rows.find((r) => r.DataType === type);
      const marker = (row?.Properties as { securityEventDataEnrichment?: { source?: string } } | undefined)
        ?.securityEventDataEnrichment?.source;
      process.stdout.write(
        `  ${type.padEnd(16)} ${String(row?.RecordId).slice(0, 96)}  ${row?.IsSnapshot}  ${marker}\n`,
      );
    }
    const events = new Set(rows.map((r) => r.EventKey)).size;
    // Every resource but the alerts resolved since (without --since, only active alerts are read).
    const expected = graph.resources.filter(
      (r) => !r.type.endsWith('/alerts') || r.properties.Status === 'Active',
    ).length;
    return code === 0 && events === expected
      ? `ok (${events} resources of ${subscriptions.length} subscriptions in ${graph.requests.length} Resource Graph requests)`
      : `unexpected: exit ${code}, ${events} of ${expected} resources`;
  } finally {
    await arm.close();
  }
}

async function main(cert: TrustedCertificate): Promise<number> {
  const started = Date.now();
  heading('starting Azurite and the https Logs Ingestion stand-in');
  const azurite = await startAzurite();
  const logs = await startLogsIngestionStandIn(cert);
  process.stdout.write(
    `Azurite blob :${azurite.blobPort} table :${azurite.tablePort}; Logs Ingestion ${logs.url}\n`,
  );
  try {
    const env: NodeJS.ProcessEnv = {
      AzureWebJobsStorage: azurite.connectionString(),
      LOGS_INGESTION_ENDPOINT: logs.url,
      LOGS_DCR_IMMUTABLE_ID: logs.ruleId,
      LOCAL_DEV_BEARER_TOKEN: logs.token,
      ROUTES: JSON.stringify(ROUTES),
    };
    const config = loadDeliveryConfig(env);
    const deps = await buildDependencies(config);
    const inputDir = mkdtempSync(join(tmpdir(), 'defender-export-demo-'));
    const samples = readdirSync(SAMPLES)
      .filter((name) => /\.(json|txt)$/.test(name))
      .sort()
      .map((name) => join(SAMPLES, name));
    const files = [...samples, ...generatedInputs(inputDir)];

    heading(
      `replaying ${samples.length} sample files from ${SAMPLES} and 2 generated files through ingestDefenderForCloud`,
    );
    const stdout = new PassThrough();
    const captured: Buffer[] = [];
    stdout.on('data', (chunk: Buffer) => captured.push(chunk));
    const code = await replayCommand(
      files,
      {
        source: 'defender-cloud',
        enqueuedTime: new Date().toISOString(),
        batchSize: 100,
        partitions: 2,
        json: true,
      },
      { stdin: process.stdin, stdout, stderr: process.stdout, env },
      deps,
    );
    const ledger = JSON.parse(Buffer.concat(captured).toString('utf8').trim().split('\n').pop()!) as Ledger;

    heading('Log Analytics (the stand-in keeps what it accepted)');
    const rows = logs.accepted();
    const byType = new Map<string, number>();
    for (const row of rows) byType.set(String(row.DataType), (byType.get(String(row.DataType)) ?? 0) + 1);
    process.stdout.write(
      `${rows.length} rows in ${logs.requests.filter((r) => r.status === 204).length} gzip calls to ${config.LOGS_STREAM_NAME}\n`,
    );
    for (const [type, count] of [...byType].sort()) process.stdout.write(`  ${type.padEnd(22)} ${count}\n`);
    const parts = rows.filter((r) => Number(r.PartCount) > 1);
    const trimmed = rows.filter((r) => r.Trimmed === true);
    const largest = Math.max(...rows.map((r) => Buffer.byteLength(JSON.stringify(r))));
    process.stdout.write(
      `${parts.length} rows are parts of split events, ${trimmed.length} trimmed; the largest row is ${largest} bytes\n`,
    );

    heading('Azurite blob containers');
    const blobs = BlobServiceClient.fromConnectionString(azurite.connectionString());
    for (const name of [config.ARCHIVE_CONTAINER, config.PARKED_CONTAINER, config.DEADLETTER_CONTAINER]) {
      const content = await listContainer(blobs, name);
      process.stdout.write(
        `${name}: ${content.length} blobs, ${content.reduce((n, b) => n + b.lines.length, 0)} records\n`,
      );
      for (const blob of content.slice(0, 4)) process.stdout.write(`  ${blob.name} (${blob.lines.length})\n`);
      if (content.length > 4) process.stdout.write(`  … and ${content.length - 4} more\n`);
      if (name === config.DEADLETTER_CONTAINER) {
        for (const line of content.flatMap((b) => b.lines)) {
          const record = JSON.parse(line) as { stage: string; reason: string; sequenceNumber: number };
          process.stdout.write(`  - [${record.stage}] seq ${record.sequenceNumber}: ${record.reason}\n`);
        }
      }
    }

    const coverage = await demoCoverage(cert, env, logs.token);
    const doctor = await demoDoctor(cert, env, logs.token);
    const backfill = await demoBackfill(cert, env, logs.token, logs);

    heading('summary');
    const accounted = ledger.invalid + ledger.dropped + ledger.routed;
    process.stdout.write(
      `received ${ledger.received} = accounted ${accounted} (${ledger.routed} routed, ${ledger.dropped} dropped, ${ledger.invalid} dead-lettered); ` +
        `${ledger.problems.length === 0 ? 'every event accounted for' : `PROBLEMS: ${ledger.problems.join('; ')}`}\n`,
    );
    process.stdout.write(`coverage: ${coverage}\n`);
    process.stdout.write(`doctor: ${doctor}\n`);
    process.stdout.write(`backfill: ${backfill}\n`);
    process.stdout.write(`done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    // The malformed inputs are dead-lettered and the estate has gaps on purpose: the demo succeeds when
    // every event is accounted for and the coverage alerts arrived.
    return ledger.problems.length === 0 &&
      accounted === ledger.received &&
      code !== 70 &&
      coverage.startsWith('ok') &&
      doctor.startsWith('ok') &&
      backfill.startsWith('ok')
      ? 0
      : 1;
  } finally {
    await logs.close();
    await azurite.stop();
  }
}

withTrustedCertificate(__filename, main);
