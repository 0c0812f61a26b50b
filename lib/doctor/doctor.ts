import type { TokenCredential } from '@azure/core-auth';
import { AzureClients, type ResourceManagerRetry } from '../azure/clients';
import {
  coverageTargets,
  credentialFailureText,
  deliveryTargets,
  LOGS_ROLE,
  tokenWithin,
  type AccessTarget,
} from '../azure/preflight';
import { AzureResourceGraph } from '../azure/resourceGraph';
import { ResourceReader } from '../azure/resources';
import { loadConfig, type CoverageConfig, type DeliveryConfig } from '../config';
import { ConfigError } from '../errors';
import { healthSources } from '../health/dependencies';
import { judgeHealth, readPipelineHealth } from '../health/pipelineHealth';
import { logsSinkFor } from '../dependencies';
import { sendRows } from '../outbox/logsOutbox';
import { failureText } from '../sinks/deliveryFailure';
import { COVERAGE_HISTORY_TABLE, COVERAGE_TABLE } from '../state/coverageState';
import { HEARTBEAT_TABLE } from '../state/heartbeat';
import { coverageChecks } from './coverageChecks';
import { eventHubChecks, eventHubNamespaceHost } from './eventHubChecks';
import { logsResourceChecks } from './logsChecks';
import { check, countChecks, oneLine, type Check, type DoctorReport } from './model';
import { probeRow } from './probe';
import { roleCheck, ROLES } from './roles';
import { principalOfToken, type SettingsSource } from './settingsSource';
import { containerChecks, tableChecks } from './storageChecks';

export interface DoctorOptions {
  /** The settings to check. */
  source: SettingsSource;
  /**
   * Who the doctor runs as: the settings' own identity (the environment, local.settings.json) or, for a
   * deployed app, the operator's (`az login`): the app's managed identity cannot be used from outside.
   */
  identity: { LOCAL_DEV_BEARER_TOKEN?: string; AZURE_CLIENT_ID?: string };
  /** Whose roles to check, when the source does not say (`--principal-id`). */
  principalId?: string;
  /** Send one probe row to the logs stream. */
  probe: boolean;
  clock: () => Date;
  tokenTimeoutMs?: number;
  armRetry?: ResourceManagerRetry;
}

/** Runs every check it can; one that cannot run is a `skip` line saying why. Never throws for a finding. */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const now = options.clock();
  const checks: Check[] = [];
  // The app resolves Key Vault references itself; from outside they are text. Checked as unset.
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(options.source.env)) {
    if (value?.trim().startsWith('@Microsoft.KeyVault(')) {
      checks.push(
        check(
          'settings',
          name,
          'warn',
          `${name} is a Key Vault reference: the app resolves it, the doctor cannot`,
        ),
      );
    } else env[name] = value;
  }
  const coverageOn = Boolean(env.COVERAGE_DESTINATIONS?.trim());
  let config: DeliveryConfig | undefined;
  try {
    config = loadConfig(env, { delivery: true, coverage: coverageOn }) as DeliveryConfig;
    checks.push(
      check(
        'settings',
        'settings',
        'pass',
        `valid${coverageOn ? '' : '; coverage is off (COVERAGE_DESTINATIONS unset)'}`,
      ),
    );
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems)
      checks.push(
        check('settings', problem.split(':')[0]!, 'fail', problem, 'Fix the setting (README: Configure).'),
      );
  }
  if (!config) return report(options, checks, now);

  const clients = new AzureClients(options.identity);
  const arm = config.AZURE_RESOURCE_MANAGER_ENDPOINT.replace(/\/+$/, '');
  const targets = [
    ...deliveryTargets(config, clients),
    ...(coverageOn ? coverageTargets(config as CoverageConfig, clients, { rows: false }) : []),
  ];
  const armTarget: AccessTarget = {
    setting: 'AZURE_RESOURCE_MANAGER_ENDPOINT',
    url: arm,
    purpose: 'reading the deployment',
    token: {
      credential: clients.credential(),
      scope: `${arm}/.default`,
      role: 'Reader on the resource group',
      identitySetting: 'AZURE_CLIENT_ID',
    },
  };
  const tokens = await tokenChecks([...targets, armTarget], options.tokenTimeoutMs ?? 20_000);
  checks.push(...tokens.checks);

  // --principal-id first; then a deployed app's identity; the signed-in one only when checking local
  // settings (with --app, your own roles would say nothing about the app's).
  const signedIn = tokens.armToken ? principalOfToken(tokens.armToken) : undefined;
  const principal =
    (options.principalId ? { id: options.principalId, from: '--principal-id' } : undefined) ??
    options.source.principal ??
    (!options.source.app && signedIn
      ? { id: signedIn, from: 'the signed-in identity (its token)' }
      : undefined);
  const reader = tokens.armToken
    ? new ResourceReader(clients.credential(), arm, options.armRetry)
    : undefined;
  const noArm = (area: Check['area'], name: string) =>
    check(area, name, 'skip', 'no token for Resource Manager (see credential)');

  const [logs, storage, hubs, coverage] = await Promise.all([
    logsArea(config, reader, principal?.id, options, clients, now).catch(crashed('logs')),
    storageArea(config, clients, coverageOn, now).catch(crashed('storage')),
    reader
      ? eventHubArea(config, env, reader, principal?.id).catch(crashed('event hubs'))
      : [noArm('event hubs', 'event hubs')],
    !coverageOn
      ? [check('coverage', 'coverage', 'skip', 'off: COVERAGE_DESTINATIONS is unset')]
      : reader
        ? coverageChecks(clients.resourceManager(arm, options.armRetry), {
            ...(config.COVERAGE_SCOPE?.length ? { scope: config.COVERAGE_SCOPE } : {}),
            ...(principal ? { principalId: principal.id } : {}),
            reader,
            ...((config as CoverageConfig).COVERAGE_SOURCE === 'resourcegraph'
              ? { graph: new AzureResourceGraph(clients.credential(), arm, options.armRetry) }
              : {}),
          }).catch(crashed('coverage'))
        : [noArm('coverage', 'coverage')],
  ]);
  // After the storage probes, which write to the parked container: read together, a probe would count.
  const health = await healthArea(config, clients, now).catch(crashed('health'));
  checks.push(...logs, ...storage, ...hubs, ...coverage, ...health);
  if (!principal && reader) {
    checks.push(
      check(
        'credential',
        'identity',
        'warn',
        options.source.app
          ? "the app's managed identity was not found (none, or AZURE_CLIENT_ID names none of its user-assigned ones), so role checks were skipped"
          : 'could not tell whose roles to check, so role checks were skipped',
        'Pass --principal-id <object id>, or --app to check a deployed app and its managed identity.',
      ),
    );
  }
  return report(options, checks, now, principal);
}

