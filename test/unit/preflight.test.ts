import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { AggregateAuthenticationError, CredentialUnavailableError } from '@azure/identity';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { AzureClients } from '../../lib/azure/clients';
import {
  checkAccess,
  connectionStringEndpoint,
  coverageTargets,
  credentialFailureText,
  deliveryTargets,
  explainAccessFailure,
  MONITOR_SCOPE,
  STORAGE_SCOPE,
  type AccessTarget,
} from '../../lib/azure/preflight';
import { loadCoverageConfig, loadDeliveryConfig } from '../../lib/config';
import { buildCoverageDependencies } from '../../lib/coverage/dependencies';
import { buildDependencies } from '../../lib/dependencies';
import { ActionableError } from '../../lib/errors';
import { AzureLogsSink } from '../../lib/sinks/logsIngestion';

const HUB =
  '/subscriptions/5ec00000-0000-4000-8000-000000000001/resourceGroups/rg-security/providers/Microsoft.EventHub/namespaces/ns-defender/eventhubs/defender-cloud';
const DCR = 'dcr-0123456789abcdef0123456789abcdef';

/** What `az login` missing and no managed identity look like through DefaultAzureCredential. */
const chainFailure = () =>
  new AggregateAuthenticationError(
    [
      new CredentialUnavailableError(
        'EnvironmentCredential is unavailable. No underlying credential could be used. To troubleshoot, visit https://aka.ms/azsdk/js/identity/environmentcredential/troubleshoot.',
      ),
      new CredentialUnavailableError(
        'ManagedIdentityCredential: Network unreachable. Message: network_error: See https://aka.ms/msal.js.errors#network_error for details',
      ),
      new CredentialUnavailableError(
        "Azure CLI could not be found. Please visit https://aka.ms/azure-cli for installation instructions and then, once installed, authenticate to your Azure account using 'az login'.",
      ),
    ],
    'ChainedTokenCredential authentication failed.',
  );

class DefaultAzureCredential implements TokenCredential {
  readonly scopes: string[] = [];
  constructor(private readonly answer: () => Promise<AccessToken | null>) {}
  getToken(scope: string | string[]): Promise<AccessToken | null> {
    this.scopes.push(String(scope));
    return this.answer();
  }
}
const failing = () => new DefaultAzureCredential(() => Promise.reject(chainFailure()));
const working = () =>
  new DefaultAzureCredential(() =>
    Promise.resolve({ token: 't', expiresOnTimestamp: Date.now() + 3_600_000 }),
  );

/** AzureClients whose every credential is `credential`. */
function clientsWith(credential: TokenCredential): AzureClients {
  const clients = new AzureClients({});
  clients.credential = () => credential;
  return clients;
}

const resolvesAll = async () => ({ address: '10.0.0.1', family: 4 });

async function caught(promise: Promise<unknown>): Promise<ActionableError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ActionableError);
    return error as ActionableError;
  }
  throw new Error('did not throw');
}

const identityEnv = {
  STATE_STORAGE__tableServiceUri: 'https://stdefender.table.core.windows.net',
  ARCHIVE_STORAGE__blobServiceUri: 'https://stdefender.blob.core.windows.net',
  ARCHIVE_STORAGE__clientId: '7c1f3a52-0d2e-4b8a-9f1e-2a6b5c4d3e21',
  LOGS_INGESTION_ENDPOINT: 'https://dce-defender.westeurope-1.ingest.monitor.azure.com',
  LOGS_DCR_IMMUTABLE_ID: DCR,
  COVERAGE_DESTINATIONS: HUB,
};

