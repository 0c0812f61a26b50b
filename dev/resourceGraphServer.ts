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
 * - concepts/query-language.md, its table of supported tabular operators: `join` flavours innerunique,
 *   inner and leftouter (later revisions add fullouter), "Limit of 3 `join` in a single query, 1 of which
 *   may be a cross-table `join`. If all cross-table `join` use is between _Resource_ and
 *   _ResourceContainers_, then 3 cross-table `join` are allowed." — so one join of `resourcecontainers`
 *   with `resources` is allowed; and of `summarize`: "Simplified first page only" (read below). The same
 *   page, "Resource Graph tables": a join's result "blends the columns together and any duplicate column
 *   names from the joined table … are appended with **1**", and a `project` before the join must keep the
 *   column the join relates the tables on.
 * - `make_list` (in `summarize`, after a `join kind=leftouter`) is used in the official sample "List all
 *   extensions installed on a virtual machine" (samples/advanced.md); `pack` and `make_list` are otherwise
 *   taken from KQL as it is documented, not checked against the service here.
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
 * - "Simplified first page only", read here as: a query that summarizes answers its first page and no
 *   other — at most the page size (`$top`, at most 1000) rows, never a `$skipToken`, `$skip` and a
 *   `$skipToken` not honoured, `resultTruncated` 'true' when more rows matched (else 'false'), totalRecords
 *   all of them.
 * - The join: the right side is read under the request's subscriptions, as every table is; its key and
 *   summarize's groups are compared lower-cased (KQL compares strings exactly; subscriptionId has the same
 *   case in both tables); a left row without right rows gets null in every right column (the list, and
 *   `subscriptionId1` when no final `project` drops it) — the service may answer '' for a string column;
 *   the joined rows come in the left's id order, and a list in id order (KQL promises no order of either).
 *
 * The query language is the subset `backfill` and the coverage reconciler write, and nothing else (anything
 * else answers 400 InvalidQuery, the ParserFailure's token the first word, column or function not
 * understood): a source `<table> | where type =~ '<type>'` (or `==`, case-sensitive), the table
 * `securityresources`, `resources` or `resourcecontainers` in any case, then optionally
 * `| where properties.<a.b.c> =~ '<text>'`, then optionally
 * `| where todatetime(properties.<a.b.c>) >= datetime(<ISO 8601>)`, then optionally `| order by id asc`;
 * then optionally `| project <column>, <column>…`; then optionally
 * `| join kind=leftouter ( <source> | project subscriptionId, <item> = pack('<key>', <column>, …)
 * | summarize <list> = make_list(<item>) by subscriptionId ) on subscriptionId` (the project may also name
 * plain columns, and make_list one of them), then optionally `| project …` of the joined columns (the
 * left's, `subscriptionId1`, `<list>`). Stages split on `|` outside quotes and brackets. Management groups
 * are accepted and hold every subscription; the listed subscriptions filter every table, a join's right
 * side included (a subscription row's subscriptionId is its own).
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

/** A table read through `where`s: a whole query's source, or the right side of its join. */
interface GraphFilter {
  table: TableName;
  type: string;
  caseSensitive: boolean;
  /** `where properties.<path> =~ '<value>'`: a string property equal to a value, whatever the case. */
  equals?: { path: string[]; value: string };
  since?: { path: string[]; at: number };
}

interface GraphQuery extends GraphFilter {
  /** The left side's `project` (before any join). */
  columns?: string[];
  join?: GraphJoin;
  /** The query summarizes: Resource Graph answers its first page only. */
  summarized: boolean;
}

/**
 * `join kind=leftouter (<right> | project subscriptionId, <item> = pack(…) | summarize <list> =
 * make_list(<item>) by subscriptionId) on subscriptionId`, then optionally `| project …`.
 */
interface GraphJoin {
  right: GraphFilter;
  /** What make_list collects from each right row: a column's value, or an object packed from columns. */
  item: { column: string } | { pack: Array<[key: string, column: string]> };
  /** The left side's columns, then the right's key and list as the join names them (see uniqueName). */
  left: string[];
  key: string;
  list: string;
  /** The final `project`: columns of the joined rows. */
  columns?: string[];
}

interface QueryFailure {
  token: string;
  offset: number;
}

interface Part {
  text: string;
  offset: number;
}

const TABLE = /^\s*(securityresources|resources|resourcecontainers)\s*$/i;
const WHERE_TYPE = /^\s*where\s+type\s*(=~|==)\s*(?:'([^']*)'|"([^"]*)")\s*$/;
const WHERE_SINCE =
  /^\s*where\s+todatetime\s*\(\s*properties((?:\s*\.\s*[A-Za-z_]\w*)+)\s*\)\s*>=\s*datetime\s*\(\s*(?:'([^']*)'|"([^"]*)"|([^'"\s)][^)]*?))\s*\)\s*$/;
const WHERE_EQUALS = /^\s*where\s+properties((?:\s*\.\s*[A-Za-z_]\w*)+)\s*=~\s*(?:'([^']*)'|"([^"]*)")\s*$/;
const ORDER_BY_ID = /^\s*(?:order|sort)\s+by\s+id(?:\s+asc)?\s*$/i;
const PROJECT = /^\s*project\s+([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*$/;
const JOIN = /^\s*join\b/;
const JOIN_PARTS = /^(\s*join\s+kind\s*=\s*)([A-Za-z]+)(\s*\()([\s\S]*)\)(\s*on\s+)([A-Za-z_]\w*)\s*$/;
const PROJECT_ANY = /^(\s*project\s+)([\s\S]+)$/;
const NAME = /^\s*([A-Za-z_]\w*)\s*$/;
const CALL = /^(\s*)([A-Za-z_]\w*)(\s*=\s*)([A-Za-z_]\w*)(\s*\()([\s\S]*)\)\s*$/;
const LITERAL = /^\s*(?:'([^']*)'|"([^"]*)")\s*$/;
const SUMMARIZE =
  /^(\s*summarize\s+)([A-Za-z_]\w*)(\s*=\s*)([A-Za-z_]\w*)(\s*\(\s*)([A-Za-z_]\w*)(\s*\)\s+by\s+)([A-Za-z_]\w*)\s*$/;
const KEY = 'subscriptionId';

/** A KQL datetime literal or a property value as `todatetime` reads it; no zone means UTC. */
function parseKqlDate(text: string): number | undefined {
  let iso = text.trim().replace(/^(\d{4}-\d{2}-\d{2})[ T]/, '$1T');
  if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) iso += 'T00:00:00Z';
  else if (!/(Z|[+-]\d{2}:?\d{2})$/i.test(iso)) iso += 'Z';
  const at = Date.parse(iso);
  return Number.isNaN(at) ? undefined : at;
}

