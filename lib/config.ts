import { z } from 'zod';
import {
  PLACEHOLDER,
  placeholderProblem,
  storageConnection,
  type StorageConnection,
} from './azure/connections';
import { DEFAULT_REQUIRED_SOURCES, EVENT_SOURCES } from './coverage/eventSources';
import { ConfigError } from './errors';
import { MAX_RECORD_LIMIT, MIN_RECORD_LIMIT, OVERSIZE_STRATEGIES } from './fit/fit';
import { DEFAULT_ROUTES, DEFAULT_STREAM, validateRoutes, type Rule } from './routing/rules';

/** An app setting that is unset or blank takes its default. */
const setting = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (typeof value === 'string' && value.trim() === '' ? undefined : value), schema);

const json = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value, ctx) => {
    if (typeof value !== 'string') return value;
    try {
      return JSON.parse(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `not valid JSON: ${(error as Error).message}` });
      return z.NEVER;
    }
  }, schema);

const httpsUrl = z.url({ protocol: /^https$/, error: 'must be an https:// URL' });

// `true`/`false` in any case: the portal and `az` users type `True`, and ARM's string() of a bool writes it.
const flagDefaulting = (fallback: 'true' | 'false') =>
  z
    .preprocess(
      (value) => (typeof value === 'string' ? value.trim().toLowerCase() : value),
      z.enum(['true', 'false']),
    )
    .default(fallback)
    .transform((v) => v === 'true');
const flag = flagDefaulting('false');

/** A comma-separated setting, trimmed, empty items dropped. */
const list = <T extends z.ZodType>(item: T) =>
  z.preprocess(
    (value) =>
      typeof value === 'string'
        ? value
            .split(',')
            .map((v) => v.trim())
            .filter(Boolean)
        : value,
    z.array(item),
  );
/**
 * A number within `min`..`max`; every message names the range (and zod's "Too small"/"Too big" leads it).
 * The value itself is never quoted.
 */
const range = (
  min: number,
  max: number,
  fallback: number,
  options: { integer?: boolean; unit?: string } = {},
) => {
  const integer = options.integer ?? true;
  const text = `must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}${options.unit ? ` ${options.unit}` : ''}`;
  const number = z.coerce.number({ error: text });
  return setting(
    (integer ? number.int({ error: text }) : number)
      .min(min, { error: `Too small: ${text}` })
      .max(max, { error: `Too big: ${text}` })
      .default(fallback),
  );
};

/** A GUID: subscription, tenant, client and object ids. */
export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The resource id of one resource of `type` (provider/type), without a trailing slash. */
const resourceId = (type: string, what: string) =>
  z
    .string()
    .trim()
    .regex(
      new RegExp(
        `^/subscriptions/[0-9a-f-]{36}/resourceGroups/[-\\w._()]{1,90}/providers/${type.replace('.', '\\.')}/[-\\w.()]{1,260}$`,
        'i',
      ),
      `must be the resource id of ${what}: /subscriptions/<id>/resourceGroups/<group>/providers/${type}/<name>`,
    );

/**
 * Every setting the app reads, as one schema over the environment (app settings are environment
 * variables). Add a setting here, to local.settings.sample.json, to the README's table and to the Bicep
 * together. Storage and Event Hubs connections follow the Functions conventions and are read by
 * lib/azure/connections.ts and by the host.
 */