function report(
  options: DoctorOptions,
  checks: Check[],
  now: Date,
  principal?: { id: string; from: string },
): DoctorReport {
  return {
    checkedAt: now.toISOString(),
    settingsFrom: options.source.from,
    ...(principal ? { principal } : {}),
    checks,
    counts: countChecks(checks),
  };
}

/** A check that threw (a bug, or a client failing in a way nobody foresaw) is a failed line, not a crash. */
const crashed =
  (area: Check['area']) =>
  (error: unknown): Check[] => [check(area, area, 'fail', `the check itself failed: ${oneLine(error)}`)];

/** One token per credential and audience, each a line naming the settings that need it. */
async function tokenChecks(
  targets: readonly AccessTarget[],
  timeoutMs: number,
): Promise<{ checks: Check[]; armToken?: string }> {
  // Two connections may use two identities for one audience (ARCHIVE_STORAGE__clientId, STATE_STORAGE__…).
  const byAudience = new Map<
    TokenCredential,
    Map<string, { credential: TokenCredential; scope: string; users: AccessTarget[] }>
  >();
  for (const target of targets) {
    if (!target.token) continue;
    const { credential, scope } = target.token;
    const scopes = byAudience.get(credential) ?? new Map();
    byAudience.set(credential, scopes);
    const entry = scopes.get(scope) ?? { credential, scope, users: [] };
    entry.users.push(target);
    scopes.set(scope, entry);
  }
  let armToken: string | undefined;
  const checks = await Promise.all(
    [...byAudience.values()]
      .flatMap((scopes) => [...scopes.values()])
      .map(async ({ credential, scope, users }) => {
        const audience = scope.replace(/\/\.default$/, '');
        const settings = [...new Set(users.map((u) => u.setting))].join(', ');
        try {
          const token = await tokenWithin(credential, scope, timeoutMs);
          if (users.some((u) => u.setting === 'AZURE_RESOURCE_MANAGER_ENDPOINT')) armToken = token.token;
          return check('credential', `token for ${audience}`, 'pass', `for ${settings}`);
        } catch (error) {
          return check(
            'credential',
            `token for ${audience}`,
            'fail',
            `no token (${settings}): ${credentialFailureText(error)}`,
            "Locally: `az login` as someone who holds the roles; in Azure: the app's managed identity (AZURE_CLIENT_ID for a user-assigned one).",
          );
        }
      }),
  );
  return { checks, ...(armToken ? { armToken } : {}) };
}