/**
 * Splits on `separator` outside quotes and brackets, keeping where each part starts in the whole query
 * (`offset` is where `text` starts in it), for the error's position.
 */
function split(text: string, separator: string, offset = 0): Part[] {
  const parts: Part[] = [];
  let quote: string | undefined;
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '(' || c === '[') depth++;
    else if ((c === ')' || c === ']') && depth > 0) depth--;
    else if (c === separator && depth === 0) {
      parts.push({ text: text.slice(start, i), offset: offset + start });
      start = i + 1;
    }
  }
  parts.push({ text: text.slice(start), offset: offset + start });
  return parts;
}

/** The stages of a query: split on `|` outside quotes and parentheses. */
const stages = (text: string, offset = 0) => split(text, '|', offset);

/** A failure at a part's first word. */
function firstWord(part: Part): QueryFailure {
  const lead = part.text.length - part.text.trimStart().length;
  return { token: part.text.trim().split(/[\s(]+/)[0] || '|', offset: part.offset + lead };
}

/** A failure at `token`, found in the part at or after `from` (characters into it). */
const tokenIn = (part: Part, token: string, from = 0): QueryFailure => ({
  token,
  offset: part.offset + Math.max(0, part.text.indexOf(token, from)),
});

/** `<table> | where type … [| where properties… =~ …] [| where todatetime(…) >= …] [| order by id asc]`. */
function parseFilter(parts: Part[], end: QueryFailure): { filter: GraphFilter; next: number } | QueryFailure {
  const [from, byType] = parts;
  const table = from && TABLE.exec(from.text);
  if (!table) return from ? firstWord(from) : end;
  const type = byType && WHERE_TYPE.exec(byType.text);
  if (!type) return byType ? firstWord(byType) : end;
  const filter: GraphFilter = {
    table: table[1]!.toLowerCase() as TableName,
    type: type[2] ?? type[3] ?? '',
    caseSensitive: type[1] === '==',
  };
  let next = 2;
  const textAt = (i: number) => parts[i]?.text ?? '';
  const equals = WHERE_EQUALS.exec(textAt(next));
  if (equals) {
    filter.equals = { path: pathOf(equals[1]!), value: equals[2] ?? equals[3] ?? '' };
    next++;
  }
  const since = WHERE_SINCE.exec(textAt(next));
  if (since) {
    const at = parseKqlDate(since[2] ?? since[3] ?? since[4] ?? '');
    if (at === undefined) return firstWord(parts[next]!);
    filter.since = { path: pathOf(since[1]!), at };
    next++;
  }
  // Rows are answered in id order anyway; an explicit `order by id asc` asks for just that.
  if (ORDER_BY_ID.test(textAt(next))) next++;
  return { filter, next };
}

/** `project a, b, …` over `available` columns; undefined when the part is no such project. */
function parseProject(part: Part | undefined, available: string[]): string[] | QueryFailure | undefined {
  const project = part && PROJECT.exec(part.text);
  if (!part || !project) return undefined;
  const columns = project[1]!.split(',').map((c) => c.trim());
  const unknown = columns.find((c) => !available.includes(c));
  return unknown ? tokenIn(part, unknown, part.text.indexOf('project') + 7) : columns;
}

/** A column name the join output does not hold yet: Kusto appends 1 (then 2, …) to a duplicate. */
function uniqueName(name: string, taken: string[]): string {
  if (!taken.includes(name)) return name;
  for (let n = 1; ; n++) if (!taken.includes(`${name}${n}`)) return `${name}${n}`;
}

/** `pack('<key>', <column>, …)`'s arguments. */
function parsePack(args: Part[]): Array<[string, string]> | QueryFailure {
  const last = args[args.length - 1]!;
  if (args.length % 2 !== 0 || !args[0]!.text.trim()) {
    return { token: ')', offset: last.offset + last.text.length };
  }
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i < args.length; i += 2) {
    const key = LITERAL.exec(args[i]!.text);
    if (!key) return firstWord(args[i]!);
    const column = NAME.exec(args[i + 1]!.text)?.[1];
    if (!column || !COLUMNS.includes(column)) return firstWord(args[i + 1]!);
    pairs.push([key[1] ?? key[2] ?? '', column]);
  }
  return pairs;
}