const schema = z.object({
  DEFENDER_CLOUD_EVENTHUB: setting(z.string().optional()),
  DEFENDER_XDR_EVENTHUB: setting(z.string().optional()),
  EVENTHUB_CONSUMER_GROUP: setting(z.string().default('$Default')),
  LOGS_INGESTION_ENDPOINT: setting(httpsUrl.optional()),
  LOGS_DCR_IMMUTABLE_ID: setting(
    z
      .string()
      .regex(/^dcr-[0-9a-f]{32}$/i, 'must look like dcr-<32 hex digits>')
      .optional(),
  ),
  LOGS_STREAM_NAME: setting(
    z
      .string()
      .regex(/^Custom-[A-Za-z0-9_]{1,100}$/, 'must be Custom-<Name>')
      .default(DEFAULT_STREAM),
  ),
  // Streams whose table is on the Auxiliary plan: each request's rows lie within 30 minutes of TimeGenerated.
  LOGS_AUXILIARY_STREAMS: setting(
    list(z.string().regex(/^Custom-[A-Za-z0-9_]{1,100}$/, 'must be Custom-<Name>, comma separated')).default(
      [],
    ),
  ),
  // Read by `doctor` and the timer's health check only: where the rule and the hubs are in Resource Manager.
  LOGS_DCR_RESOURCE_ID: setting(
    resourceId('Microsoft.Insights/dataCollectionRules', 'a data collection rule').optional(),
  ),
  EVENTHUB_NAMESPACE_RESOURCE_ID: setting(
    resourceId('Microsoft.EventHub/namespaces', 'an Event Hubs namespace').optional(),
  ),
  ARCHIVE_CONTAINER: setting(z.string().default('defender-archive')),
  PARKED_CONTAINER: setting(z.string().default('defender-parked')),
  DEADLETTER_CONTAINER: setting(z.string().default('defender-deadletter')),
  RECORD_SIZE_LIMIT_BYTES: range(MIN_RECORD_LIMIT, MAX_RECORD_LIMIT, 32_768, { unit: 'bytes' }),
  OVERSIZE_STRATEGY: setting(z.enum(OVERSIZE_STRATEGIES).default('split')),
  ROUTES: setting(json(z.unknown())),
  REDRIVE_SCHEDULE: setting(z.string().default('0 */5 * * * *')),
  REDRIVE_MAX_ATTEMPTS: range(1, 100, 10),
  // At most 30 days: the storage lifecycle deletes parked blobs after parkedDeleteAfterDays (30 by default),
  // and an item must be dead-lettered before it is deleted unseen.
  REDRIVE_MAX_AGE_HOURS: range(1, 720, 72),
  LOCAL_DEV_BEARER_TOKEN: setting(z.string().optional()),
  AZURE_CLIENT_ID: setting(
    z
      .string()
      .trim()
      .regex(GUID, 'must be the client id (a GUID) of the user-assigned managed identity')
      .optional(),
  ),
  AZURE_RESOURCE_MANAGER_ENDPOINT: setting(httpsUrl.default('https://management.azure.com')),
  // `all` (the default) is every subscription the identity can see; otherwise subscription ids.
  COVERAGE_SCOPE: setting(
    z.preprocess(
      (value) => (typeof value === 'string' && value.trim().toLowerCase() === 'all' ? undefined : value),
      list(z.string().regex(GUID, 'must be `all` or subscription ids (GUIDs), comma separated')).optional(),
    ),
  ),
  COVERAGE_DESTINATIONS: setting(
    list(
      z
        .string()
        .regex(/^\/subscriptions\/[^/]+\/resourceGroups\/.+\/providers\/.+/i, 'must be Azure resource ids'),
    ).optional(),
  ),
  COVERAGE_REQUIRED_SOURCES: setting(list(z.enum(EVENT_SOURCES)).default([...DEFAULT_REQUIRED_SOURCES])),
  COVERAGE_REQUIRED_SEVERITIES: setting(
    list(z.enum(['High', 'Medium', 'Low', 'Informational'])).default(['High', 'Medium', 'Low']),
  ),
  COVERAGE_STALE_AFTER_HOURS: range(0, 8_760, 48, { integer: false, unit: 'hours (0 = off)' }),
  COVERAGE_SNAPSHOT_STALE_AFTER_DAYS: range(0, 365, 8, { integer: false, unit: 'days (0 = off)' }),
  COVERAGE_REMINDER_HOURS: range(0, 8_760, 24, { integer: false, unit: 'hours (0 = never)' }),
  COVERAGE_WEBHOOK_URL: setting(httpsUrl.optional()),
  COVERAGE_SCHEDULE: setting(z.string().default('0 0 */6 * * *')),
  COVERAGE_CONCURRENCY: range(1, 100, 16),
  // Where the estate is read: Resource Graph (a few paged queries for any number of subscriptions) or
  // Resource Manager (one call per subscription).
  COVERAGE_SOURCE: setting(
    z
      .preprocess(
        (value) => (typeof value === 'string' ? value.trim().toLowerCase() : value),
        z.enum(['resourcegraph', 'resourcemanager'], { error: 'must be resourcegraph or resourcemanager' }),
      )
      .default('resourcegraph'),
  ),
  // Over 18,000 subscriptions only Resource Manager lists them all (1,000 calls for 100,000): how often.
  COVERAGE_DISCOVERY_HOURS: range(1, 168, 24, { integer: false, unit: 'hours' }),
  COVERAGE_REMEDIATE: setting(flag),
  COVERAGE_REMEDIATION_RESOURCE_GROUP: setting(
    z
      .string()
      .regex(/^[-\w._()]{1,90}$/, 'must be a resource group name')
      .optional(),
  ),
  COVERAGE_REMEDIATION_NAME: setting(
    z
      .string()
      .regex(/^[-\w._]{1,260}$/, 'must be an automation name')
      .default('exportToEventHub'),
  ),
  COVERAGE_REMEDIATION_LOCATION: setting(
    z
      .string()
      .regex(/^[a-z0-9]+$/i, 'must be an Azure region name')
      .optional(),
  ),
  COVERAGE_REMEDIATION_ADOPT: setting(flag),
  BACKFILL_SCHEDULE: setting(z.string().default('0 30 * * * *')),
  // The current state of every subscription in scope, once, from the first backfill timer run on.
  BACKFILL_ON_DEPLOY: setting(flagDefaulting('true')),
  // A subscription whose coverage gap closed is backfilled at the next backfill timer run.
  BACKFILL_AFTER_RECOVERY: setting(flag),
});

