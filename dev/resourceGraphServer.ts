/*
 * A local https stand-in for Azure Resource Graph's query API, for the `backfill` command's tests, demo and
 * benchmark. What it follows, and where that comes from:
 *
 * Verified in the REST specification (Azure/azure-rest-api-specs, specification/resourcegraph/
 * resource-manager/Microsoft.ResourceGraph/stable/2021-03-01/resourcegraph.json and its examples;
 * stable/2022-10-01/examples/ResourcesFirstPageQuery.json and ResourcesNextPageQuery.json):
 * - `POST /providers/Microsoft.ResourceGraph/resources?api-version=…`, body QueryRequest `{ subscriptions?,
 *   managementGroups?, query (required), options?: { $skipToken, $top (1..1000), $skip (>= 0),
 *   resultFormat ('table' | 'objectArray', default objectArray), allowPartialScopes }, facets? }`.
 * - QueryResponse `{ totalRecords, count, resultTruncated: 'true' | 'false' (a string), $skipToken?, data,
 *   facets }`. A first page with `$top: 3` of 386 matching records answers count 3, totalRecords 386,
 *   resultTruncated 'false' and a `$skipToken`; the next request sends the same query and scopes with only
 *   `$skipToken`, and gets the next 3 (so the token carries the page size). `$top` overrides the page size and
 *   `$skip` the offset when a `$skipToken` is present. Types come back lower-cased
 *   ('microsoft.network/networkinterfaces'), ids in their ARM casing.
 * - Errors are ErrorResponse `{ error: { code, message, details?: [{ code, message, …any }] } }`.
 * - The operation exists in api-versions 2018-09-01-preview, 2019-04-01, 2020-04-01-preview,
 *   2021-03-01, 2021-06-01-preview, 2022-10-01 and 2024-04-01 (folders holding a Resources*Query example).
 *
 * Verified in the documentation (learn.microsoft.com/azure/governance/resource-graph/):
 * - concepts/guidance-for-throttled-requests: every answer carries `x-ms-user-quota-remaining` (int, maps
 *   to query count) and `x-ms-user-quota-resets-after` (hh:mm:ss); e.g. 15 queries per 5-second window.
 * - concepts/work-with-data and concepts/paging-results: at most 1000 records per answer; paging by
 *   `$skipToken`; `resultTruncated` is 'true' (and no `$skipToken`) only when paging is impossible (a
 *   `limit`/`take` in the query), so a paged answer says 'false'. Unsorted results are not repeatable:
 *   this stand-in always answers in id order.
 * - troubleshoot/general ("Too many subscriptions"): the REST API accepts at most 1000 subscriptions per
 *   request; callers batch them.
 *
 * Seen in service answers quoted in GitHub issues:
 * - An invalid query answers 400 `{"error":{"code":"BadRequest","message":"Please provide below info when
 *   asking for support: timestamp = …, correlationId = ….","details":[{"code":"InvalidQuery","message":
 *   "Query is invalid. Please refer to the documentation for the Azure Resource Graph service and fix the
 *   error before retrying."},{"code":"…","message":"…","line":…,"characterPositionInLine":…,"token":"…"}]}}`
 *   (payloads quoted in Azure/azure-powershell#13762 and scautomation/AzureResourceGraph-Examples#2).
 * - Throttling answers 429 `{"error":{"code":"RateLimiting","message":"Please provide below info …",
 *   "details":[{"code":"RateLimiting","message":"Client application has been throttled and should not
 *   attempt to repeat the request until an amount of time has elapsed. Please see
 *   https://aka.ms/resourcegraph-throttling for help."}]}}` (payload quoted in
 *   Azure/azure-cli-extensions#3325).
 *
 * The tables `resourcecontainers` and `resources`, for the coverage reconciler (facts, and where from):
 * - microsoft.resources/subscriptions is a type of `resourcecontainers` and microsoft.security/automations
 *   one of `resources` (MicrosoftDocs/azure-docs, articles/governance/resource-graph/reference/
 *   supported-tables-resources.md); table names are written in either case there and in the samples.
 * - A subscription row: id `/subscriptions/<id>`, `name` the display name (concepts/query-language.md joins
 *   `project SubName=name` as "the name of the subscription"), type 'microsoft.resources/subscriptions',
 *   subscriptionId, tenantId, resourceGroup '' and location '', tags, and `properties` { managedByTenants,
 *   managementGroupAncestorsChain [{ displayName, name }], state ('Enabled', …), subscriptionPolicies
 *   { locationPlacementId, quotaId, spendingLimit } } — no displayName in the properties (a whole row quoted
 *   in mia-platform/integration-connector-agent, docs/sources/mappings/azure/10_subscription.md; queries
 *   reading properties.state and properties.subscriptionPolicies.quotaId in the samples and in scripts).
 * - A `resources` row carries the properties the resource provider returns (overview.md, "How Resource
 *   Graph complements Azure Resource Manager"), so an automation's are those of its GET, secrets left out as
 *   there. The resourceGroup column comes back lower-cased while the id keeps its casing (seen in
 *   tomkerkhove/promitor#1492 and Azure/azure-dev#119).
 * - Results need at least read access to what they show: without it, nothing is returned for it, no error
 *   (overview.md, "Permissions in Azure Resource Graph"); and a subscription added during a session is not
 *   seen until the principal's context refreshes (same section) — the lag `graphHidden` in dev/armServer.ts
 *   stands for.
 * - A query that names no subscription (the tenant) or names management groups covers at most 18,000
 *   subscriptions; over that it answers 400 BadRequest with detail `TooManySubscriptionsUnderScope` (the
 *   service's answer quoted in Azure/cosmos-explorer#1986; troubleshoot/general, "Too many subscriptions",
 *   gives the resolution: batches of named subscriptions). `scopeLimit` sets the number.
 *
 * Not verified (chosen here, and said so):
 * - The answer to more than 1000 listed subscriptions: no code or message is documented; this answers 400
 *   `{"error":{"code":"BadRequest","message":…}}`.
 * - Which part of the estate `allowPartialScopes` answers over is not documented: this answers over all of
 *   it (the reader never sends it).
 * - Whether a 429 carries `Retry-After` (the docs point at `x-ms-user-quota-resets-after`): sent here, as
 *   retry policies read it. (@azure/arm-resourcegraph 4.2.1 retries no 429 at all: its deserialization
 *   policy throws before its throttling policy sees the answer, Azure/azure-sdk-for-js#7989.)
 * - The answer to a `$skipToken` sent with another query or other scopes: 400 BadRequest with detail
 *   `InvalidSkipToken` here. A query naming an unknown column answers like a parse failure, token = column.
 * - A `$top` over 1000 (the spec's maximum) is served as 1000 rather than refused.
 * - The api-version and authentication errors are Resource Manager's usual ones.
 * - Rows also carry the columns of Resource Graph's tables that GraphResource lacks (kind, managedBy, sku,
 *   plan, identity, zones, extendedLocation, and tags where a row has none), empty; their values for
 *   security resources are a guess.
 * - A table nobody gave rows to (`tables`) answers no rows, as a table the caller may read nothing in does.
 *
 * The query language is the subset `backfill` and the coverage reconciler write, and nothing else (anything
 * else answers 400 InvalidQuery): `<table> | where type =~ '<type>'` (or `==`, case-sensitive), the table
 * `securityresources`, `resources` or `resourcecontainers` in any case, then optionally
 * `| where properties.<a.b.c> =~ '<text>'`, then optionally
 * `| where todatetime(properties.<a.b.c>) >= datetime(<ISO 8601>)`, then optionally `| order by id asc`,
 * then optionally
 * `| project <column>, <column>…`. Management groups are accepted and hold every subscription; the listed
 * subscriptions filter every table (a subscription row's subscriptionId is its own).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';

/** A row of a table (`securityresources`, `resources`, `resourcecontainers`). */
export interface GraphResource {
  id: string;
  name: string;
  /** Lower-cased, as Resource Graph returns it, e.g. 'microsoft.security/assessments'. */
  type: string;
  tenantId: string;
  subscriptionId: string;
  resourceGroup: string;
  location: string;
  tags?: Record<string, string> | null;
  properties: Record<string, unknown>;
}

