import { Command, CommanderError } from 'commander';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { GUID, loadCoverageConfig } from '../lib/config';
import { buildCoverageDependencies } from '../lib/coverage/dependencies';
import type { WebhookBody } from '../lib/coverage/notify';
import { startArmStandIn, type ArmStandIn } from './armServer';
import { startAzurite, type Azurite } from './azurite';
import { createDevCertificate, type DevCertificate } from './certificates';
import { startLogsIngestionStandIn, type LogsIngestionStandIn } from './logsIngestionServer';
import { resourceGraphHandler } from './resourceGraphServer';
import { DEPLOYMENT, IDS, sampleDeployment, serveDeployment } from './sampleDeployment';
import { sampleSecurityResources } from './sampleSecurityResources';
import { SAMPLE_HUB, SAMPLE_SUBSCRIPTIONS, sampleEstate, STALE_SUBSCRIPTION } from './sampleEstate';
import { startWebhookReceiver, type WebhookReceiver } from './webhookReceiver';

/**
 * `npm run dev:stand-ins`: every local stand-in in one process, for the command line and `func start`:
 * Azurite (blob and table), the https Logs Ingestion API, an https Resource Manager serving the demo's
 * sample estate, and an https webhook receiver. Prints the settings as `export` lines (optionally also to a
 * file and to local.settings.json), then reports what reaches the stand-ins until SIGINT/SIGTERM/SIGHUP,
 * when it closes every server, stops Azurite and exits 0.
 *
 * State lives in memory and is gone on stop: Azurite runs with --inMemoryPersistence, the Logs Ingestion
 * stand-in counts what it accepts (it does not keep rows), the estate and received alerts are arrays. By
 * default every port is free (chosen by the system) and the token and certificate are new at every start,
 * so printed settings are valid for that run only; --fixed-ports makes all three stable.
 */

/** Ports of --fixed-ports: Azurite's usual ones (so `UseDevelopmentStorage=true` also works), then ours. */
export const FIXED_PORTS = {
  blob: 10000,
  queue: 10001,
  table: 10002,
  logs: 10010,
  arm: 10011,
  webhook: 10012,
};
/** The bearer token of --fixed-ports. It opens nothing but these local stand-ins. */
export const FIXED_TOKEN = 'defender-export-local-stand-ins';
/** Where --fixed-ports keeps its certificate (reused while valid), so NODE_EXTRA_CA_CERTS stays valid too. */
export const FIXED_CERT_DIR = resolve(tmpdir(), 'defender-export-stand-ins');
const PORT_NAMES: Record<keyof typeof FIXED_PORTS, string> = {
  blob: 'Azurite blob',
  queue: 'Azurite queue',
  table: 'Azurite table',
  logs: 'Logs Ingestion',
  arm: 'Resource Manager',
  webhook: 'webhook',
};
/** A placeholder of local.settings.sample.json, such as `<namespace>`. */
const PLACEHOLDER = /<[A-Za-z][\w-]*>/;
/** A written local.settings.json says it is ours by this setting (never set in Azure). */
const OURS = 'LOCAL_DEV_BEARER_TOKEN';

const ROOT = resolve(__dirname, '../..');

interface Options {
  localSettings?: string | true;
  exports?: string;
  fixedPorts?: boolean;
  force?: boolean;
}

class UsageError extends Error {}

const out = (text: string) => process.stdout.write(`${text}\n`);
const err = (text: string) => process.stderr.write(`${text}\n`);
const time = () => new Date().toISOString().slice(11, 19);
/** Single-quoted for bash: safe for `;`, `$`, spaces and quotes in connection strings. */
const quote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;

function parseOptions(argv: string[]): Options {
  const program = new Command('dev:stand-ins')
    .description(
      'Start Azurite, the https Logs Ingestion API, an https Resource Manager with a sample estate and a webhook ' +
        'receiver; print the settings to export; stop everything on Ctrl-C. State is in memory only.',
    )
    .option(
      '--local-settings [file]',
      'also write the settings for `func start` to this file (default: local.settings.json)',
    )
    // Not --env-file: Node 20 takes that for its own option even after the script name.
    .option('--exports <file>', 'also write the `export` lines to this file, for `source`')
    .option(
      '--fixed-ports',
      `fixed ports (Azurite ${FIXED_PORTS.blob}-${FIXED_PORTS.table}, Logs Ingestion ${FIXED_PORTS.logs}, ` +
        `Resource Manager ${FIXED_PORTS.arm}, webhook ${FIXED_PORTS.webhook}), token and certificate file, ` +
        'so written settings stay valid across restarts',
    )
    .option('--force', 'overwrite a local.settings.json the stand-ins did not write')
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeOut: (t) => process.stdout.write(t), writeErr: (t) => process.stderr.write(t) });
  program.parse(argv, { from: 'user' });
  return program.opts<Options>();
}