describe('what a command calls', () => {
  it('delivery: logs with the app identity, storage with the identity each connection names', () => {
    const credential = working();
    const targets = deliveryTargets(loadDeliveryConfig(identityEnv), clientsWith(credential));
    expect(
      targets.map((t) => [t.setting, new URL(t.url).host, t.token?.scope, t.token?.identitySetting]),
    ).toEqual([
      [
        'LOGS_INGESTION_ENDPOINT',
        'dce-defender.westeurope-1.ingest.monitor.azure.com',
        MONITOR_SCOPE,
        'AZURE_CLIENT_ID',
      ],
      [
        'ARCHIVE_STORAGE__blobServiceUri',
        'stdefender.blob.core.windows.net',
        STORAGE_SCOPE,
        'ARCHIVE_STORAGE__clientId',
      ],
      [
        'STATE_STORAGE__tableServiceUri',
        'stdefender.table.core.windows.net',
        STORAGE_SCOPE,
        'AZURE_CLIENT_ID',
      ],
    ]);
  });

  it('coverage: Resource Manager for its own cloud, the state tables, and logs for the rows', () => {
    const config = loadCoverageConfig({
      ...identityEnv,
      AZURE_RESOURCE_MANAGER_ENDPOINT: 'https://management.usgovcloudapi.net/',
    });
    const targets = coverageTargets(config, clientsWith(working()));
    expect(targets.map((t) => [t.setting, t.token?.scope])).toEqual([
      ['AZURE_RESOURCE_MANAGER_ENDPOINT', 'https://management.usgovcloudapi.net/.default'],
      ['STATE_STORAGE__tableServiceUri', STORAGE_SCOPE],
      ['LOGS_INGESTION_ENDPOINT', MONITOR_SCOPE],
    ]);
    expect(targets[0]!.token!.role).toMatch(/Security Reader.*Security Admin to remediate/);
    // A run that records nothing sends no Coverage rows: logs are not its business.
    expect(coverageTargets(config, clientsWith(working()), { rows: false }).map((t) => t.setting)).toEqual([
      'AZURE_RESOURCE_MANAGER_ENDPOINT',
      'STATE_STORAGE__tableServiceUri',
    ]);
  });

  it('a connection string: its host is resolved, no token is asked for, and the key is never kept', () => {
    const connectionString =
      'DefaultEndpointsProtocol=https;AccountName=stdefender;AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net';
    expect(connectionStringEndpoint(connectionString, 'table')).toBe(
      'https://stdefender.table.core.windows.net',
    );
    expect(connectionStringEndpoint('UseDevelopmentStorage=true', 'blob')).toBeUndefined();
    expect(
      connectionStringEndpoint('AccountName=a;AccountKey=k;BlobEndpoint=http://127.0.0.1:10000/a', 'blob'),
    ).toBe('http://127.0.0.1:10000/a');
    const targets = deliveryTargets(
      loadDeliveryConfig({ AzureWebJobsStorage: connectionString, ROUTES: '[{"to":["archive"]}]' }),
      clientsWith(working()),
    );
    expect(targets.map((t) => [t.setting, t.url, t.token])).toEqual([
      ['AzureWebJobsStorage', 'https://stdefender.blob.core.windows.net', undefined],
      ['AzureWebJobsStorage', 'https://stdefender.table.core.windows.net', undefined],
    ]);
  });
});