/**
 * A table's rows, asked for at every request. The sorted and filtered rows are kept while it returns the
 * same array: return another one when rows are added, removed or replaced. A row's values may change in
 * place (answers show them), but a `where` on them is judged again only with another array.
 */
export type GraphTable = () => readonly GraphResource[];

export interface GraphTables {
  resources?: GraphTable;
  resourcecontainers?: GraphTable;
}

export interface GraphRequest {
  /** How many subscriptions the request listed (0: none, the whole tenant). */
  subscriptions: number;
  query: string;
  skipToken?: string;
  top?: number;
  status: number;
  at: number;
}

/** A planned failure of the next `times` requests that `when` selects (default: every one). */
export interface GraphFault {
  /** Default 429, answered as Resource Graph throttles (RateLimiting); others as `{"error":{"code"}}`. */
  status?: number;
  /** Sent as Retry-After; a 429 always sends one (default 1). */
  retryAfterSeconds?: number;
  /** Default 1; Infinity until clearFaults(). */
  times?: number;
  when?: (request: { query: string; skipToken?: string }) => boolean;
}

export interface ResourceGraphStandIn {
  url: string;
  token: string;
  /** `securityresources`: change it between requests (push, splice, assign) and the next answer follows. */
  resources: GraphResource[];
  /** Gives the named tables their rows (the others keep theirs), e.g. once the estate they derive from exists. */
  setTables(tables: GraphTables): void;
  requests: GraphRequest[];
  inject(fault: GraphFault): void;
  clearFaults(): void;
  close(): Promise<void>;
}

