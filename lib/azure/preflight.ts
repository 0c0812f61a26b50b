import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { CoverageConfig, DeliveryConfig } from '../config';
import { ActionableError } from '../errors';
import type { AzureClients } from './clients';
import type { StorageConnection } from './connections';

/** Token scopes of the services the app calls (Resource Manager's is its endpoint's, per cloud). */
export const STORAGE_SCOPE = 'https://storage.azure.com/.default';
/** What LogsIngestionClient asks for (KnownMonitorAudience.AzurePublicCloud). */
export const MONITOR_SCOPE = 'https://monitor.azure.com/.default';

/** One endpoint a command will call: resolved by the preflight, and a token got for it when it takes one. */
export interface AccessTarget {
  /** The setting that names the endpoint: LOGS_INGESTION_ENDPOINT, STATE_STORAGE__tableServiceUri, AzureWebJobsStorage… */
  setting: string;
  /** The endpoint; only its host is used (resolved, never connected to). */
  url: string;
  /** What the endpoint is for, in a message: "logs ingestion", "the state tables"… */
  purpose: string;
  /** Absent when the endpoint takes no token (a storage connection string, an emulator). */
  token?: {
    credential: TokenCredential;
    scope: string;
    /** The role the identity needs, and where: "Monitoring Metrics Publisher on the data collection rule". */
    role: string;
    /** The setting that names a user-assigned identity for it: AZURE_CLIENT_ID or <connection>__clientId. */
    identitySetting: string;
  };
}

export interface CheckAccessOptions {
  /**
   * Longest wait for one token (default 20 s): DefaultAzureCredential tries the environment, workload and
   * managed identity, then developer tools (Azure CLI, azd, PowerShell), each of which may take seconds.
   */
  tokenTimeoutMs?: number;
  /** Longest wait for a host to resolve (default 5 s). */
  lookupTimeoutMs?: number;
  /** Resolves a host, or throws with the resolver's code (tests replace it). */
  lookup?: (host: string) => Promise<unknown>;
  /**
   * Skip resolving hosts: behind an HTTPS proxy (HTTPS_PROXY) the SDKs reach Azure through the proxy, and
   * this machine may not resolve Azure's hosts itself. Tokens are still checked.
   */
  skipLookup?: boolean;
}

/** Error names of @azure/identity's failures, read for the chain's own account of what it tried. */
interface IdentityFailure {
  name?: string;
  message?: string;
  errors?: unknown[];
}

const firstSentence = (text: string) => {
  const line = text.split('\n')[0]!.trim();
  const end = line.search(/\.(\s|$)/);
  return (end > 0 ? line.slice(0, end) : line).slice(0, 160);
};

/**
 * The credential chain's result in one line: DefaultAzureCredential's AggregateAuthenticationError lists
 * each credential it tried and why it could not be used; that list, one short clause each, is what a
 * person needs to see. Never a token (identity errors carry none).
 */
export function credentialFailureText(error: unknown): string {
  const failure = (error ?? {}) as IdentityFailure;
  if (Array.isArray(failure.errors) && failure.errors.length > 0) {
    return `tried ${failure.errors
      .map((e) => firstSentence((e as IdentityFailure).message ?? String(e)))
      .join('; ')}`;
  }
  const message = failure.message ?? String(error);
  return `${failure.name && failure.name !== 'Error' ? `${failure.name}: ` : ''}${message.split('\n')[0]!.slice(0, 300)}`;
}

const hostOf = (url: string) => {
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return undefined;
  }
};

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(Object.assign(new Error(`${what} took longer than ${ms / 1000} s`), { code: 'ETIMEOUT' })),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A token for `scope`, or a throw: the credential's own error, or one with code ETIMEOUT after `ms`. */
export async function tokenWithin(
  credential: TokenCredential,
  scope: string,
  ms: number,
): Promise<AccessToken> {
  const token = await withTimeout(
    credential.getToken(scope, { abortSignal: AbortSignal.timeout(ms) }),
    ms,
    'getting a token',
  );
  if (!token) throw new Error('the credential returned no token');
  return token;
}