describe('checkAccess: DNS', () => {
  const target = (setting: string, url: string): AccessTarget => ({ setting, url, purpose: 'x' });

  it('names each setting and host that does not resolve, with the resolver code, and what to check', async () => {
    const looked: string[] = [];
    const error = await caught(
      checkAccess(
        [
          target('LOGS_INGESTION_ENDPOINT', 'https://dce-typo.westeurope-1.ingest.monitor.azure.com'),
          target('AZURE_RESOURCE_MANAGER_ENDPOINT', 'https://management.azure.com'),
          target('AzureWebJobsStorage', 'http://127.0.0.1:10000/devstoreaccount1'),
        ],
        {
          lookup: async (host) => {
            looked.push(host);
            if (host.startsWith('dce-typo'))
              throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
            return { address: '10.0.0.1', family: 4 };
          },
        },
      ),
    );
    expect(looked.sort()).toEqual(['dce-typo.westeurope-1.ingest.monitor.azure.com', 'management.azure.com']);
    expect(error.message).toBe(
      'LOGS_INGESTION_ENDPOINT: the host dce-typo.westeurope-1.ingest.monitor.azure.com does not resolve (ENOTFOUND)',
    );
    expect(error.hint).toMatch(
      /Check LOGS_INGESTION_ENDPOINT: it should be the data collection endpoint's logs ingestion URL/,
    );
    expect(error.hint).toMatch(/private DNS zone/);
  });

  it('resolves nothing behind an HTTPS proxy (the SDKs go through it), and still checks tokens', async () => {
    const looked: string[] = [];
    const credential = working();
    await checkAccess(deliveryTargets(loadDeliveryConfig(identityEnv), clientsWith(credential)), {
      skipLookup: true,
      lookup: async (host) => looked.push(host),
    });
    expect(looked).toEqual([]);
    expect(credential.scopes.length).toBeGreaterThan(0);
  });

  it('gives up on a resolver that does not answer', async () => {
    const error = await caught(
      checkAccess([target('AZURE_RESOURCE_MANAGER_ENDPOINT', 'https://management.azure.com')], {
        lookup: () => new Promise(() => undefined),
        lookupTimeoutMs: 50,
      }),
    );
    expect(error.message).toBe(
      'AZURE_RESOURCE_MANAGER_ENDPOINT: the host management.azure.com does not resolve (no answer within 0.05 s)',
    );
  });

  it('asks the real resolver by default (a .invalid name never resolves)', async () => {
    const error = await caught(
      checkAccess([target('LOGS_INGESTION_ENDPOINT', 'https://dce.defender-export.invalid')], {
        lookupTimeoutMs: 4_000,
      }),
    );
    expect(error.message).toMatch(
      /^LOGS_INGESTION_ENDPOINT: the host dce\.defender-export\.invalid does not resolve \(/,
    );
  });

  it('asks for no token while a host does not resolve', async () => {
    const credential = working();
    await caught(
      checkAccess(
        [
          {
            setting: 'LOGS_INGESTION_ENDPOINT',
            url: 'https://nowhere.invalid',
            purpose: 'x',
            token: { credential, scope: MONITOR_SCOPE, role: 'r', identitySetting: 'AZURE_CLIENT_ID' },
          },
        ],
        { lookup: () => Promise.reject(Object.assign(new Error('x'), { code: 'ENOTFOUND' })) },
      ),
    );
    expect(credential.scopes).toEqual([]);
  });
});

describe('checkAccess: tokens', () => {
  it('gets one token per credential and audience, and passes when each comes', async () => {
    const credential = working();
    const config = loadDeliveryConfig(identityEnv);
    await checkAccess(deliveryTargets(config, clientsWith(credential)), { lookup: resolvesAll });
    expect(credential.scopes.sort()).toEqual([MONITOR_SCOPE, STORAGE_SCOPE]);
  });

  it("names the audiences and the chain's result, and says to az login, set AZURE_CLIENT_ID and which roles to grant", async () => {
    const config = loadDeliveryConfig(identityEnv);
    const error = await caught(
      checkAccess(deliveryTargets(config, clientsWith(failing())), { lookup: resolvesAll }),
    );
    expect(error.message).toBe(
      'no Azure credential could get a token for https://monitor.azure.com (LOGS_INGESTION_ENDPOINT), https://storage.azure.com (ARCHIVE_STORAGE__blobServiceUri, STATE_STORAGE__tableServiceUri): ' +
        'DefaultAzureCredential tried EnvironmentCredential is unavailable; ManagedIdentityCredential: Network unreachable; Azure CLI could not be found',
    );
    expect(error.hint.split('\n')).toEqual([
      'Locally: sign in with `az login` (or `azd auth login`) as someone who holds the roles below, then run again.',
      'In Azure: give the app a managed identity; for a user-assigned one set AZURE_CLIENT_ID / ARCHIVE_STORAGE__clientId to its client id.',
      'The identity needs: Monitoring Metrics Publisher on the data collection rule (events to Log Analytics); Storage Blob Data Contributor on the storage account (archive, parked and dead-letter containers); Storage Table Data Contributor on the storage account (heartbeat table).',
    ]);
    expect(error.cause).toBeInstanceOf(AggregateAuthenticationError);
  });

  it('for coverage, names Security Reader and Security Admin', async () => {
    const error = await caught(
      buildCoverageDependencies(loadCoverageConfig(identityEnv), {
        clients: clientsWith(failing()),
        preflight: { lookup: resolvesAll },
      }),
    );
    expect(error.message).toMatch(
      /^no Azure credential could get a token for https:\/\/management\.azure\.com \(AZURE_RESOURCE_MANAGER_ENDPOINT\)/,
    );
    expect(error.hint).toMatch(/Security Reader on the subscriptions .*Security Admin to remediate/);
  });

  it('gives up on a credential that does not answer', async () => {
    const error = await caught(
      checkAccess(
        coverageTargets(
          loadCoverageConfig({ ...identityEnv, LOGS_INGESTION_ENDPOINT: '' }),
          clientsWith(new DefaultAzureCredential(() => new Promise(() => undefined))),
        ),
        { lookup: resolvesAll, tokenTimeoutMs: 50 },
      ),
    );
    expect(error.message).toMatch(/DefaultAzureCredential gave no token within 0\.05 s/);
  });

  it('reads a single credential failure too', () => {
    expect(
      credentialFailureText(
        new CredentialUnavailableError(
          'ManagedIdentityCredential: Network unreachable. Message: network_error',
        ),
      ),
    ).toBe(
      'CredentialUnavailableError: ManagedIdentityCredential: Network unreachable. Message: network_error',
    );
  });
});

describe('the preflight in the dependency builders', () => {
  it('is off unless asked for: the Functions worker does not pay for it', async () => {
    const credential = failing();
    const config = loadDeliveryConfig({
      ...identityEnv,
      ARCHIVE_STORAGE__blobServiceUri: '',
      ARCHIVE_STORAGE__clientId: '',
      STATE_STORAGE__tableServiceUri: '',
      AzureWebJobsStorage:
        'DefaultEndpointsProtocol=http;AccountName=a;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:9/a;TableEndpoint=http://127.0.0.1:9/a',
    });
    // Without the preflight, the first thing that fails is a storage call (port 9 refuses), not a token.
    await expect(
      buildDependencies(config, { clients: clientsWith(credential), storageRetry: { maxTries: 1 } }),
    ).rejects.not.toBeInstanceOf(ActionableError);
    expect(credential.scopes).toEqual([]);
  });

  it('fails in moments on an endpoint that does not resolve, before any storage call', async () => {
    const error = await caught(
      buildDependencies(
        loadDeliveryConfig({
          AzureWebJobsStorage: 'UseDevelopmentStorage=true',
          LOGS_INGESTION_ENDPOINT: 'https://dce.defender-export.invalid',
          LOGS_DCR_IMMUTABLE_ID: DCR,
          LOCAL_DEV_BEARER_TOKEN: 'local',
        }),
        { preflight: { lookupTimeoutMs: 4_000 } },
      ),
    );
    expect(error.message).toMatch(
      /^LOGS_INGESTION_ENDPOINT: the host dce\.defender-export\.invalid does not resolve/,
    );
  });

  it('explains storage that refuses the connection, naming the setting and host', async () => {
    const port = await closedPort();
    const error = await caught(
      buildDependencies(
        loadDeliveryConfig({
          AzureWebJobsStorage: `DefaultEndpointsProtocol=http;AccountName=a;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:${port}/a;TableEndpoint=http://127.0.0.1:${port}/a`,
          ROUTES: '[{"to":["archive"]}]',
        }),
        { preflight: true, storageRetry: { maxTries: 1 } },
      ),
    );
    expect(error.message).toBe(`AzureWebJobsStorage: 127.0.0.1:${port} could not be reached (ECONNREFUSED)`);
    expect(error.hint).toMatch(/is Azurite running\?/);
    expect(error.message + error.hint).not.toContain('a2V5');
  });

  it('explains an identity storage refuses, with the role to grant', () => {
    const explained = explainAccessFailure(
      Object.assign(new Error('This request is not authorized'), {
        statusCode: 403,
        code: 'AuthorizationPermissionMismatch',
      }),
      {
        setting: 'ARCHIVE_STORAGE__blobServiceUri',
        url: 'https://stdefender.blob.core.windows.net',
        role: 'Storage Blob Data Contributor on the storage account',
      },
    );
    expect(explained?.message).toBe(
      'ARCHIVE_STORAGE__blobServiceUri: stdefender.blob.core.windows.net refused the request (HTTP 403 AuthorizationPermissionMismatch)',
    );
    expect(explained?.hint).toMatch(
      /^Grant the identity Storage Blob Data Contributor on the storage account/,
    );
    expect(
      explainAccessFailure(Object.assign(new Error('x'), { statusCode: 500 }), { setting: 's', url: 'u' }),
    ).toBeUndefined();
  });
});

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('the logs adapter, when the endpoint cannot be connected to', () => {
  const credential = working();
  const fast = { maxRetries: 2, retryDelayInMs: 5, maxRetryDelayInMs: 10 };

  it('retries the first call as the SDK does, then fails the next calls at once for a while (they are parked)', async () => {
    const port = await closedPort();
    const sink = new AzureLogsSink({
      endpoint: `https://127.0.0.1:${port}`,
      ruleId: DCR,
      credential,
      retry: fast,
    });
    await expect(sink.upload('Custom-DefenderExport', Buffer.from('[]'))).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
    // "not sent": the call was failed without being tried (no connection, no retries).
    await expect(sink.upload('Custom-DefenderExport', Buffer.from('[]'))).rejects.toMatchObject({
      code: 'ECONNREFUSED',
      message: expect.stringMatching(/^not sent: the previous call failed 0 s ago without connecting \(/),
    });
  });

  it('tries again once the window has passed', async () => {
    const port = await closedPort();
    const sink = new AzureLogsSink({
      endpoint: `https://127.0.0.1:${port}`,
      ruleId: DCR,
      credential,
      retry: fast,
      unreachableForMs: 20,
    });
    await expect(sink.upload('Custom-DefenderExport', Buffer.from('[]'))).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
    await new Promise((resolve) => setTimeout(resolve, 40));
    await expect(sink.upload('Custom-DefenderExport', Buffer.from('[]'))).rejects.toMatchObject({
      code: 'ECONNREFUSED',
      message: expect.not.stringMatching(/^not sent/),
    });
  });

  it('tries every call when the window is 0', async () => {
    const port = await closedPort();
    const sink = new AzureLogsSink({
      endpoint: `https://127.0.0.1:${port}`,
      ruleId: DCR,
      credential,
      retry: fast,
      unreachableForMs: 0,
    });
    for (let i = 0; i < 2; i++) {
      await expect(sink.upload('Custom-DefenderExport', Buffer.from('[]'))).rejects.toMatchObject({
        code: 'ECONNREFUSED',
        message: expect.not.stringMatching(/^not sent/),
      });
    }
  });
});