/** `join kind=leftouter ( <right> ) on subscriptionId`, its left side's columns `left`. */
function parseJoin(part: Part, left: string[]): GraphJoin | QueryFailure {
  const m = JOIN_PARTS.exec(part.text);
  if (!m) return firstWord(part);
  const kindAt = part.offset + m[1]!.length;
  const innerAt = kindAt + m[2]!.length + m[3]!.length;
  const keyAt = innerAt + m[4]!.length + 1 + m[5]!.length;
  if (m[2] !== 'leftouter') return { token: m[2]!, offset: kindAt };
  if (m[6] !== KEY || !left.includes(KEY)) return { token: m[6]!, offset: keyAt };

  const parts = stages(m[4]!, innerAt);
  const end: QueryFailure = { token: ')', offset: innerAt + m[4]!.length };
  const parsed = parseFilter(parts, end);
  if ('token' in parsed) return parsed;
  const projectPart = parts[parsed.next];
  const summarizePart = parts[parsed.next + 1];
  const after = parts[parsed.next + 2];

  // project subscriptionId, <item> = pack('<key>', <column>, …)
  const project = projectPart && PROJECT_ANY.exec(projectPart.text);
  if (!projectPart || !project) return projectPart ? firstWord(projectPart) : end;
  const projected = new Map<string, GraphJoin['item']>();
  for (const item of split(project[2]!, ',', projectPart.offset + project[1]!.length)) {
    const plain = NAME.exec(item.text)?.[1];
    if (plain) {
      if (!COLUMNS.includes(plain)) return firstWord(item);
      projected.set(plain, { column: plain });
      continue;
    }
    const call = CALL.exec(item.text);
    if (!call) return firstWord(item);
    const fnAt = item.offset + call[1]!.length + call[2]!.length + call[3]!.length;
    if (call[4] !== 'pack') return { token: call[4]!, offset: fnAt };
    const pack = parsePack(split(call[6]!, ',', fnAt + call[4]!.length + call[5]!.length));
    if ('token' in pack) return pack;
    projected.set(call[2]!, { pack });
  }

  // summarize <list> = make_list(<item>) by subscriptionId
  const summarize = summarizePart && SUMMARIZE.exec(summarizePart.text);
  if (!summarizePart || !summarize) return summarizePart ? firstWord(summarizePart) : end;
  let at = summarizePart.offset + summarize[1]!.length + summarize[2]!.length + summarize[3]!.length;
  if (summarize[4] !== 'make_list') return { token: summarize[4]!, offset: at };
  at += summarize[4]!.length + summarize[5]!.length;
  const item = projected.get(summarize[6]!);
  if (!item) return { token: summarize[6]!, offset: at };
  at += summarize[6]!.length + summarize[7]!.length;
  const byKey = projected.get(KEY);
  if (summarize[8] !== KEY || !byKey || !('column' in byKey)) return { token: summarize[8]!, offset: at };
  if (after) return firstWord(after);

  const key = uniqueName(KEY, left);
  return { right: parsed.filter, item, left, key, list: uniqueName(summarize[2]!, [...left, key]) };
}