/** What the setting should hold, by purpose, for the hint of a host that does not resolve. */
const EXPECTED: Array<[RegExp, string]> = [
  [
    /^LOGS_INGESTION_ENDPOINT$/,
    "the data collection endpoint's logs ingestion URL (az monitor data-collection endpoint show --query logsIngestion.endpoint)",
  ],
  [
    /^AZURE_RESOURCE_MANAGER_ENDPOINT$/,
    "https://management.azure.com, or your cloud's Resource Manager endpoint",
  ],
];
const expectedValue = (setting: string) =>
  EXPECTED.find(([pattern]) => pattern.test(setting))?.[1] ?? "the storage account's endpoint";

/**
 * Checks, before any work, that a command can reach what it is configured to use, and fails in seconds
 * with an ActionableError saying what to fix instead of retrying for a minute and parking everything:
 * 1. every endpoint's host resolves (node:dns, `lookupTimeoutMs` each; nothing is connected to);
 * 2. a token can be had for every audience that takes one (`tokenTimeoutMs` each; one call per credential
 *    and scope). A token proves the identity exists, not that it holds the roles; the hint names them.
 * Throws ActionableError naming the settings and hosts, or the audiences and the chain's result.
 */
export async function checkAccess(
  targets: readonly AccessTarget[],
  options: CheckAccessOptions = {},
): Promise<void> {
  const lookup = options.lookup ?? ((host: string) => dnsLookup(host));
  const lookupTimeoutMs = options.lookupTimeoutMs ?? 5_000;
  const hosts = new Map<string, { setting: string; host: string }>();
  for (const target of options.skipLookup ? [] : targets) {
    const host = hostOf(target.url);
    if (host && !isIP(host) && !hosts.has(`${target.setting}\n${host}`))
      hosts.set(`${target.setting}\n${host}`, { setting: target.setting, host });
  }
  const unresolved = (
    await Promise.all(
      [...hosts.values()].map(async ({ setting, host }) => {
        try {
          await withTimeout(lookup(host), lookupTimeoutMs, `resolving ${host}`);
          return undefined;
        } catch (error) {
          const code = (error as { code?: unknown }).code;
          return { setting, host, code: typeof code === 'string' ? code : (error as Error).name };
        }
      }),
    )
  ).filter((u) => u !== undefined);
  if (unresolved.length > 0) {
    throw new ActionableError(
      unresolved
        .map(
          (u) =>
            `${u.setting}: the host ${u.host} does not resolve (${u.code === 'ETIMEOUT' ? `no answer within ${lookupTimeoutMs / 1000} s` : u.code})`,
        )
        .join('; '),
      [
        ...unresolved.map((u) => `Check ${u.setting}: it should be ${expectedValue(u.setting)}.`),
        'If it is right, this machine cannot resolve it: check DNS, VPN and proxy; an endpoint behind a private link resolves only inside its network (its private DNS zone).',
      ].join('\n'),
    );
  }

  const tokenTimeoutMs = options.tokenTimeoutMs ?? 20_000;
  const audiences = new Map<TokenCredential, Map<string, AccessTarget[]>>();
  for (const target of targets) {
    if (!target.token) continue;
    const byScope = audiences.get(target.token.credential) ?? new Map<string, AccessTarget[]>();
    audiences.set(target.token.credential, byScope);
    byScope.set(target.token.scope, [...(byScope.get(target.token.scope) ?? []), target]);
  }
  const failures = (
    await Promise.all(
      [...audiences].flatMap(([credential, byScope]) =>
        [...byScope].map(async ([scope, users]) => {
          try {
            await tokenWithin(credential, scope, tokenTimeoutMs);
            return undefined;
          } catch (error) {
            return { credential, scope, users, error };
          }
        }),
      ),
    )
  ).filter((f) => f !== undefined);
  if (failures.length === 0) return;

  const audience = (scope: string) => scope.replace(/\/\.default$/, '');
  const chain = (f: (typeof failures)[number]) => {
    const name = f.credential.constructor?.name || 'the credential';
    const { code, name: errorName } = f.error as { code?: unknown; name?: unknown };
    const timedOut = code === 'ETIMEOUT' || errorName === 'AbortError' || errorName === 'TimeoutError';
    return timedOut
      ? `${name} gave no token within ${tokenTimeoutMs / 1000} s (a developer tool in the chain may be waiting, or the managed identity endpoint does not answer)`
      : `${name} ${credentialFailureText(f.error)}`;
  };
  const first = failures[0]!;
  const message =
    `no Azure credential could get a token for ${failures
      .map((f) => `${audience(f.scope)} (${[...new Set(f.users.map((u) => u.setting))].join(', ')})`)
      .join(', ')}: ${chain(first)}` +
    (failures.length > 1 && failures.some((f) => chain(f) !== chain(first))
      ? `; ${failures
          .slice(1)
          .map(chain)
          .filter((c) => c !== chain(first))
          .join('; ')}`
      : '');
  const identitySettings = [...new Set(targets.flatMap((t) => (t.token ? [t.token.identitySetting] : [])))];
  const roles = [...new Set(targets.flatMap((t) => (t.token ? [`${t.token.role} (${t.purpose})`] : [])))];
  throw new ActionableError(
    message,
    [
      'Locally: sign in with `az login` (or `azd auth login`) as someone who holds the roles below, then run again.',
      `In Azure: give the app a managed identity; for a user-assigned one set ${identitySettings.join(' / ')} to its client id.`,
      `The identity needs: ${roles.join('; ')}.`,
    ].join('\n'),
    { cause: first.error },
  );
}