const containerName = /^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

type Settings = z.output<typeof schema>;

/** The names of the app's own settings (infra/ sets each one: test/unit/infra.test.ts). */
export const SETTING_NAMES = Object.keys(schema.shape) as ReadonlyArray<keyof Settings>;

export type Config = Omit<Settings, 'ROUTES'> & {
  ROUTES: Rule[];
  /** Where the archive, parked and dead-letter containers live (ARCHIVE_STORAGE). */
  archiveStorage?: StorageConnection;
  /** Where the heartbeat (and later the coverage state) tables live (STATE_STORAGE). */
  stateStorage?: StorageConnection;
};

export interface LoadOptions {
  /**
   * Check what delivering events needs: the logs settings when ROUTES sends to logs, and the storage
   * connections. Off for commands that only transform (normalize).
   */
  delivery?: boolean;
  /** Check what the coverage reconciliation needs: destinations, and where remediation writes when it is on. */
  coverage?: boolean;
}

/** Settings whose value may legitimately hold `<…>`: a routing rule's name, an opaque local token. */
const FREE_TEXT = new Set<string>(['ROUTES', 'LOCAL_DEV_BEARER_TOKEN']);

/** Whether a setting still holds a placeholder copied from local.settings.sample.json. */
export function holdsPlaceholder(name: string, value: string | undefined): boolean {
  if (!value || FREE_TEXT.has(name)) return false;
  return PLACEHOLDER.test(value);
}

const issueText = (path: PropertyKey[], message: string) =>
  `${path.join('.')}: ${message.replace(/^Invalid input: /, '')}`;

/**
 * Reads and validates the settings. Every problem is reported at once, each naming its setting; values are
 * never echoed, since some settings are secrets.
 */