export interface ResourceGraphOptions {
  cert: string;
  key: string;
  token?: string;
  /** The `securityresources` table. */
  resources: GraphResource[];
  tables?: GraphTables;
  /** Most rows in one answer (default 1000, the service's own cap). */
  pageSize?: number;
  /** Added before every answer, like the round trip to the service. */
  latencyMs?: number;
  /**
   * Most subscriptions a query that names none (the tenant) or names management groups may cover: more
   * answers 400 TooManySubscriptionsUnderScope (default SCOPE_LIMIT, as the service says it).
   */
  scopeLimit?: number;
  /**
   * The user's quota: every answer counts and carries the quota headers; once spent, answers are 429
   * RateLimiting with Retry-After until the window ends. Without it, nothing is throttled and no quota
   * headers are sent.
   */
  quota?: { requests: number; windowSeconds: number };
  port?: number;
}

export const API_VERSIONS = [
  '2018-09-01-preview',
  '2019-04-01',
  '2020-04-01-preview',
  '2021-03-01',
  '2021-06-01-preview',
  '2022-10-01',
  '2024-04-01',
];
export const MAX_SUBSCRIPTIONS = 1000;
/** Subscriptions under a tenant or management group scope (the service's answer, Azure/cosmos-explorer#1986). */
export const SCOPE_LIMIT = 18_000;
export const MAX_ROWS = 1000;
const PATH = '/providers/microsoft.resourcegraph/resources';
const NO_ROWS: readonly GraphResource[] = [];
const COLUMNS = [
  'id',
  'name',
  'type',
  'tenantId',
  'kind',
  'location',
  'resourceGroup',
  'subscriptionId',
  'managedBy',
  'sku',
  'plan',
  'properties',
  'tags',
  'identity',
  'zones',
  'extendedLocation',
];

interface ErrorDetail {
  code: string;
  message: string;
  [more: string]: unknown;
}

const error = (code: string, message: string, details?: ErrorDetail[]) => ({
  error: details ? { code, message, details } : { code, message },
});

const supportMessage = () =>
  `Please provide below info when asking for support: timestamp = ${new Date().toISOString()}, correlationId = ${randomUUID()}.`;

const badRequest = (message: string, details?: ErrorDetail[]) => error('BadRequest', message, details);

