import { TableClient } from '@azure/data-tables';
import { credentialFor } from '../azure/credentials';
import type { StorageConnection } from '../azure/connections';
import type { Config } from '../config';
import { LOGS_GZIP_LEVEL } from '../dependencies';
import { HEARTBEAT_TABLE, HeartbeatStore } from '../sinks/heartbeat';
import { LogsIngestionSink } from '../sinks/logsIngestion';
import { EstateReader } from './estate';
import type { CoverageDependencies } from './reconcile';
import { COVERAGE_HISTORY_TABLE, COVERAGE_TABLE, CoverageStateStore } from './stateStore';

function table(connection: StorageConnection, env: NodeJS.ProcessEnv, name: string): TableClient {
  if (connection.kind === 'connectionString') {
    return TableClient.fromConnectionString(connection.connectionString, name, {
      allowInsecureConnection: /(Endpoint=http:\/\/|UseDevelopmentStorage=true)/i.test(
        connection.connectionString,
      ),
    });
  }
  return new TableClient(connection.serviceUri, name, credentialFor(env, connection.clientId));
}

/** Everything a reconciliation needs, from settings validated with `loadConfig(env, { coverage: true })`. */
export async function buildCoverageDependencies(
  config: Config,
  env: NodeJS.ProcessEnv,
  options: { clock?: () => Date } = {},
): Promise<CoverageDependencies> {
  if (!config.stateStorage || !config.COVERAGE_DESTINATIONS?.length) {
    throw new Error('loadConfig({ coverage: true }) must come first');
  }
  const state = new CoverageStateStore(
    table(config.stateStorage, env, COVERAGE_TABLE),
    table(config.stateStorage, env, COVERAGE_HISTORY_TABLE),
  );
  const heartbeat = new HeartbeatStore(table(config.stateStorage, env, HEARTBEAT_TABLE));
  await Promise.all([state.ensure(), heartbeat.table.createTable().catch(() => undefined)]);
  const credential = credentialFor(env);
  const logs =
    config.LOGS_INGESTION_ENDPOINT && config.LOGS_DCR_IMMUTABLE_ID
      ? {
          sink: new LogsIngestionSink({
            endpoint: config.LOGS_INGESTION_ENDPOINT,
            ruleId: config.LOGS_DCR_IMMUTABLE_ID,
            credential,
            gzipLevel: LOGS_GZIP_LEVEL,
          }),
          stream: config.LOGS_STREAM_NAME,
        }
      : undefined;
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
    estate: new EstateReader({ endpoint: config.AZURE_RESOURCE_MANAGER_ENDPOINT, credential }),
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