const storageTarget = (
  connection: StorageConnection,
  service: 'blob' | 'table',
  purpose: string,
  role: string,
  clients: AzureClients,
): AccessTarget[] => {
  if (connection.kind === 'identity') {
    return [
      {
        setting: `${connection.setting}__${service}ServiceUri`,
        url: connection.serviceUri,
        purpose,
        token: {
          credential: clients.credential(connection.clientId),
          scope: STORAGE_SCOPE,
          role,
          identitySetting: connection.clientId ? `${connection.setting}__clientId` : 'AZURE_CLIENT_ID',
        },
      },
    ];
  }
  const url = connectionStringEndpoint(connection.connectionString, service);
  return url ? [{ setting: connection.setting, url, purpose }] : [];
};

/**
 * The endpoint a storage connection string names for a service: its `BlobEndpoint`/`TableEndpoint`, or the
 * account's default endpoint; none for the emulator. Only the URL is kept (never the key).
 */
export function connectionStringEndpoint(
  connectionString: string,
  service: 'blob' | 'table',
): string | undefined {
  const parts = new Map(
    connectionString
      .split(';')
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part) => {
        const at = part.indexOf('=');
        return [part.slice(0, at).toLowerCase(), part.slice(at + 1)] as const;
      }),
  );
  if (parts.get('usedevelopmentstorage')?.toLowerCase() === 'true') return undefined;
  const explicit = parts.get(`${service}endpoint`);
  if (explicit) return explicit;
  const account = parts.get('accountname');
  if (!account) return undefined;
  const protocol = parts.get('defaultendpointsprotocol') ?? 'https';
  return `${protocol}://${account}.${service}.${parts.get('endpointsuffix') ?? 'core.windows.net'}`;
}

export const LOGS_ROLE = 'Monitoring Metrics Publisher on the data collection rule';
export const BLOB_ROLE = 'Storage Blob Data Contributor on the storage account';
export const TABLE_ROLE = 'Storage Table Data Contributor on the storage account';
const logsTarget = (
  config: Pick<DeliveryConfig, 'LOGS_INGESTION_ENDPOINT' | 'LOGS_DCR_IMMUTABLE_ID'>,
  clients: AzureClients,
  purpose: string,
): AccessTarget[] =>
  config.LOGS_INGESTION_ENDPOINT && config.LOGS_DCR_IMMUTABLE_ID
    ? [
        {
          setting: 'LOGS_INGESTION_ENDPOINT',
          url: config.LOGS_INGESTION_ENDPOINT,
          purpose,
          token: {
            credential: clients.credential(),
            scope: MONITOR_SCOPE,
            role: LOGS_ROLE,
            identitySetting: 'AZURE_CLIENT_ID',
          },
        },
      ]
    : [];