function parseQuery(text: string): GraphQuery | QueryFailure {
  const parts = stages(text);
  const end: QueryFailure = { token: '<end of query>', offset: text.length };
  const parsed = parseFilter(parts, end);
  if ('token' in parsed) return parsed;
  const query: GraphQuery = { ...parsed.filter, summarized: false };
  let next = parsed.next;
  const columns = parseProject(parts[next], COLUMNS);
  if (columns && 'token' in columns) return columns;
  if (columns) {
    query.columns = columns;
    next++;
  }
  const joinPart = parts[next];
  if (joinPart && JOIN.test(joinPart.text)) {
    const join = parseJoin(joinPart, query.columns ?? COLUMNS);
    if ('token' in join) return join;
    query.join = join;
    query.summarized = true;
    next++;
    const final = parseProject(parts[next], [...join.left, join.key, join.list]);
    if (final && 'token' in final) return final;
    if (final) {
      join.columns = final;
      next++;
    }
  }
  const rest = parts[next];
  return rest ? firstWord(rest) : query;
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

function matches(filter: GraphFilter, resource: GraphResource): boolean {
  const typeMatches = filter.caseSensitive
    ? resource.type === filter.type
    : resource.type.toLowerCase() === filter.type.toLowerCase();
  if (!typeMatches) return false;
  if (filter.equals) {
    const value = propertyAt(resource.properties, filter.equals.path);
    if (typeof value !== 'string' || value.toLowerCase() !== filter.equals.value.toLowerCase()) return false;
  }
  if (!filter.since) return true;
  const value = propertyAt(resource.properties, filter.since.path);
  const at = typeof value === 'string' ? parseKqlDate(value) : undefined;
  return at !== undefined && at >= filter.since.at;
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

/** A left row joined to its subscription's right rows (none: the right's columns are null). */
function joinedRow(
  resource: GraphResource,
  join: GraphJoin,
  matched: readonly GraphResource[] | undefined,
): Record<string, unknown> {
  const item = join.item;
  const values = matched?.map((r) => {
    const full = row(r, undefined);
    return 'column' in item ? full[item.column] : Object.fromEntries(item.pack.map(([k, c]) => [k, full[c]]));
  });
  const joined: Record<string, unknown> = {
    ...row(resource, join.left),
    [join.key]: matched ? matched[0]!.subscriptionId : null,
    [join.list]: values ?? null,
  };
  return join.columns ? Object.fromEntries(join.columns.map((c) => [c, joined[c]])) : joined;
}

/** Rows by subscription (lower-cased), kept while the selected rows are the same array. */
const bySubscription = new WeakMap<readonly GraphResource[], Map<string, GraphResource[]>>();
function groupBySubscription(rows: readonly GraphResource[]): Map<string, GraphResource[]> {
  let groups = bySubscription.get(rows);
  if (!groups) {
    groups = new Map();
    for (const r of rows) {
      const key = r.subscriptionId.toLowerCase();
      const group = groups.get(key);
      if (group) group.push(r);
      else groups.set(key, [r]);
    }
    bySubscription.set(rows, groups);
  }
  return groups;
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

/** The last bytes of a long answer, written once the rest has left (endAnswer). */
const ANSWER_TAIL = 1024;

/**
 * Ends `res` with `body` so that the connection survives the client's next request. Node's server pauses a
 * keep-alive socket whose write buffer is over its high-water mark (16 KiB) when the next request's headers
 * arrive, and the https socket then still delivers the rest of that request's body, already decrypted, to
 * the paused parser: HPE_PAUSED, the socket destroyed, the request 'aborted'. A client in another process
 * can read a long answer and send its next request before this process has seen the answer's write
 * complete (seen with the ARM stand-in in a process of its own: 2 to 12 of 200 Resource Graph requests of
 * 1,000 subscriptions each lost so, the client seeing "socket hang up"). So a long answer's last bytes go
 * out only once the rest has left: the buffer then holds at most ANSWER_TAIL bytes when the answer reaches
 * the client.
 */
export function endAnswer(
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: string,
): void {
  const data = Buffer.from(body, 'utf8');
  res.writeHead(status, { ...headers, 'content-length': String(data.length) });
  if (data.length <= ANSWER_TAIL) {
    res.end(data);
    return;
  }
  let done = false;
  const rest = (error?: Error | null) => {
    if (done) return;
    done = true;
    if (!error && !res.destroyed) res.end(data.subarray(data.length - ANSWER_TAIL));
  };
  res.once('close', () => rest(new Error('closed')));
  res.write(data.subarray(0, data.length - ANSWER_TAIL), rest);
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
    const listed = (r: GraphResource) => wanted.size === 0 || wanted.has(r.subscriptionId.toLowerCase());
    const rows = select(parsed.table, scope, (r) => listed(r) && matches(parsed, r));
    let render = (r: GraphResource) => row(r, parsed.columns);
    const join = parsed.join;
    if (join) {
      // The right side is read under the same scopes: its rows grouped by subscription, the same while the
      // selected rows are.
      const right = groupBySubscription(
        select(join.right.table, `${scope} right`, (r) => listed(r) && matches(join.right, r)),
      );
      render = (r) => joinedRow(r, join, right.get(r.subscriptionId.toLowerCase()));
    }
    const size = Math.min((top as number | undefined) ?? cursor?.size ?? pageSize, pageSize);
    // A query that summarizes gets its first page only: no $skip, no $skipToken, truncated past the page.
    const offset = parsed.summarized ? 0 : ((skip as number | undefined) ?? cursor?.offset ?? 0);
    const page = rows.slice(offset, offset + size);
    const next =
      !parsed.summarized && offset + size < rows.length
        ? encodeCursor({ offset: offset + size, size, scope })
        : undefined;
    return {
      status: 200,
      body: {
        totalRecords: rows.length,
        count: page.length,
        resultTruncated: parsed.summarized && rows.length > size ? 'true' : 'false',
        ...(next ? { $skipToken: next } : {}),
        data: page.map(render),
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

  const send = (res: ServerResponse, answer: Answer) =>
    endAnswer(
      res,
      answer.status,
      {
        'content-type': 'application/json; charset=utf-8',
        'x-ms-request-id': randomUUID(),
        'x-ms-correlation-request-id': randomUUID(),
        ...(quota ? quota.take(Date.now()) : {}),
        ...answer.headers,
      },
      JSON.stringify(answer.body),
    );

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
