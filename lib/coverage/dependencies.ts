import { AzureClients, ensureTable, type ResourceManagerRetry } from '../azure/clients';
import { checkAccess, coverageTargets, type CheckAccessOptions } from '../azure/preflight';
import type { CoverageConfig } from '../config';
import { firstStorageCalls, logsSinkFor, preflightOptions } from '../dependencies';
import { COVERAGE_HISTORY_TABLE, COVERAGE_TABLE, CoverageStateStore } from '../state/coverageState';
import { BACKFILL_TABLE, BackfillStateStore } from '../state/backfillState';
import { HEARTBEAT_TABLE, TableHeartbeatStore } from '../state/heartbeat';
import { AzureResourceGraph, type GraphSource } from '../azure/resourceGraph';
import { EstateReader } from './estate';
import { GraphEstateReader } from './graphEstate';
import type { CoverageDependencies } from './reconcile';

export interface CoverageDependencyOptions {
  clock?: () => Date;
  clients?: AzureClients;
  /** The Resource Manager clients' retry of 429/5xx and network errors; tests shorten the delays. */
  armRetry?: ResourceManagerRetry;
  /**
   * Check first that every endpoint resolves and a token can be had for Resource Manager, storage and
   * logs (lib/azure/preflight.ts checkAccess), each failure an ActionableError. For the command line; off
   * in the Functions worker. `true` takes the default timeouts; `rows: false` leaves logs out, for a run
   * that sends no Coverage rows (one that does not record).
   */
  preflight?: boolean | (CheckAccessOptions & { rows?: boolean });
  /** Resource Graph, when a test brings its own. */
  graph?: GraphSource;
}

/** Everything a reconciliation needs, from the coverage settings (loadCoverageConfig). */
export async function buildCoverageDependencies(
  config: CoverageConfig,
  options: CoverageDependencyOptions = {},
): Promise<CoverageDependencies> {
  const clients = options.clients ?? new AzureClients(config);
  const preflight = preflightOptions(options.preflight);
  if (preflight) {
    const rows = typeof options.preflight === 'object' ? options.preflight.rows : undefined;
    await checkAccess(coverageTargets(config, clients, rows === undefined ? {} : { rows }), preflight);
  }
  const state = new CoverageStateStore(
    clients.table(config.stateStorage, COVERAGE_TABLE),
    clients.table(config.stateStorage, COVERAGE_HISTORY_TABLE),
  );
  const heartbeat = new TableHeartbeatStore(clients.table(config.stateStorage, HEARTBEAT_TABLE));
  const backfillRequests = config.BACKFILL_AFTER_RECOVERY
    ? new BackfillStateStore(clients.table(config.stateStorage, BACKFILL_TABLE))
    : undefined;
  await firstStorageCalls(
    [
      { run: () => state.ensure(), connection: config.stateStorage, service: 'table' },
      { run: () => ensureTable(heartbeat.table), connection: config.stateStorage, service: 'table' },
      ...(backfillRequests
        ? [
            {
              run: () => backfillRequests.ensure(),
              connection: config.stateStorage,
              service: 'table' as const,
            },
          ]
        : []),
    ],
    preflight !== undefined,
  );
  const sink = logsSinkFor(config, clients);
  const logs = sink ? { sink, stream: config.LOGS_STREAM_NAME } : undefined;
  const remediation =
    config.COVERAGE_REMEDIATION_RESOURCE_GROUP && config.COVERAGE_REMEDIATION_LOCATION
      ? {
          armEndpoint: config.AZURE_RESOURCE_MANAGER_ENDPOINT,
          resourceGroup: config.COVERAGE_REMEDIATION_RESOURCE_GROUP,
          name: config.COVERAGE_REMEDIATION_NAME,
          location: config.COVERAGE_REMEDIATION_LOCATION,
          adopt: config.COVERAGE_REMEDIATION_ADOPT,
          destinations: config.COVERAGE_DESTINATIONS,
          requiredSources: config.COVERAGE_REQUIRED_SOURCES,
        }
      : undefined;
  // When the subscription list cannot be read, the subscriptions judged before are reported Unreachable.
  const arm = new EstateReader(
    clients.resourceManager(config.AZURE_RESOURCE_MANAGER_ENDPOINT, options.armRetry),
    () => state.known(),
  );
  const graph = () =>
    options.graph ??
    new AzureResourceGraph(clients.credential(), config.AZURE_RESOURCE_MANAGER_ENDPOINT, options.armRetry);
  const clock = options.clock ?? (() => new Date());
  // Over 18,000 subscriptions the runs between two listings ask about those the state knows.
  const memory = {
    known: async () => [...(await state.known()), ...(await state.inactive())],
    lastListing: () => state.loadListing(),
    clock,
    listEveryMs: config.COVERAGE_DISCOVERY_HOURS * 3_600_000,
  };
  return {
    estate: config.COVERAGE_SOURCE === 'resourcegraph' ? new GraphEstateReader(graph(), arm, 4, memory) : arm,
    state,
    heartbeat,
    desired: {
      destinations: config.COVERAGE_DESTINATIONS,
      requiredSources: config.COVERAGE_REQUIRED_SOURCES,
      requiredSeverities: config.COVERAGE_REQUIRED_SEVERITIES,
      staleAfterMs: config.COVERAGE_STALE_AFTER_HOURS * 3_600_000,
      snapshotStaleAfterMs: config.COVERAGE_SNAPSHOT_STALE_AFTER_DAYS * 86_400_000,
    },
    ...(config.COVERAGE_SCOPE?.length ? { scope: config.COVERAGE_SCOPE } : {}),
    concurrency: config.COVERAGE_CONCURRENCY,
    reminderMs: config.COVERAGE_REMINDER_HOURS * 3_600_000,
    ...(config.COVERAGE_WEBHOOK_URL ? { webhookUrl: config.COVERAGE_WEBHOOK_URL } : {}),
    ...(logs ? { logs } : {}),
    ...(remediation ? { remediation } : {}),
    ...(backfillRequests ? { backfillRequests } : {}),
    clock,
  };
}