/**
 * A local.settings.json we may write: none yet, or one written for the stand-ins, whose values are returned
 * so that what the user changed in it (EventHubConnection) survives the next run. --force overwrites any.
 */
function previousLocalSettings(file: string, force: boolean): Record<string, string> {
  if (!existsSync(file)) return {};
  let values: Record<string, string> | undefined;
  try {
    values = (JSON.parse(readFileSync(file, 'utf8')) as { Values?: Record<string, string> }).Values;
  } catch {
    values = undefined;
  }
  if (force) return {};
  if (!values?.[OURS]) {
    throw new UsageError(
      `${file} exists and was not written by the stand-ins (it has no ${OURS}): ` +
        'move it aside, or pass --force to overwrite it',
    );
  }
  return values;
}

async function portsInUse(ports: typeof FIXED_PORTS): Promise<string[]> {
  const busy: string[] = [];
  for (const [name, port] of Object.entries(ports) as Array<[keyof typeof FIXED_PORTS, number]>) {
    const free = await new Promise<boolean>((done) => {
      const probe = createServer()
        .once('error', () => done(false))
        .listen(port, '127.0.0.1', () => probe.close(() => done(true)));
    });
    if (!free) busy.push(`${port} (${PORT_NAMES[name]})`);
  }
  return busy;
}

/** --fixed-ports: the certificate from last time while it has an hour left, else a new one in the same place. */
function fixedCertificate(): DevCertificate {
  if (existsSync(FIXED_CERT_DIR)) {
    // Its key is trusted by whatever trusts the certificate: a folder someone else could write is refused.
    const folder = statSync(FIXED_CERT_DIR);
    if ((process.getuid && folder.uid !== process.getuid()) || (folder.mode & 0o022) !== 0) {
      throw new UsageError(
        `${FIXED_CERT_DIR} belongs to another user or others may write to it: remove it, or run without --fixed-ports`,
      );
    }
  }
  const certFile = resolve(FIXED_CERT_DIR, 'dev-cert.pem');
  const keyFile = resolve(FIXED_CERT_DIR, 'dev-key.pem');
  try {
    const cert = readFileSync(certFile, 'utf8');
    const key = readFileSync(keyFile, 'utf8');
    if (new Date(new X509Certificate(cert).validTo).getTime() > Date.now() + 3_600_000) {
      return { cert, key, certFile, keyFile };
    }
  } catch {
    // none yet, or unreadable: make one
  }
  mkdirSync(FIXED_CERT_DIR, { recursive: true, mode: 0o700 });
  return createDevCertificate(FIXED_CERT_DIR);
}

interface Running {
  azurite?: Azurite;
  logs?: LogsIngestionStandIn;
  arm?: ArmStandIn;
  webhook?: WebhookReceiver;
  /** A certificate folder to remove on stop (not the --fixed-ports one). */
  certDir?: string;
  activity?: NodeJS.Timeout;
  orphaned?: NodeJS.Timeout;
}

const running: Running = {};
let stopping = false;
let ready = false;

async function stop(code: number, why: string): Promise<never> {
  // Once only: a second signal is expected (npm forwards the terminal's SIGINT to a child that has it already).
  if (!stopping) {
    stopping = true;
    setTimeout(() => {
      err('stand-ins: did not stop within 15 s; exiting anyway');
      process.exit(1);
    }, 15_000).unref();
    if (running.activity) clearInterval(running.activity);
    if (running.orphaned) clearInterval(running.orphaned);
    if (ready) reportActivity();
    out(`\n${why}: stopping the stand-ins`);
    const closing: Array<[string, Promise<void> | undefined]> = [
      ['Logs Ingestion', running.logs?.close()],
      ['Resource Manager', running.arm?.close()],
      ['webhook receiver', running.webhook?.close()],
      ['Azurite', running.azurite?.stop()],
    ];
    const results = await Promise.allSettled(closing.map(([, p]) => p));
    results.forEach((result, i) => {
      if (result.status === 'rejected') {
        err(`stand-ins: ${closing[i]![0]} did not close cleanly: ${String(result.reason)}`);
        code = code || 1;
      }
    });
    if (running.certDir) rmSync(running.certDir, { recursive: true, force: true });
    out('stopped; blobs, tables, accepted rows, the estate and alerts were in memory and are gone');
    process.exit(code);
  }
  return new Promise<never>(() => {});
}

const seen = { logs: 0, arm: 0, webhook: 0 };

