import { SubscriptionClient } from '@azure/arm-resources-subscriptions';
import { SecurityCenter } from '@azure/arm-security';
import type { TokenCredential } from '@azure/core-auth';
import { createDefaultHttpClient, RestError } from '@azure/core-rest-pipeline';
import { TableClient } from '@azure/data-tables';
import { BlobServiceClient, type StoragePipelineOptions } from '@azure/storage-blob';
import type { ResourceManagerClients } from '../coverage/estate';
import { AzureLogsSink, type LogsSinkOptions } from '../sinks/logsIngestion';
import type { StorageConnection } from './connections';
import { credentialFor, type IdentitySettings } from './credentials';

/** The Resource Manager SDK's retry of 429, 5xx and network errors (default: 3 retries from 1 s). */
export interface ResourceManagerRetry {
  maxRetries?: number;
  retryDelayInMs?: number;
  maxRetryDelayInMs?: number;
}

const isLocalHttp = (connectionString: string) =>
  /(Endpoint=http:\/\/|UseDevelopmentStorage=true)/i.test(connectionString);

/**
 * The one place Azure clients are made: every client of a process shares its credentials (one per managed
 * identity), so tokens are fetched and cached once.
 */
export class AzureClients {
  private readonly credentials = new Map<string, TokenCredential>();

  constructor(private readonly identity: IdentitySettings) {}

  /** The app's credential, or the one for the user-assigned identity a connection names. */
  credential(clientId?: string): TokenCredential {
    const key = clientId ?? '';
    let credential = this.credentials.get(key);
    if (!credential) this.credentials.set(key, (credential = credentialFor(this.identity, clientId)));
    return credential;
  }

  blobService(
    connection: StorageConnection,
    retry?: StoragePipelineOptions['retryOptions'],
  ): BlobServiceClient {
    const pipeline: StoragePipelineOptions = retry ? { retryOptions: retry } : {};
    return connection.kind === 'connectionString'
      ? BlobServiceClient.fromConnectionString(connection.connectionString, pipeline)
      : new BlobServiceClient(connection.serviceUri, this.credential(connection.clientId), pipeline);
  }

  table(connection: StorageConnection, name: string): TableClient {
    if (connection.kind === 'connectionString') {
      return TableClient.fromConnectionString(connection.connectionString, name, {
        allowInsecureConnection: isLocalHttp(connection.connectionString),
      });
    }
    return new TableClient(connection.serviceUri, name, this.credential(connection.clientId));
  }

  logs(options: Omit<LogsSinkOptions, 'credential'>): AzureLogsSink {
    return new AzureLogsSink({ ...options, credential: this.credential() });
  }

  /**
   * Resource Manager clients at `endpoint` (a sovereign cloud's wants tokens for its own audience). One HTTP
   * client, so one pool of kept-alive connections, serves every per-subscription client: without it each
   * subscription paid a TLS handshake of its own (10,000 subscriptions: 55 s before, docs/performance.md).
   */
  resourceManager(endpoint: string, retry?: ResourceManagerRetry): ResourceManagerClients {
    const base = endpoint.replace(/\/+$/, '');
    const options = {
      endpoint: base,
      credentialScopes: [`${base}/.default`],
      httpClient: createDefaultHttpClient(),
      ...(retry ? { retryOptions: retry } : {}),
    };
    const credential = this.credential();
    return {
      subscriptions: new SubscriptionClient(credential, options),
      security: (subscriptionId) => new SecurityCenter(credential, subscriptionId, options),
    };
  }
}

/** Creates a table unless it exists. */
/** The entity, or undefined when the table has none at that key (404). */
export async function getEntityOrUndefined<T extends object>(
  table: TableClient,
  partitionKey: string,
  rowKey: string,
): Promise<T | undefined> {
  try {
    return await table.getEntity<T>(partitionKey, rowKey);
  } catch (error) {
    if (error instanceof RestError && error.statusCode === 404) return undefined;
    throw error;
  }
}

export async function ensureTable(table: TableClient): Promise<void> {
  try {
    await table.createTable();
  } catch (error) {
    if (!(error instanceof RestError && error.statusCode === 409)) throw error;
  }
}