/** What delivering events (replay, the Event Hub functions, the redrive) calls. */
export function deliveryTargets(config: DeliveryConfig, clients: AzureClients): AccessTarget[] {
  return [
    ...logsTarget(config, clients, 'events to Log Analytics'),
    ...storageTarget(
      config.archiveStorage,
      'blob',
      'archive, parked and dead-letter containers',
      BLOB_ROLE,
      clients,
    ),
    ...storageTarget(config.stateStorage, 'table', 'heartbeat table', TABLE_ROLE, clients),
  ];
}

/**
 * What a coverage reconciliation calls: Resource Manager, the state tables (read even by a run that records
 * nothing), and logs for its Coverage rows unless `rows` is false (a run that does not record sends none).
 */
export function coverageTargets(
  config: CoverageConfig,
  clients: AzureClients,
  options: { rows?: boolean } = {},
): AccessTarget[] {
  const arm = config.AZURE_RESOURCE_MANAGER_ENDPOINT.replace(/\/+$/, '');
  return [
    {
      setting: 'AZURE_RESOURCE_MANAGER_ENDPOINT',
      url: arm,
      purpose: 'reading the subscriptions and their exports',
      token: {
        credential: clients.credential(),
        scope: `${arm}/.default`,
        role: 'Security Reader on the subscriptions or their management group (and Security Admin to remediate; infra/coverage-access.bicep grants them)',
        identitySetting: 'AZURE_CLIENT_ID',
      },
    },
    ...storageTarget(
      config.stateStorage,
      'table',
      'coverage state and heartbeat tables',
      TABLE_ROLE,
      clients,
    ),
    ...(options.rows === false ? [] : logsTarget(config, clients, 'coverage rows to Log Analytics')),
  ];
}

/** Codes of a connection that never carried a request: the endpoint is wrong, down or blocked. */
export const CONNECTION_CODES: ReadonlySet<string> = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** Where a storage connection points for a service (the emulator's default ports for UseDevelopmentStorage). */
export function storageEndpoint(connection: StorageConnection, service: 'blob' | 'table'): string {
  if (connection.kind === 'identity') return connection.serviceUri;
  return (
    connectionStringEndpoint(connection.connectionString, service) ??
    `http://127.0.0.1:${service === 'blob' ? 10000 : 10002}`
  );
}

/**
 * A failure met on the first call to an endpoint (creating the containers and tables), as an ActionableError
 * naming the setting and host when it is one a person fixes: no connection (wrong host, service or Azurite
 * not running, firewall), or the identity or key refused (401, 403). Anything else: undefined.
 */
export function explainAccessFailure(
  error: unknown,
  where: { setting: string; url: string; role?: string },
): ActionableError | undefined {
  const { code, statusCode } = (error ?? {}) as { code?: unknown; statusCode?: unknown };
  let host = where.url;
  try {
    host = new URL(where.url).host;
  } catch {
    // keep what was given
  }
  if (statusCode === undefined && typeof code === 'string' && CONNECTION_CODES.has(code)) {
    return new ActionableError(
      `${where.setting}: ${host} could not be reached (${code})`,
      'Check the setting, and that the service is up and reachable from here (locally: is Azurite running? in Azure: the storage firewall and private endpoints).',
      { cause: error },
    );
  }
  if (statusCode === 401 || statusCode === 403) {
    return new ActionableError(
      `${where.setting}: ${host} refused the request (HTTP ${statusCode}${typeof code === 'string' ? ` ${code}` : ''})`,
      where.role
        ? `Grant the identity ${where.role} (a new role assignment can take a few minutes to apply), or check the storage firewall.`
        : "Check the connection string's account key or SAS, and the storage firewall.",
      { cause: error },
    );
  }
  return undefined;
}