const rateLimiting = () =>
  error('RateLimiting', supportMessage(), [
    {
      code: 'RateLimiting',
      message:
        'Client application has been throttled and should not attempt to repeat the request until an amount of time has elapsed. Please see https://aka.ms/resourcegraph-throttling for help.',
    },
  ]);

const FAULT_CODES: Record<number, string> = {
  500: 'InternalServerError',
  502: 'BadGateway',
  503: 'ServiceUnavailable',
  504: 'GatewayTimeout',
};

// ---- The query language ------------------------------------------------------------------------------

type TableName = 'securityresources' | keyof GraphTables;

interface GraphQuery {
  table: TableName;
  type: string;
  caseSensitive: boolean;
  /** `where properties.<path> =~ '<value>'`: a string property equal to a value, whatever the case. */
  equals?: { path: string[]; value: string };
  since?: { path: string[]; at: number };
  columns?: string[];
}

interface QueryFailure {
  token: string;
  offset: number;
}

const TABLE = /^\s*(securityresources|resources|resourcecontainers)\s*$/i;
const WHERE_TYPE = /^\s*where\s+type\s*(=~|==)\s*(?:'([^']*)'|"([^"]*)")\s*$/;
const WHERE_SINCE =
  /^\s*where\s+todatetime\s*\(\s*properties((?:\s*\.\s*[A-Za-z_]\w*)+)\s*\)\s*>=\s*datetime\s*\(\s*(?:'([^']*)'|"([^"]*)"|([^'"\s)][^)]*?))\s*\)\s*$/;
const WHERE_EQUALS = /^\s*where\s+properties((?:\s*\.\s*[A-Za-z_]\w*)+)\s*=~\s*(?:'([^']*)'|"([^"]*)")\s*$/;
const ORDER_BY_ID = /^\s*(?:order|sort)\s+by\s+id(?:\s+asc)?\s*$/i;
const PROJECT = /^\s*project\s+([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*$/;

/** A KQL datetime literal or a property value as `todatetime` reads it; no zone means UTC. */
function parseKqlDate(text: string): number | undefined {
  let iso = text.trim().replace(/^(\d{4}-\d{2}-\d{2})[ T]/, '$1T');
  if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) iso += 'T00:00:00Z';
  else if (!/(Z|[+-]\d{2}:?\d{2})$/i.test(iso)) iso += 'Z';
  const at = Date.parse(iso);
  return Number.isNaN(at) ? undefined : at;
}

/** Splits on `|` outside quotes, keeping where each part starts (for the error's position). */
function stages(text: string): Array<{ text: string; offset: number }> {
  const parts: Array<{ text: string; offset: number }> = [];
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '|') {
      parts.push({ text: text.slice(start, i), offset: start });
      start = i + 1;
    }
  }
  parts.push({ text: text.slice(start), offset: start });
  return parts;
}

function parseQuery(text: string): GraphQuery | QueryFailure {
  const parts = stages(text);
  const fail = (part: { text: string; offset: number } | undefined): QueryFailure => {
    if (!part) return { token: '<end of query>', offset: text.length };
    const lead = part.text.length - part.text.trimStart().length;
    return { token: part.text.trim().split(/\s+/)[0] || '|', offset: part.offset + lead };
  };
  const [from, byType, ...rest] = parts;
  const table = from && TABLE.exec(from.text);
  if (!table) return fail(from);
  const type = byType && WHERE_TYPE.exec(byType.text);
  if (!type) return fail(byType);
  const query: GraphQuery = {
    table: table[1]!.toLowerCase() as TableName,
    type: type[2] ?? type[3] ?? '',
    caseSensitive: type[1] === '==',
  };
  let next = rest.shift();
  const equals = next && WHERE_EQUALS.exec(next.text);
  if (next && equals) {
    query.equals = { path: pathOf(equals[1]!), value: equals[2] ?? equals[3] ?? '' };
    next = rest.shift();
  }
  const since = next && WHERE_SINCE.exec(next.text);
  if (next && since) {
    const at = parseKqlDate(since[2] ?? since[3] ?? since[4] ?? '');
    if (at === undefined) return fail(next);
    query.since = { path: pathOf(since[1]!), at };
    next = rest.shift();
  }
  // Rows are answered in id order anyway; an explicit `order by id asc` asks for just that.
  if (next && ORDER_BY_ID.test(next.text)) next = rest.shift();
  const project = next && PROJECT.exec(next.text);
  if (next && project) {
    const columns = project[1]!.split(',').map((c) => c.trim());
    const unknown = columns.find((c) => !COLUMNS.includes(c));
    if (unknown) return { token: unknown, offset: next.offset + next.text.indexOf(unknown) };
    query.columns = columns;
    next = rest.shift();
  }
  return next ? fail(next) : query;
}