/** What reached the stand-ins since the last report: a line per stand-in, and every alert in full. */
function reportActivity(): void {
  const { logs, arm, webhook } = running;
  if (logs && logs.requests.length > seen.logs) {
    const fresh = logs.requests.slice(seen.logs);
    seen.logs = logs.requests.length;
    const ok = fresh.filter((r) => r.status === 204);
    const refused = fresh.filter((r) => r.status !== 204).map((r) => r.status || 'reset');
    out(
      `${time()} Logs Ingestion: ${fresh.length} calls, ${ok.reduce((n, r) => n + r.records, 0)} rows accepted` +
        `${refused.length ? `, refused: ${refused.join(' ')}` : ''} (${logs.acceptedCount()} rows since start)`,
    );
  }
  if (arm && arm.requests.length > seen.arm) {
    const fresh = arm.requests.slice(seen.arm);
    seen.arm = arm.requests.length;
    const statuses = new Map<number, number>();
    for (const r of fresh) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    out(
      `${time()} Resource Manager: ${fresh.length} requests (${[...statuses]
        .sort(([a], [b]) => a - b)
        .map(([status, n]) => `${n}× ${status}`)
        .join(', ')})`,
    );
  }
  if (webhook && webhook.received.length > seen.webhook) {
    for (const body of webhook.received.slice(seen.webhook) as Array<Partial<WebhookBody>>) {
      out(`${time()} webhook alert:`);
      out(
        String(body.text ?? JSON.stringify(body))
          .split('\n')
          .map((line) => `    ${line}`)
          .join('\n'),
      );
    }
    seen.webhook = webhook.received.length;
  }
}

