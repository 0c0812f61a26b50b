import type { StoragePipelineOptions } from '@azure/storage-blob';
import { AzureClients, ensureTable } from './azure/clients';
import type { StorageConnection } from './azure/connections';
import {
  BLOB_ROLE,
  checkAccess,
  deliveryTargets,
  explainAccessFailure,
  storageEndpoint,
  TABLE_ROLE,
  type CheckAccessOptions,
} from './azure/preflight';
import type { DeliveryConfig } from './config';
import type { PipelineDependencies } from './pipeline';
import type { RedriveDependencies } from './redrive';
import { createRouter } from './routing/route';
import { BlobArchive } from './sinks/blobArchive';
import { BlobDeadLetterStore } from './sinks/deadLetter';
import type { AzureLogsSink, LogsSinkOptions } from './sinks/logsIngestion';
import { BlobParkingStore } from './sinks/parking';
import { HEARTBEAT_TABLE, TableHeartbeatStore } from './state/heartbeat';

/** The Azure adapters behind the pipeline's and the redrive's interfaces (tests read their containers). */
export type Dependencies = PipelineDependencies &
  RedriveDependencies & {
    logs?: AzureLogsSink;
    archive: BlobArchive;
    parking: BlobParkingStore;
    deadLetters: BlobDeadLetterStore;
    heartbeat: TableHeartbeatStore;
  };

/** Knobs that are not settings: tests shorten retry delays, benchmarks compare gzip levels. */
export interface DependencyOptions {
  clock?: () => Date;
  /** Base of the parked-item backoff, doubled per attempt up to an hour. */
  backoffBaseMs?: number;
  logsRetry?: LogsSinkOptions['retry'];
  storageRetry?: StoragePipelineOptions['retryOptions'];
  gzipLevel?: number;
  /** Longest wait for one Logs Ingestion call before it counts as failed (and its rows are parked). */
  logsTimeoutMs?: number;
  /** The factory to make clients with, when the caller already has one. */
  clients?: AzureClients;
  /**
   * Check first that every configured endpoint resolves and that a token can be had for each audience
   * (lib/azure/preflight.ts checkAccess), and explain a failure to reach storage: each as an ActionableError
   * naming the setting and what to do. For the command line; off in the Functions worker, whose start it
   * would slow and whose failures the host logs anyway. `true` takes the default timeouts.
   */
  preflight?: boolean | CheckAccessOptions;
}

/** How a preflight's options are written: `true` for the defaults. */
export const preflightOptions = (
  preflight: DependencyOptions['preflight'],
): CheckAccessOptions | undefined => (preflight === true ? {} : preflight || undefined);

/**
 * Runs the first calls to storage (creating containers and tables); with a preflight, a failure a person
 * can fix (no connection, refused identity) becomes an ActionableError naming the setting and host.
 */
export async function firstStorageCalls(
  calls: Array<{ run: () => Promise<unknown>; connection: StorageConnection; service: 'blob' | 'table' }>,
  explain: boolean,
): Promise<void> {
  await Promise.all(
    calls.map(async ({ run, connection, service }) => {
      try {
        await run();
      } catch (error) {
        const explained = explain
          ? explainAccessFailure(error, {
              setting:
                connection.kind === 'identity'
                  ? `${connection.setting}__${service}ServiceUri`
                  : connection.setting,
              url: storageEndpoint(connection, service),
              ...(connection.kind === 'identity'
                ? { role: service === 'blob' ? BLOB_ROLE : TABLE_ROLE }
                : {}),
            })
          : undefined;
        throw explained ?? error;
      }
    }),
  );
}

/**
 * Measured on this project's rows (100-row requests of 2 KB events): level 1 compresses at 209 MB/s to 20.4%,
 * the SDK's default (6) at 62 MB/s to 15.0%; replay delivers about 15% more events per second with level 1.
 * The SDK chunks at 1 MB uncompressed and ingestion is billed uncompressed, so the extra bytes cost nothing.
 */
export const LOGS_GZIP_LEVEL = 1;
const HOUR_MS = 3_600_000;

/** The Logs Ingestion sink the settings describe, if they describe one. */
export function logsSinkFor(
  config: Pick<DeliveryConfig, 'LOGS_INGESTION_ENDPOINT' | 'LOGS_DCR_IMMUTABLE_ID'>,
  clients: AzureClients,
  options: Pick<DependencyOptions, 'gzipLevel' | 'logsRetry' | 'logsTimeoutMs'> = {},
): AzureLogsSink | undefined {
  if (!config.LOGS_INGESTION_ENDPOINT || !config.LOGS_DCR_IMMUTABLE_ID) return undefined;
  return clients.logs({
    endpoint: config.LOGS_INGESTION_ENDPOINT,
    ruleId: config.LOGS_DCR_IMMUTABLE_ID,
    gzipLevel: options.gzipLevel ?? LOGS_GZIP_LEVEL,
    ...(options.logsRetry ? { retry: options.logsRetry } : {}),
    ...(options.logsTimeoutMs ? { timeoutMs: options.logsTimeoutMs } : {}),
  });
}

/**
 * Builds everything the pipeline and the redrive need from validated settings, and creates the containers
 * and the heartbeat table if they are missing. Called once per worker (and once per replay).
 */
export async function buildDependencies(
  config: DeliveryConfig,
  options: DependencyOptions = {},
): Promise<Dependencies> {
  const clients = options.clients ?? new AzureClients(config);
  const preflight = preflightOptions(options.preflight);
  if (preflight) await checkAccess(deliveryTargets(config, clients), preflight);
  const blobs = clients.blobService(config.archiveStorage, options.storageRetry);
  const containers = {
    archive: blobs.getContainerClient(config.ARCHIVE_CONTAINER),
    parked: blobs.getContainerClient(config.PARKED_CONTAINER),
    deadLetter: blobs.getContainerClient(config.DEADLETTER_CONTAINER),
  };
  const heartbeatTable = clients.table(config.stateStorage, HEARTBEAT_TABLE);
  await firstStorageCalls(
    [
      ...Object.values(containers).map((c) => ({
        run: () => c.createIfNotExists(),
        connection: config.archiveStorage,
        service: 'blob' as const,
      })),
      { run: () => ensureTable(heartbeatTable), connection: config.stateStorage, service: 'table' },
    ],
    preflight !== undefined,
  );

  const clock = options.clock ?? (() => new Date());
  const base = options.backoffBaseMs ?? 60_000;
  const logs = logsSinkFor(config, clients, options);
  return {
    route: createRouter(config.ROUTES, {
      stream: config.LOGS_STREAM_NAME,
      oversize: config.OVERSIZE_STRATEGY,
    }),
    recordLimit: config.RECORD_SIZE_LIMIT_BYTES,
    ...(logs ? { logs } : {}),
    archive: new BlobArchive(containers.archive),
    parking: new BlobParkingStore(containers.parked),
    deadLetters: new BlobDeadLetterStore(containers.deadLetter, clock),
    heartbeat: new TableHeartbeatStore(heartbeatTable),
    clock,
    backoff: (attempts) => Math.min(base * 2 ** Math.max(0, attempts - 1), HOUR_MS),
    auxiliaryStreams: new Set(config.LOGS_AUXILIARY_STREAMS),
    maxAttempts: config.REDRIVE_MAX_ATTEMPTS,
    maxAgeMs: config.REDRIVE_MAX_AGE_HOURS * HOUR_MS,
  };
}