async function logsArea(
  config: DeliveryConfig,
  reader: ResourceReader | undefined,
  principalId: string | undefined,
  options: DoctorOptions,
  clients: AzureClients,
  now: Date,
): Promise<Check[]> {
  if (!config.LOGS_INGESTION_ENDPOINT || !config.LOGS_DCR_IMMUTABLE_ID)
    return [check('logs', 'logs', 'skip', 'ROUTES sends nothing to logs')];
  const checks: Check[] = [];
  if (!config.LOGS_DCR_RESOURCE_ID) {
    checks.push(
      check(
        'logs',
        'data collection rule',
        'skip',
        'LOGS_DCR_RESOURCE_ID is unset, so the rule, its stream and the table were not checked',
        "Set LOGS_DCR_RESOURCE_ID to the rule's resource id (infra/main.bicep sets it).",
      ),
    );
  } else if (!reader) {
    checks.push(
      check('logs', 'data collection rule', 'skip', 'no token for Resource Manager (see credential)'),
    );
  } else {
    const found = await logsResourceChecks(reader, {
      ruleId: config.LOGS_DCR_RESOURCE_ID,
      immutableId: config.LOGS_DCR_IMMUTABLE_ID,
      stream: config.LOGS_STREAM_NAME,
      endpoint: config.LOGS_INGESTION_ENDPOINT,
    });
    checks.push(...found.checks);
    if (found.rule && principalId) {
      checks.push(
        await roleCheck(reader, principalId, {
          area: 'logs',
          role: 'Monitoring Metrics Publisher',
          grantedBy: [ROLES.monitoringMetricsPublisher],
          scope: found.rule.id,
          on: 'the data collection rule',
        }),
      );
    }
  }
  if (options.probe) {
    const sink = logsSinkFor(config, clients, { logsRetry: { maxRetries: 1 } });
    const outcome = await sendRows(sink!, config.LOGS_STREAM_NAME, [
      { bytes: Buffer.from(JSON.stringify(probeRow(now)), 'utf8') },
    ]);
    checks.push(
      outcome.delivered === 1
        ? check(
            'logs',
            'probe row',
            'pass',
            `accepted by ${new URL(config.LOGS_INGESTION_ENDPOINT).host} (DataType "Probe")`,
          )
        : check(
            'logs',
            'probe row',
            'fail',
            `refused: ${outcome.first ? failureText(outcome.first) : 'no answer'}`,
            `403: grant ${LOGS_ROLE}; 404: check LOGS_DCR_IMMUTABLE_ID and LOGS_STREAM_NAME; 400: the stream does not match the row (see above).`,
          ),
    );
  }
  return checks;
}

async function storageArea(
  config: DeliveryConfig,
  clients: AzureClients,
  coverageOn: boolean,
  now: Date,
): Promise<Check[]> {
  const blobs = clients.blobService(config.archiveStorage, { maxTries: 1 });
  const tables = [HEARTBEAT_TABLE, ...(coverageOn ? [COVERAGE_TABLE, COVERAGE_HISTORY_TABLE] : [])].map(
    (name) => clients.table(config.stateStorage, name),
  );
  const [containers, state] = await Promise.all([
    containerChecks(
      blobs,
      [
        { setting: 'ARCHIVE_CONTAINER', name: config.ARCHIVE_CONTAINER },
        { setting: 'PARKED_CONTAINER', name: config.PARKED_CONTAINER },
        { setting: 'DEADLETTER_CONTAINER', name: config.DEADLETTER_CONTAINER },
      ],
      now,
    ),
    tableChecks(tables),
  ]);
  return [...containers, ...state];
}

async function eventHubArea(
  config: DeliveryConfig,
  env: NodeJS.ProcessEnv,
  reader: ResourceReader,
  principalId: string | undefined,
): Promise<Check[]> {
  if (!config.EVENTHUB_NAMESPACE_RESOURCE_ID)
    return [
      check(
        'event hubs',
        'event hubs',
        'skip',
        'EVENTHUB_NAMESPACE_RESOURCE_ID is unset, so the hubs and consumer group were not checked',
        "Set EVENTHUB_NAMESPACE_RESOURCE_ID to the namespace's resource id (infra/main.bicep sets it).",
      ),
    ];
  const hubs = [
    ...(config.DEFENDER_CLOUD_EVENTHUB
      ? [{ setting: 'DEFENDER_CLOUD_EVENTHUB', name: config.DEFENDER_CLOUD_EVENTHUB }]
      : []),
    ...(config.DEFENDER_XDR_EVENTHUB
      ? [{ setting: 'DEFENDER_XDR_EVENTHUB', name: config.DEFENDER_XDR_EVENTHUB }]
      : []),
  ];
  return eventHubChecks(reader, {
    namespaceId: config.EVENTHUB_NAMESPACE_RESOURCE_ID,
    hubs,
    consumerGroup: config.EVENTHUB_CONSUMER_GROUP,
    connection: eventHubNamespaceHost(env),
    ...(principalId ? { principalId } : {}),
  });
}

async function healthArea(config: DeliveryConfig, clients: AzureClients, now: Date): Promise<Check[]> {
  const { stores, thresholds } = healthSources(config, clients, () => now, { tries: 1 });
  return judgeHealth(await readPipelineHealth(stores, now), thresholds, now).map((finding) =>
    check('health', finding.subject, finding.status, finding.text, finding.fix),
  );
}