async function main(argv: string[]): Promise<void> {
  const options = parseOptions(argv);
  const localSettings =
    options.localSettings === undefined
      ? undefined
      : resolve(options.localSettings === true ? 'local.settings.json' : options.localSettings);
  const envFile = options.exports === undefined ? undefined : resolve(options.exports);
  const previous = localSettings ? previousLocalSettings(localSettings, options.force === true) : {};
  const fixed = options.fixedPorts === true;
  if (fixed) {
    const busy = await portsInUse(FIXED_PORTS);
    if (busy.length > 0) {
      throw new UsageError(
        `--fixed-ports: in use: ${busy.join(', ')}. Stop what listens there (another Azurite, another run of ` +
          'the stand-ins), or run without --fixed-ports',
      );
    }
  }

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => void stop(0, signal));
  }
  // `kill <npm's pid>` reaches only npm's `sh -c`, which dies and leaves this process behind: stop too.
  const parent = process.ppid;
  running.orphaned = setInterval(() => {
    if (process.ppid !== parent) void stop(0, 'the parent process exited');
  }, 1000);

  const certificate = fixed ? fixedCertificate() : createDevCertificate();
  if (!fixed) running.certDir = dirname(certificate.certFile);
  const token = fixed ? FIXED_TOKEN : undefined;
  const tls = { cert: certificate.cert, key: certificate.key };
  const port = (name: keyof typeof FIXED_PORTS) => (fixed ? { port: FIXED_PORTS[name] } : {});

  await Promise.all([
    startAzurite(fixed ? FIXED_PORTS : {}).then((a) => (running.azurite = a)),
    startLogsIngestionStandIn({ ...tls, keep: false, ...(token ? { token } : {}), ...port('logs') }).then(
      (l) => (running.logs = l),
    ),
  ]);
  const logs = running.logs!;
  const azurite = running.azurite!;
  const estate = sampleEstate();
  // Resource Graph at Resource Manager's address, with each subscription's Defender state, for `backfill`.
  const graph = resourceGraphHandler({
    token: logs.token,
    resources: sampleSecurityResources(
      estate.map((s) => s.subscriptionId).filter((id) => GUID.test(id)),
      new Date(),
    ),
  });
  running.arm = await startArmStandIn({ ...tls, estate, graph, token: logs.token, ...port('arm') });
  running.webhook = await startWebhookReceiver({ ...tls, ...port('webhook') });

  const settings: Record<string, string> = {
    NODE_EXTRA_CA_CERTS: certificate.certFile,
    AzureWebJobsStorage: azurite.connectionString(),
    LOGS_INGESTION_ENDPOINT: logs.url,
    LOGS_DCR_IMMUTABLE_ID: logs.ruleId,
    LOCAL_DEV_BEARER_TOKEN: logs.token,
    AZURE_RESOURCE_MANAGER_ENDPOINT: running.arm.url,
    COVERAGE_DESTINATIONS: SAMPLE_HUB,
    COVERAGE_WEBHOOK_URL: running.webhook.url,
    // The rule as the local Resource Manager serves it, for `doctor` (there is no Event Hub locally: no
    // EVENTHUB_NAMESPACE_RESOURCE_ID, so doctor says it did not check the hubs).
    LOGS_DCR_RESOURCE_ID: IDS.rule,
  };
  // The deployment doctor --app reads (dev/sampleDeployment.ts), with these settings as the app's.
  const deployment = sampleDeployment({
    immutableId: logs.ruleId,
    logsEndpoint: logs.url,
    settings: { ...settings, LOCAL_DEV_BEARER_TOKEN: undefined, NODE_EXTRA_CA_CERTS: undefined },
  });
  serveDeployment(running.arm, deployment);

  // The heartbeats the demo's replay of the Defender samples leaves: the two covered subscriptions sent data
  // just now, the silent one ten days ago; so coverage shows them Covered and Stale, as the estate means.
  const coverage = await buildCoverageDependencies(loadCoverageConfig(settings));
  await coverage.heartbeat.record([
    ...Object.values(SAMPLE_SUBSCRIPTIONS).map((subscriptionId) => ({
      subscriptionId,
      dataType: 'Alert' as const,
      snapshot: false,
      lastSeen: new Date(),
    })),
    {
      subscriptionId: STALE_SUBSCRIPTION,
      dataType: 'Recommendation',
      snapshot: false,
      lastSeen: new Date(Date.now() - 10 * 86_400_000),
    },
  ]);

  const exportLines = Object.entries(settings).map(([name, value]) => `export ${name}=${quote(value)}`);
  out('defender-export stand-ins (state in memory: gone when they stop)');
  out(
    `  Azurite               blob http://127.0.0.1:${azurite.blobPort}, table http://127.0.0.1:${azurite.tablePort}`,
  );
  out(`  Logs Ingestion API    ${logs.url}  (rule ${logs.ruleId}, stream Custom-DefenderExport)`);
  out(
    `  Resource Manager      ${running.arm.url}  (sample estate: ${running.arm.estate.length} subscriptions; Resource Graph: ${graph.resources.length} Defender resources)`,
  );
  out(`  webhook receiver      ${running.webhook.url}`);
  out(
    `  a deployed app        defender-export doctor --app ${DEPLOYMENT.app} --resource-group ${DEPLOYMENT.resourceGroup} --subscription ${DEPLOYMENT.subscriptionId}`,
  );
  out(`  certificate to trust  ${certificate.certFile}`);
  out(
    fixed
      ? '  ports, token and certificate file are fixed (--fixed-ports): the settings stay valid across restarts'
      : '  ports, token and certificate are new at every start: the settings are valid while this run lasts',
  );
  out('\n# settings for bash: paste them into another terminal' + (envFile ? `, or: source ${envFile}` : ''));
  for (const line of exportLines) out(line);

  if (envFile) {
    writeFileSync(
      envFile,
      [
        `# written by npm run dev:stand-ins (pid ${process.pid}) at ${new Date().toISOString()}`,
        fixed ? '# --fixed-ports: valid whenever the stand-ins run' : '# valid while that run lasts',
        ...exportLines,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    out(`\nwrote ${envFile}`);
  }
  if (localSettings) {
    const samplePath = resolve(ROOT, 'local.settings.sample.json');
    const sample = existsSync(samplePath)
      ? (JSON.parse(readFileSync(samplePath, 'utf8')) as { Values: Record<string, string> }).Values
      : { FUNCTIONS_WORKER_RUNTIME: 'node', FUNCTIONS_NODE_BLOCK_ON_ENTRY_POINT_ERROR: 'true' };
    // The sample's `<namespace>`-style placeholders are left out: the worker refuses to start with one.
    const values = Object.fromEntries(
      Object.entries({ ...sample, ...previous, ...settings }).filter(([, value]) => !PLACEHOLDER.test(value)),
    );
    writeFileSync(localSettings, `${JSON.stringify({ IsEncrypted: false, Values: values }, null, 2)}\n`, {
      mode: 0o600,
    });
    out(
      `${envFile ? '' : '\n'}wrote ${localSettings} for \`func start\` ` +
        (values.EventHubConnection
          ? '(your EventHubConnection kept)'
          : '(no EventHubConnection: there is no Event Hubs stand-in; add your namespace to receive events)'),
    );
  }

  ready = true;
  out(`\nready: what reaches the stand-ins is reported below; stop with Ctrl-C`);
  running.activity = setInterval(reportActivity, 500);
}

process.on('unhandledRejection', (reason) => {
  // A malformed request to a stand-in must not take the others down once they serve.
  err(`stand-ins: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`);
  if (!ready) void stop(1, 'failed to start');
});

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
  if (error instanceof UsageError) {
    err(`dev:stand-ins: ${error.message}`);
    process.exit(2);
  }
  err(`dev:stand-ins: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  void stop(1, 'failed to start');
});
