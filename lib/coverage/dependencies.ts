import { AzureClients, ensureTable } from '../azure/clients';
import type { CoverageConfig } from '../config';
import { logsSinkFor } from '../dependencies';
import { COVERAGE_HISTORY_TABLE, COVERAGE_TABLE, CoverageStateStore } from '../state/coverageState';
import { HEARTBEAT_TABLE, TableHeartbeatStore } from '../state/heartbeat';
import { EstateReader } from './estate';
import type { CoverageDependencies } from './reconcile';

/** Everything a reconciliation needs, from the coverage settings (loadCoverageConfig). */
export async function buildCoverageDependencies(
  config: CoverageConfig,
  options: { clock?: () => Date; clients?: AzureClients } = {},
): Promise<CoverageDependencies> {
  const clients = options.clients ?? new AzureClients(config);
  const state = new CoverageStateStore(
    clients.table(config.stateStorage, COVERAGE_TABLE),
    clients.table(config.stateStorage, COVERAGE_HISTORY_TABLE),
  );
  const heartbeat = new TableHeartbeatStore(clients.table(config.stateStorage, HEARTBEAT_TABLE));
  await Promise.all([state.ensure(), ensureTable(heartbeat.table)]);
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
  return {
    estate: new EstateReader(clients.resourceManager(config.AZURE_RESOURCE_MANAGER_ENDPOINT)),
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
    clock: options.clock ?? (() => new Date()),
  };
}
