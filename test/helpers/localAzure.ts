import { TableClient } from '@azure/data-tables';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { startAzurite, type Azurite } from '../../dev/azurite';
import { startFaultProxy, type FaultProxy } from '../../dev/faultProxy';
import { startLogsIngestionStandIn, type LogsIngestionStandIn } from '../../dev/logsIngestionServer';
import { loadDeliveryConfig } from '../../lib/config';
import { buildDependencies, type Dependencies, type DependencyOptions } from '../../lib/dependencies';

/** Retries as the SDKs do them, minus the waiting: tests should not sleep for backoff. */
export const FAST: DependencyOptions = {
  logsRetry: { maxRetries: 3, retryDelayInMs: 5, maxRetryDelayInMs: 20 },
  storageRetry: { maxTries: 2, retryDelayInMs: 5, maxRetryDelayInMs: 20 },
};

export interface LocalAzure {
  azurite: Azurite;
  logs: LogsIngestionStandIn;
  /** In front of Azurite's blob endpoint, to fail chosen storage requests. */
  proxy: FaultProxy;
  blobs: BlobServiceClient;
  /** Settings for a fresh set of containers (so tests do not see each other's blobs). */
  env(overrides?: Record<string, string>): NodeJS.ProcessEnv;
  deps(env: NodeJS.ProcessEnv, options?: DependencyOptions): Promise<Dependencies>;
  /** Drops these state tables (coverage state, history, heartbeats) so a test starts from nothing. */
  dropTables(names: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

let sequence = 0;

/** Azurite, the https Logs Ingestion stand-in and a fault proxy, all on free local ports. */
export async function startLocalAzure(): Promise<LocalAzure> {
  const certFile = process.env.DEFENDER_EXPORT_DEV_CERT;
  const keyFile = process.env.DEFENDER_EXPORT_DEV_KEY;
  if (!certFile || !keyFile) throw new Error('test/globalSetup.ts did not run: no dev certificate');
  const azurite = await startAzurite();
  const logs = await startLogsIngestionStandIn({
    cert: readFileSync(certFile, 'utf8'),
    key: readFileSync(keyFile, 'utf8'),
  });
  const proxy = await startFaultProxy({ host: '127.0.0.1', port: azurite.blobPort });
  const connectionString = azurite.connectionString({ blobPort: proxy.port });
  return {
    azurite,
    logs,
    proxy,
    blobs: BlobServiceClient.fromConnectionString(azurite.connectionString()),
    env: (overrides = {}) => {
      const n = ++sequence;
      return {
        AzureWebJobsStorage: connectionString,
        LOGS_INGESTION_ENDPOINT: logs.url,
        LOGS_DCR_IMMUTABLE_ID: logs.ruleId,
        LOCAL_DEV_BEARER_TOKEN: logs.token,
        ARCHIVE_CONTAINER: `archive-${n}`,
        PARKED_CONTAINER: `parked-${n}`,
        DEADLETTER_CONTAINER: `deadletter-${n}`,
        ...overrides,
      };
    },
    deps: (env, options = FAST) => buildDependencies(loadDeliveryConfig(env), options),
    dropTables: async (names) => {
      for (const name of names) {
        await TableClient.fromConnectionString(azurite.connectionString(), name, {
          allowInsecureConnection: true,
        })
          .deleteTable()
          .catch(() => undefined);
      }
    },
    close: async () => {
      await Promise.all([logs.close(), proxy.close()]);
      await azurite.stop();
    },
  };
}

/** Every blob in a container: name and its lines (gunzipped when gzip). */
export async function readContainer(
  container: ContainerClient,
): Promise<Array<{ name: string; etag: string; lines: string[] }>> {
  const blobs: Array<{ name: string; etag: string; lines: string[] }> = [];
  for await (const blob of container.listBlobsFlat()) {
    const content = await container.getBlobClient(blob.name).downloadToBuffer();
    const text = (blob.properties.contentEncoding === 'gzip' ? gunzipSync(content) : content).toString(
      'utf8',
    );
    blobs.push({
      name: blob.name,
      etag: blob.properties.etag ?? '',
      lines: text.split('\n').filter(Boolean),
    });
  }
  return blobs;
}