export function loadConfig(env: NodeJS.ProcessEnv, options: LoadOptions = {}): Config {
  const problems: string[] = [];
  // A placeholder is reported alone: "must be an https:// URL" would only hide why.
  const copied = new Set(SETTING_NAMES.filter((name) => holdsPlaceholder(name, env[name])));
  for (const name of copied) problems.push(placeholderProblem(name));
  const result = schema.safeParse(env);
  for (const issue of result.error?.issues ?? []) {
    if (!copied.has(issue.path[0] as keyof Settings)) problems.push(issueText(issue.path, issue.message));
  }

  // Read on its own so its problems are listed even when another setting is invalid too.
  const routesSetting = schema.shape.ROUTES.safeParse(env.ROUTES);
  const rawRoutes = routesSetting.success ? routesSetting.data : undefined;
  const routes =
    rawRoutes === undefined ? { rules: DEFAULT_ROUTES, problems: [] } : validateRoutes(rawRoutes);
  for (const problem of routes.problems)
    problems.push(`ROUTES${problem.startsWith('must') ? ': ' : '.'}${problem}`);

  for (const name of ['ARCHIVE_CONTAINER', 'PARKED_CONTAINER', 'DEADLETTER_CONTAINER'] as const) {
    const value = env[name]?.trim();
    if (value && !containerName.test(value)) problems.push(`${name}: is not a valid blob container name`);
  }

  const storage: Pick<Config, 'archiveStorage' | 'stateStorage'> = {};
  if (options.delivery !== false) {
    const rules = routes.rules ?? DEFAULT_ROUTES;
    if (rules.some((rule) => rule.to.some((d) => d.startsWith('logs')))) {
      for (const name of ['LOGS_INGESTION_ENDPOINT', 'LOGS_DCR_IMMUTABLE_ID'] as const) {
        if (!env[name]?.trim()) problems.push(`${name}: is required because ROUTES sends events to logs`);
      }
    }
    const archive = storageConnection(env, 'ARCHIVE_STORAGE', 'blob');
    if ('problem' in archive) problems.push(archive.problem);
    else storage.archiveStorage = archive;
  }
  if (options.delivery !== false || options.coverage) {
    const state = storageConnection(env, 'STATE_STORAGE', 'table');
    if ('problem' in state) problems.push(state.problem);
    else storage.stateStorage = state;
  }

  if (options.coverage && result.success) {
    const settings = result.data;
    if (!settings.COVERAGE_DESTINATIONS?.length) {
      problems.push(
        'COVERAGE_DESTINATIONS: is required: the Event Hub or workspace resource ids the exports must send to',
      );
    }
    if (settings.COVERAGE_REMEDIATE) {
      for (const name of ['COVERAGE_REMEDIATION_RESOURCE_GROUP', 'COVERAGE_REMEDIATION_LOCATION'] as const) {
        if (!settings[name]) problems.push(`${name}: is required because COVERAGE_REMEDIATE is true`);
      }
    }
  }

  // Two connections falling back to the same AzureWebJobsStorage would list its problem twice.
  if (problems.length > 0 || !result.success || !routes.rules) throw new ConfigError([...new Set(problems)]);
  return { ...result.data, ROUTES: routes.rules, ...storage };
}

/** What delivering events needs, all of it present: what the pipeline and the redrive are built from. */
export type DeliveryConfig = Config & { archiveStorage: StorageConnection; stateStorage: StorageConnection };

/** What the coverage reconciliation needs, all of it present. */
export type CoverageConfig = Config & { stateStorage: StorageConnection; COVERAGE_DESTINATIONS: string[] };

/** The settings for delivering events (replay, the Event Hub functions, the redrive); throws ConfigError. */
export function loadDeliveryConfig(env: NodeJS.ProcessEnv): DeliveryConfig {
  return loadConfig(env, { delivery: true }) as DeliveryConfig;
}

/** The settings for the coverage reconciliation; throws ConfigError. */
export function loadCoverageConfig(env: NodeJS.ProcessEnv): CoverageConfig {
  return loadConfig(env, { delivery: false, coverage: true }) as CoverageConfig;
}

/** The connection the Event Hub triggers name (functions/ingestDefender*.ts). */
const EVENTHUB_CONNECTION = 'EventHubConnection';

/** Everything a Functions worker runs on: delivery always, coverage when COVERAGE_DESTINATIONS is set. */
export interface WorkerConfig {
  delivery: DeliveryConfig;
  coverage?: CoverageConfig;
}

/** The worker's settings, validated together at start-up; throws ConfigError listing every problem. */
export function loadWorkerConfig(env: NodeJS.ProcessEnv): WorkerConfig {
  const coverage = Boolean(env.COVERAGE_DESTINATIONS?.trim());
  // The host reads the triggers' connection, not us; a placeholder in it still fails only at the first
  // batch, with the Event Hubs SDK's words. Refused here with the rest, at start-up.
  const hostConnection = Object.keys(env)
    .filter((name) => name === EVENTHUB_CONNECTION || name.startsWith(`${EVENTHUB_CONNECTION}__`))
    .filter((name) => PLACEHOLDER.test(env[name] ?? ''))
    .map(placeholderProblem);
  let config: Config;
  try {
    config = loadConfig(env, { delivery: true, coverage });
  } catch (error) {
    if (error instanceof ConfigError && hostConnection.length)
      throw new ConfigError([...hostConnection, ...error.problems]);
    throw error;
  }
  if (hostConnection.length) throw new ConfigError(hostConnection);
  return { delivery: config as DeliveryConfig, ...(coverage ? { coverage: config as CoverageConfig } : {}) };
}