const pathOf = (dotted: string) =>
  dotted
    .split('.')
    .map((s) => s.trim())
    .filter(Boolean);

function invalidQuery(text: string, failure: QueryFailure) {
  const before = text.slice(0, failure.offset).split('\n');
  return badRequest(supportMessage(), [
    {
      code: 'InvalidQuery',
      message:
        'Query is invalid. Please refer to the documentation for the Azure Resource Graph service and fix the error before retrying.',
    },
    {
      code: 'ParserFailure',
      message: 'ParserFailure',
      line: before.length,
      characterPositionInLine: before[before.length - 1]!.length,
      token: failure.token,
    },
  ]);
}

function propertyAt(properties: Record<string, unknown>, path: string[]): unknown {
  let value: unknown = properties;
  for (const key of path) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function matches(query: GraphQuery, resource: GraphResource): boolean {
  const typeMatches = query.caseSensitive
    ? resource.type === query.type
    : resource.type.toLowerCase() === query.type.toLowerCase();
  if (!typeMatches) return false;
  if (query.equals) {
    const value = propertyAt(resource.properties, query.equals.path);
    if (typeof value !== 'string' || value.toLowerCase() !== query.equals.value.toLowerCase()) return false;
  }
  if (!query.since) return true;
  const value = propertyAt(resource.properties, query.since.path);
  const at = typeof value === 'string' ? parseKqlDate(value) : undefined;
  return at !== undefined && at >= query.since.at;
}

function row(resource: GraphResource, columns: string[] | undefined): Record<string, unknown> {
  const full: Record<string, unknown> = {
    id: resource.id,
    name: resource.name,
    type: resource.type,
    tenantId: resource.tenantId,
    kind: '',
    location: resource.location,
    resourceGroup: resource.resourceGroup,
    subscriptionId: resource.subscriptionId,
    managedBy: '',
    sku: null,
    plan: null,
    properties: resource.properties,
    tags: resource.tags ?? null,
    identity: null,
    zones: null,
    extendedLocation: null,
  };
  return columns ? Object.fromEntries(columns.map((c) => [c, full[c]])) : full;
}

// ---- Paging and quota -------------------------------------------------------------------------------

interface Cursor {
  offset: number;
  size: number;
  scope: string;
}

/** What a skip token is bound to: the query text and the scopes, as the service requires them unchanged. */
const scopeOf = (query: string, subscriptions: string[], groups: string[]) =>
  createHash('sha256')
    .update(
      JSON.stringify([
        query,
        subscriptions.map((s) => s.toLowerCase()).sort(),
        groups.map((g) => g.toLowerCase()).sort(),
      ]),
    )
    .digest('base64url')
    .slice(0, 22);

const encodeCursor = (cursor: Cursor) =>
  Buffer.from(JSON.stringify({ o: cursor.offset, n: cursor.size, h: cursor.scope })).toString('base64');

function decodeCursor(token: string): Cursor | undefined {
  try {
    const { o, n, h } = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as Record<string, unknown>;
    if (!Number.isInteger(o) || !Number.isInteger(n) || typeof h !== 'string') return undefined;
    if ((o as number) < 0 || (n as number) < 1) return undefined;
    return { offset: o as number, size: n as number, scope: h };
  } catch {
    return undefined;
  }
}

const hhmmss = (ms: number) => {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`;
};

/** Fixed windows starting at the first request after the previous one ended, as the docs' example shows. */
function createQuota({ requests, windowSeconds }: { requests: number; windowSeconds: number }) {
  const windowMs = windowSeconds * 1000;
  let start = -Infinity;
  let used = 0;
  const roll = (now: number) => {
    if (now - start >= windowMs) {
      start = now;
      used = 0;
    }
  };
  return {
    exhausted(now: number) {
      roll(now);
      return used >= requests;
    },
    retryAfterSeconds: (now: number) => Math.max(1, Math.ceil((start + windowMs - now) / 1000)),
    take(now: number): Record<string, string> {
      roll(now);
      used = Math.min(used + 1, requests);
      return {
        'x-ms-user-quota-remaining': String(requests - used),
        'x-ms-user-quota-resets-after': hhmmss(start + windowMs - now),
      };
    },
  };
}

// ---- The server ---------------------------------------------------------------------------------------

interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const isStringArray = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((s) => typeof s === 'string');

/** The stand-in without its own server: what `dev/armServer.ts` mounts at Resource Manager's address. */
export interface ResourceGraphHandler extends Omit<ResourceGraphStandIn, 'url' | 'close'> {
  /** Answers one request (after the configured latency). */
  handle(req: IncomingMessage, res: ServerResponse): void;
}

/** An https Resource Graph on a port of its own. */
export async function startResourceGraphStandIn(
  options: ResourceGraphOptions,
): Promise<ResourceGraphStandIn> {
  const graph = resourceGraphHandler(options);
  const server = createServer({ cert: options.cert, key: options.key }, graph.handle);
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { handle: _handle, ...standIn } = graph;
  return {
    ...standIn,
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Resource Graph's answers, for a server of its own or mounted in another (`handle`). */
export function resourceGraphHandler(
  options: Omit<ResourceGraphOptions, 'cert' | 'key' | 'port'>,
): ResourceGraphHandler {
  const token = options.token ?? randomUUID();
  const pageSize = Math.min(options.pageSize ?? MAX_ROWS, MAX_ROWS);
  const quota = options.quota && createQuota(options.quota);
  const requests: GraphRequest[] = [];
  let faults: Array<GraphFault & { left: number }> = [];

  // Answers reuse the sorted and filtered rows while a table's array stays the same: the benchmarks page
  // through 100k rows, and sorting them again for every page would dominate them. `securityresources` is
  // copied into a new array after every write to it (a version bumped by the proxy).
  const table = [...options.resources];
  let version = 0;
  const resources = new Proxy(table, {
    set(target, key, value) {
      version++;
      return Reflect.set(target, key, value);
    },
    deleteProperty(target, key) {
      version++;
      return Reflect.deleteProperty(target, key);
    },
  });
  let snapshot: { version: number; rows: readonly GraphResource[] } | undefined;
  let tables: GraphTables = { ...options.tables };
  /** A table's provider is asked once per request: what it answered, for the request being answered. */
  const asked = new Map<TableName, readonly GraphResource[]>();
  const rowsOf = (name: TableName): readonly GraphResource[] => {
    if (name !== 'securityresources') {
      let rows = asked.get(name);
      if (!rows) asked.set(name, (rows = tables[name]?.() ?? NO_ROWS));
      return rows;
    }
    if (snapshot?.version !== version) snapshot = { version, rows: [...table] };
    return snapshot.rows;
  };
  const scopeLimit = options.scopeLimit ?? SCOPE_LIMIT;
  const counted = new WeakMap<readonly GraphResource[], number>();
  /** The subscriptions a tenant-wide query covers: those `resourcecontainers` holds. */
  const subscriptionsUnderTenant = () => {
    const containers = rowsOf('resourcecontainers');
    let count = counted.get(containers);
    if (count === undefined) {
      count = containers.filter((r) => r.type === 'microsoft.resources/subscriptions').length;
      counted.set(containers, count);
    }
    return count;
  };
  const sorted = new WeakMap<readonly GraphResource[], GraphResource[]>();
  const results = new Map<string, { source: readonly GraphResource[]; rows: GraphResource[] }>();
  const select = (name: TableName, key: string, keep: (r: GraphResource) => boolean): GraphResource[] => {
    const source = rowsOf(name);
    const cached = results.get(key);
    if (cached?.source === source) return cached.rows;
    let inOrder = sorted.get(source);
    if (!inOrder) {
      inOrder = [...source].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      sorted.set(source, inOrder);
    }
    const rows = inOrder.filter(keep);
    results.delete(key);
    if (results.size >= 16) results.delete(results.keys().next().value!);
    results.set(key, { source, rows });
    return rows;
  };

  const query = (body: Record<string, unknown>): Answer => {
    asked.clear();
    const text = body.query;
    if (typeof text !== 'string' || !text.trim()) {
      return { status: 400, body: badRequest("The request must have a 'query'.") };
    }
    const subscriptions = body.subscriptions ?? [];
    const groups = body.managementGroups ?? [];
    if (!isStringArray(subscriptions) || !isStringArray(groups)) {
      return {
        status: 400,
        body: badRequest("'subscriptions' and 'managementGroups' must be arrays of strings."),
      };
    }
    if (subscriptions.length > MAX_SUBSCRIPTIONS) {
      return {
        status: 400,
        body: badRequest(
          `The request lists ${subscriptions.length} subscriptions; at most ${MAX_SUBSCRIPTIONS} are allowed. Batch the subscriptions into requests of ${MAX_SUBSCRIPTIONS} or fewer.`,
        ),
      };
    }
    const opts = (body.options ?? {}) as Record<string, unknown>;
    if (opts.resultFormat !== undefined && opts.resultFormat !== 'objectArray') {
      return {
        status: 400,
        body: badRequest(
          `This stand-in answers only resultFormat 'objectArray', not '${String(opts.resultFormat)}'.`,
        ),
      };
    }
    const top = opts.$top;
    const skip = opts.$skip;
    if (top !== undefined && !(Number.isInteger(top) && (top as number) >= 1)) {
      return { status: 400, body: badRequest("'$top' must be a positive integer.") };
    }
    if (skip !== undefined && !(Number.isInteger(skip) && (skip as number) >= 0)) {
      return { status: 400, body: badRequest("'$skip' must be a non-negative integer.") };
    }

    const parsed = parseQuery(text);
    if ('token' in parsed) return { status: 400, body: invalidQuery(text, parsed) };
    if (subscriptions.length === 0 && subscriptionsUnderTenant() > scopeLimit && !opts.allowPartialScopes) {
      return {
        status: 400,
        body: badRequest(supportMessage(), [
          {
            code: 'TooManySubscriptionsUnderScope',
            message: `The number of subscriptions under provided tenant or management groups in the request has exceeded the allowed limit ${scopeLimit}. Please select a more granular scope or allow partial scopes results by passing AllowPartialScopes flag in the query options.`,
          },
        ]),
      };
    }

    const scope = scopeOf(text, subscriptions, groups);
    let cursor: Cursor | undefined;
    if (opts.$skipToken !== undefined) {
      cursor = typeof opts.$skipToken === 'string' ? decodeCursor(opts.$skipToken) : undefined;
      if (cursor?.scope !== scope) {
        return {
          status: 400,
          body: badRequest(supportMessage(), [
            {
              code: 'InvalidSkipToken',
              message:
                'The $skipToken is invalid, or was issued for another query or other scopes: send it with the same query and scopes as the request that returned it.',
            },
          ]),
        };
      }
    }

    const wanted = new Set(subscriptions.map((s) => s.toLowerCase()));
    const rows = select(
      parsed.table,
      scope,
      (r) => (wanted.size === 0 || wanted.has(r.subscriptionId.toLowerCase())) && matches(parsed, r),
    );
    const size = Math.min((top as number | undefined) ?? cursor?.size ?? pageSize, pageSize);
    const offset = (skip as number | undefined) ?? cursor?.offset ?? 0;
    const page = rows.slice(offset, offset + size);
    const next =
      offset + size < rows.length ? encodeCursor({ offset: offset + size, size, scope }) : undefined;
    return {
      status: 200,
      body: {
        totalRecords: rows.length,
        count: page.length,
        resultTruncated: 'false',
        ...(next ? { $skipToken: next } : {}),
        data: page.map((r) => row(r, parsed.columns)),
        facets: [],
      },
    };
  };

  const handle = async (req: IncomingMessage, log: GraphRequest): Promise<Answer> => {
    const text = await readBody(req);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const fields = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const opts = (
      typeof fields.options === 'object' && fields.options !== null ? fields.options : {}
    ) as Record<string, unknown>;
    log.query = typeof fields.query === 'string' ? fields.query : '';
    log.subscriptions = Array.isArray(fields.subscriptions) ? fields.subscriptions.length : 0;
    if (typeof opts.$skipToken === 'string') log.skipToken = opts.$skipToken;
    if (typeof opts.$top === 'number') log.top = opts.$top;

    const fault = faults.find(
      (f) =>
        f.left > 0 &&
        (!f.when || f.when({ query: log.query, ...(log.skipToken ? { skipToken: log.skipToken } : {}) })),
    );
    if (fault) {
      fault.left--;
      const status = fault.status ?? 429;
      const retryAfter = fault.retryAfterSeconds ?? (status === 429 ? 1 : undefined);
      return {
        status,
        body:
          status === 429
            ? rateLimiting()
            : error(FAULT_CODES[status] ?? `Injected${status}`, 'injected by the stand-in'),
        headers: retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) },
      };
    }

    const url = new URL(req.url ?? '/', 'https://localhost');
    if (url.pathname.replace(/\/+$/, '').toLowerCase() !== PATH) {
      return { status: 404, body: error('NotFound', `No route for ${url.pathname}.`) };
    }
    if (req.method !== 'POST') {
      return {
        status: 405,
        body: error('MethodNotAllowed', `${req.method} is not supported here; use POST.`),
      };
    }
    if (req.headers.authorization !== `Bearer ${token}`) {
      return {
        status: 401,
        body: error(
          'AuthenticationFailed',
          "Authentication failed. The 'Authorization' header is missing or invalid.",
        ),
      };
    }
    const now = Date.now();
    if (quota?.exhausted(now)) {
      return {
        status: 429,
        body: rateLimiting(),
        headers: { 'retry-after': String(quota.retryAfterSeconds(now)) },
      };
    }
    const apiVersion = url.searchParams.get('api-version');
    if (!apiVersion) {
      return {
        status: 400,
        body: error(
          'MissingApiVersionParameter',
          'The api-version query parameter (?api-version=) is required for all requests.',
        ),
      };
    }
    if (!API_VERSIONS.includes(apiVersion)) {
      return {
        status: 400,
        body: error(
          'InvalidApiVersionParameter',
          `The api-version '${apiVersion}' is invalid. The supported versions are '${API_VERSIONS.join(',')}'.`,
        ),
      };
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return {
        status: 400,
        body: error(
          'InvalidRequestContent',
          'The request content was invalid and could not be deserialized.',
        ),
      };
    }
    return query(body as Record<string, unknown>);
  };

  const send = (res: ServerResponse, answer: Answer) => {
    res
      .writeHead(answer.status, {
        'content-type': 'application/json; charset=utf-8',
        'x-ms-request-id': randomUUID(),
        'x-ms-correlation-request-id': randomUUID(),
        ...(quota ? quota.take(Date.now()) : {}),
        ...answer.headers,
      })
      .end(JSON.stringify(answer.body));
  };

  const handleOne = (req: IncomingMessage, res: ServerResponse) => {
    const log: GraphRequest = { subscriptions: 0, query: '', status: 0, at: Date.now() };
    setTimeout(() => {
      handle(req, log)
        .catch((e: unknown): Answer => ({ status: 500, body: error('InternalServerError', String(e)) }))
        .then((answer) => {
          log.status = answer.status;
          requests.push(log);
          send(res, answer);
        });
    }, options.latencyMs ?? 0);
  };
  return {
    token,
    resources,
    setTables: (more) => {
      tables = { ...tables, ...more };
    },
    requests,
    handle: handleOne,
    inject: (fault) => faults.push({ ...fault, left: fault.times ?? 1 }),
    clearFaults: () => {
      faults = [];
    },
  };
}
