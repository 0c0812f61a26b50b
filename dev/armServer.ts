import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  endAnswer,
  resourceGraphHandler,
  type GraphResource,
  type GraphTables,
  type ResourceGraphHandler,
} from './resourceGraphServer';

/** An automation as ARM returns it (`Microsoft.Security/automations`, API 2023-12-01-preview). */
export interface AutomationResource {
  id: string;
  name: string;
  type: 'Microsoft.Security/automations';
  location: string;
  etag?: string;
  tags?: Record<string, string>;
  properties: {
    description?: string;
    isEnabled: boolean;
    scopes: Array<{ description?: string; scopePath: string }>;
    sources: Array<{ eventSource: string; ruleSets?: Array<{ rules: Array<Record<string, string>> }> }>;
    actions: Array<Record<string, unknown>>;
  };
}

export interface EstateSubscription {
  subscriptionId: string;
  displayName: string;
  state?: 'Enabled' | 'Warned' | 'PastDue' | 'Disabled' | 'Deleted';
  /** The reader may list the subscription but not read its security settings: 403 AuthorizationFailed. */
  forbidden?: boolean;
  automations: AutomationResource[];
  /** Resource groups that exist (remediation writes into one). */
  resourceGroups?: string[];
  /**
   * Resource Graph does not return the subscription, nor its automations (one it has not indexed yet): only
   * Resource Manager sees it.
   */
  graphHidden?: boolean;
}

/** Any other resource, served by id as Resource Manager does (GET `{id}?api-version=…`). */
export interface ArmResource {
  id: string;
  name: string;
  type: string;
  location?: string;
  identity?: Record<string, unknown>;
  properties: Record<string, unknown>;
}

/** A role assignment, as `roleAssignments` lists return it (api-version 2022-04-01). */
export interface RoleAssignment {
  scope: string;
  /** The role definition's GUID (the last segment of roleDefinitionId). */
  roleDefinition: string;
  principalId: string;
  principalType?: 'ServicePrincipal' | 'User' | 'Group';
}

export interface ArmRequest {
  method: string;
  path: string;
  status: number;
  at: number;
}

/**
 * A planned failure: the next `times` matching requests are answered `status` (503 ServiceUnavailable, as
 * ARM's front door answers during an outage) or, with `reset`, get their connection closed unanswered.
 */
export interface ArmFault {
  /** The status to answer (default 503), with `{"error":{"code","message"}}` as ARM does. */
  status?: number;
  code?: string;
  /** Close the connection without answering (a network failure): the client sees ECONNRESET. */
  reset?: boolean;
  /** How many requests fail (default 1; Infinity until clearFaults()). */
  times?: number;
  /** Sent as Retry-After (seconds). */
  retryAfterSeconds?: number;
  /** Only requests this selects fail, e.g. `(r) => r.path.includes('/automations')`; default every one. */
  when?: (request: { method: string; path: string }) => boolean;
}

export interface ArmStandIn {
  url: string;
  token: string;
  estate: EstateSubscription[];
  /** Every request answered (status 0: closed unanswered by a `reset` fault). */
  requests: ArmRequest[];
  /** Resource Graph at this address: its requests, faults and tables. */
  graph: ResourceGraphHandler;
  /** Resources served by id (keyed by the lower-cased id): change them to make a deployment drift. */
  resources: Map<string, ArmResource>;
  roleAssignments: RoleAssignment[];
  /** App settings of each site (keyed by the site's lower-cased id), as `config/appsettings/list` returns them. */
  appSettings: Map<string, Record<string, string>>;
  /** Ids (lower-cased) the reader may not read: GET answers 403 AuthorizationFailed. */
  forbidden: Set<string>;
  /**
   * Say that `estate` changed in a way Resource Graph's tables must follow: an automation added, removed or
   * replaced other than by a PUT, a subscription removed or replaced, `graphHidden` or `forbidden` switched.
   * Values changed in place (an automation's `isEnabled`, a subscription's `state`) and a subscription
   * pushed (the count changes) show without it.
   */
  estateChanged(): void;
  inject(fault: ArmFault): void;
  clearFaults(): void;
  close(): Promise<void>;
}

export interface ArmOptions {
  cert: string;
  key: string;
  estate: EstateSubscription[];
  token?: string;
  /** Items per page of every list (ARM's own page sizes vary; small pages exercise nextLink). */
  pageSize?: number;
  /** Added before every response, like the round trip to ARM. */
  latencyMs?: number;
  /** Every `every`-th request is answered 429 with this Retry-After (seconds). */
  throttle?: { every: number; retryAfterSeconds: number };
  /** Listen on this port (default: a free one). */
  port?: number;
  resources?: ArmResource[];
  roleAssignments?: RoleAssignment[];
  appSettings?: Record<string, Record<string, string>>;
  /**
   * Resource Graph, answering at `/providers/Microsoft.ResourceGraph/` as it does on Resource Manager's host,
   * its `resourcecontainers` and `resources` tables given (replacing any it had) the estate's subscriptions
   * and automations.
   */
  graph?: ResourceGraphHandler;
}

const SUBSCRIPTIONS_API = /^20\d\d-\d\d-\d\d$/;
const ANY_API = /^20\d\d-\d\d-\d\d(-preview)?$/;
const ROLE_ASSIGNMENTS_API = new Set(['2022-04-01']);
const ROLE_ASSIGNMENTS = '/providers/microsoft.authorization/roleassignments';
const APP_SETTINGS_LIST = '/config/appsettings/list';
const AUTOMATIONS_API = new Set(['2019-01-01-preview', '2023-12-01-preview']);
const TENANT_ID = '72f988bf-0000-0000-0000-000000000000';
const SUBSCRIPTION_POLICIES = {
  locationPlacementId: 'Public_2014-09-01',
  quotaId: 'EnterpriseAgreement_2014-09-01',
  spendingLimit: 'Off',
};

function send(
  res: ServerResponse,
  status: number,
  body?: unknown,
  headers: Record<string, string> = {},
): void {
  // Long answers the way that keeps the connection for the next request (see endAnswer).
  endAnswer(
    res,
    status,
    {
      'content-type': 'application/json; charset=utf-8',
      'x-ms-request-id': randomUUID(),
      'x-ms-correlation-request-id': randomUUID(),
      ...headers,
    },
    body === undefined ? '' : JSON.stringify(body),
  );
}

const error = (code: string, message: string) => ({ error: { code, message } });

/** ARM's answer for a resource that does not exist (the type is the path's provider and resource types). */
function notFound(path: string) {
  const match = /\/resourceGroups\/([^/]+)\/providers\/([^/]+)\/(.+)$/i.exec(path);
  const group = match?.[1] ?? '';
  const segments = (match?.[3] ?? '').split('/');
  const types = segments.filter((_, i) => i % 2 === 0).join('/');
  const names = segments.filter((_, i) => i % 2 === 1).join('/');
  return error(
    'ResourceNotFound',
    `The Resource '${match?.[2] ?? ''}/${types}/${names}' under resource group '${group}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
  );
}

function forbiddenError(action: string, scope: string) {
  return error(
    'AuthorizationFailed',
    `The client does not have authorization to perform action '${action}' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
  );
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
}

/**
 * A local https stand-in for the parts of Azure Resource Manager the coverage reconciler uses, in the REST
 * API's shapes: `GET /subscriptions` and `GET /subscriptions/{id}` (api-version 2022-12-01), `GET
 * /subscriptions/{id}/providers/Microsoft.Security/automations`, and `PUT` of an automation in a resource
 * group. Lists page by `nextLink`; a forbidden subscription answers 403 AuthorizationFailed; throttling
 * answers 429 with Retry-After; a bearer token is required. Injected faults (`inject`) answer 503 or close
 * the connection, for an outage of Resource Manager or of the network to it. With `graph`, Resource Graph
 * answers from the same estate (graphTables below), so both ways of reading it can be compared.
 */
export async function startArmStandIn(options: ArmOptions): Promise<ArmStandIn> {
  const token = options.token ?? randomUUID();
  const pageSize = options.pageSize ?? 100;
  const requests: ArmRequest[] = [];
  let faults: Array<ArmFault & { left: number }> = [];
  let counter = 0;
  let baseUrl = '';

  const page = <T>(items: T[], url: URL): { value: T[]; nextLink?: string } => {
    const skip = Number(url.searchParams.get('$skiptoken') ?? 0);
    const value = items.slice(skip, skip + pageSize);
    if (skip + pageSize >= items.length) return { value };
    const next = new URL(url.pathname, baseUrl);
    url.searchParams.forEach((v, k) => next.searchParams.set(k, v));
    next.searchParams.set('$skiptoken', String(skip + pageSize));
    return { value, nextLink: next.toString() };
  };

  const subscriptionJson = (s: EstateSubscription) => ({
    id: `/subscriptions/${s.subscriptionId}`,
    authorizationSource: 'RoleBased',
    subscriptionId: s.subscriptionId,
    tenantId: TENANT_ID,
    displayName: s.displayName,
    state: s.state ?? 'Enabled',
    subscriptionPolicies: SUBSCRIPTION_POLICIES,
  });
  let generation = 0;
  // Resource Graph answers on Resource Manager's host: always, over this estate (and what `graph` holds).
  const graph = options.graph ?? resourceGraphHandler({ token, resources: [] });
  graph.setTables(graphTables(options.estate, () => generation));

  /**
   * The estate's first subscription with this id (any case), as `estate.find` would answer it, in O(1): the
   * estate is indexed by lower-cased id, again when its length or the generation changes, or when an entry
   * turns out replaced in place (the indexed one no longer has the id; on a miss, a scan finds the id).
   */
  let index: { count: number; generation: number; at: Map<string, number> } | undefined;
  const reindex = () => {
    const at = new Map<string, number>();
    options.estate.forEach((s, i) => {
      const id = s.subscriptionId.toLowerCase();
      if (!at.has(id)) at.set(id, i);
    });
    index = { count: options.estate.length, generation, at };
    return at;
  };
  const findSubscription = (subscriptionId: string): EstateSubscription | undefined => {
    const id = subscriptionId.toLowerCase();
    const estate = options.estate;
    const at = index?.count === estate.length && index.generation === generation ? index.at : reindex();
    const i = at.get(id);
    const indexed = i === undefined ? undefined : estate[i];
    if (indexed?.subscriptionId.toLowerCase() === id) return indexed;
    // Stale (an entry replaced in place) or absent: answer as find does, and index again if it was stale.
    const found = estate.find((s) => s.subscriptionId.toLowerCase() === id);
    if (found || i !== undefined) reindex();
    return found;
  };

  /** Answers an injected fault, if one is due for this request: Resource Graph's requests included. */
  const faulted = (req: IncomingMessage, res: ServerResponse): number | undefined => {
    const fault = faults.find(
      (f) => f.left > 0 && (!f.when || f.when({ method: req.method ?? '', path: req.url ?? '' })),
    );
    if (fault) {
      fault.left--;
      if (fault.reset) {
        req.socket.destroy();
        return 0;
      }
      const status = fault.status ?? 503;
      send(
        res,
        status,
        error(
          fault.code ?? (status === 503 ? 'ServiceUnavailable' : `Injected${status}`),
          'injected by the stand-in',
        ),
        fault.retryAfterSeconds !== undefined ? { 'retry-after': String(fault.retryAfterSeconds) } : {},
      );
      return status;
    }
    return undefined;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<number> => {
    const url = new URL(req.url ?? '/', 'https://localhost');
    const apiVersion = url.searchParams.get('api-version');
    const failed = faulted(req, res);
    if (failed !== undefined) return failed;
    if (req.headers.authorization !== `Bearer ${token}`) {
      send(
        res,
        401,
        error(
          'AuthenticationFailed',
          'Authentication failed. The Authorization header is missing or invalid.',
        ),
      );
      return 401;
    }
    if (options.throttle && ++counter % options.throttle.every === 0) {
      send(res, 429, error('TooManyRequests', 'The request is being throttled.'), {
        'retry-after': String(options.throttle.retryAfterSeconds),
      });
      return 429;
    }
    const other = handleResources(req.method ?? 'GET', url, apiVersion);
    if (other) {
      send(res, other.status, other.body);
      return other.status;
    }
    const segments = url.pathname.split('/').filter(Boolean);
    const isSubscriptions = segments[0]?.toLowerCase() === 'subscriptions';
    if (!isSubscriptions) {
      send(res, 404, error('NotFound', `no route for ${url.pathname}`));
      return 404;
    }
    const subscription = segments[1] === undefined ? undefined : findSubscription(segments[1]);

    if (segments.length <= 2 && req.method === 'GET') {
      if (!apiVersion || !SUBSCRIPTIONS_API.test(apiVersion)) {
        send(res, 400, error('MissingApiVersionParameter', 'The api-version query parameter is required.'));
        return 400;
      }
      if (segments.length === 1) {
        send(res, 200, page(options.estate.map(subscriptionJson), url));
        return 200;
      }
      if (!subscription) {
        send(
          res,
          404,
          error('SubscriptionNotFound', `The subscription '${segments[1]}' could not be found.`),
        );
        return 404;
      }
      send(res, 200, subscriptionJson(subscription));
      return 200;
    }

    const provider = url.pathname.toLowerCase().indexOf('/providers/microsoft.security/automations');
    if (provider < 0 || !subscription) {
      send(
        res,
        404,
        error(subscription ? 'NotFound' : 'SubscriptionNotFound', `no resource at ${url.pathname}`),
      );
      return 404;
    }
    if (!apiVersion || !AUTOMATIONS_API.has(apiVersion)) {
      send(
        res,
        400,
        error(
          'InvalidApiVersionParameter',
          `The api-version '${apiVersion}' is invalid for Microsoft.Security/automations.`,
        ),
      );
      return 400;
    }
    if (subscription.forbidden) {
      send(
        res,
        403,
        error(
          'AuthorizationFailed',
          `The client does not have authorization to perform action 'Microsoft.Security/automations/read' over scope '/subscriptions/${subscription.subscriptionId}' or the scope is invalid.`,
        ),
      );
      return 403;
    }

    // GET /subscriptions/{id}/providers/Microsoft.Security/automations
    if (segments.length === 5 && req.method === 'GET') {
      send(res, 200, page(subscription.automations.map(withoutSecrets), url));
      return 200;
    }
    // PUT /subscriptions/{id}/resourceGroups/{rg}/providers/Microsoft.Security/automations/{name}
    if (segments.length === 8 && segments[2]?.toLowerCase() === 'resourcegroups' && req.method === 'PUT') {
      const group = segments[3]!;
      const name = decodeURIComponent(segments[7]!);
      if (!(subscription.resourceGroups ?? []).some((g) => g.toLowerCase() === group.toLowerCase())) {
        send(res, 404, error('ResourceGroupNotFound', `Resource group '${group}' could not be found.`));
        return 404;
      }
      const body = (await readJson(req)) as Partial<AutomationResource> | null;
      const properties = body?.properties;
      if (
        !body?.location ||
        !properties ||
        !Array.isArray(properties.scopes) ||
        !Array.isArray(properties.sources) ||
        !Array.isArray(properties.actions)
      ) {
        send(
          res,
          400,
          error(
            'InvalidRequestContent',
            'location, properties.scopes, properties.sources and properties.actions are required.',
          ),
        );
        return 400;
      }
      const id = `/subscriptions/${subscription.subscriptionId}/resourceGroups/${group}/providers/Microsoft.Security/automations/${name}`;
      const resource: AutomationResource = {
        id,
        name,
        type: 'Microsoft.Security/automations',
        location: body.location,
        etag: randomUUID(),
        tags: body.tags ?? {},
        properties: properties as AutomationResource['properties'],
      };
      const existing = subscription.automations.findIndex((a) => a.id.toLowerCase() === id.toLowerCase());
      if (existing >= 0) subscription.automations[existing] = resource;
      else subscription.automations.push(resource);
      generation++;
      send(res, existing >= 0 ? 200 : 201, withoutSecrets(resource));
      return existing >= 0 ? 200 : 201;
    }
    send(res, 405, error('MethodNotAllowed', `${req.method} is not supported here`));
    return 405;
  };

  const resources = new Map((options.resources ?? []).map((r) => [r.id.toLowerCase(), r]));
  const roleAssignments = [...(options.roleAssignments ?? [])];
  const appSettings = new Map(
    Object.entries(options.appSettings ?? {}).map(([id, settings]) => [id.toLowerCase(), settings]),
  );
  const forbidden = new Set<string>();
  // One management group holds every subscription here: an assignment on it, or on the root, is above all.
  const isAtOrAbove = (scope: string, of: string) =>
    of === scope ||
    scope === '/' ||
    (scope.startsWith('/providers/microsoft.management/managementgroups/') &&
      of.startsWith('/subscriptions/')) ||
    of.startsWith(`${scope.replace(/\/+$/, '')}/`);

  /**
   * Resources by id, role assignments at a scope and a site's app settings; undefined for the paths the
   * coverage reconciler uses (subscriptions and automations), answered below.
   */
  function handleResources(
    method: string,
    url: URL,
    apiVersion: string | null,
  ): { status: number; body: unknown } | undefined {
    const path = decodeURIComponent(url.pathname).replace(/\/+$/, '');
    const lower = path.toLowerCase();
    const roles = lower.indexOf(ROLE_ASSIGNMENTS);
    if (roles >= 0 && method === 'GET' && lower.endsWith(ROLE_ASSIGNMENTS)) {
      if (!apiVersion || !ROLE_ASSIGNMENTS_API.has(apiVersion))
        return {
          status: 400,
          body: error('InvalidApiVersionParameter', `The api-version '${apiVersion}' is invalid.`),
        };
      const scope = lower.slice(0, roles) || '/';
      const filter = url.searchParams.get('$filter') ?? '';
      // Groups are not modelled: assignedTo() matches the principal's own assignments.
      const assignedTo = /^atScope\(\) and assignedTo\('([^']+)'\)$/i.exec(filter.trim())?.[1]?.toLowerCase();
      const principal = /^principalId eq '([^']+)'$/i.exec(filter.trim())?.[1]?.toLowerCase();
      if (filter && !principal && !assignedTo && filter.trim() !== 'atScope()')
        return { status: 400, body: error('InvalidFilter', `The filter '${filter}' is not supported.`) };
      // principalId eq: at, above and below the scope; atScope(): at and above; none: all three.
      const value = roleAssignments
        .filter((a) => {
          const at = a.scope.toLowerCase();
          if (assignedTo) return a.principalId.toLowerCase() === assignedTo && isAtOrAbove(at, scope);
          if (principal)
            return (
              a.principalId.toLowerCase() === principal && (isAtOrAbove(at, scope) || isAtOrAbove(scope, at))
            );
          if (filter) return isAtOrAbove(at, scope);
          return isAtOrAbove(at, scope) || isAtOrAbove(scope, at);
        })
        .map((a) => {
          const name = createHash('sha256')
            .update(`${a.scope}|${a.roleDefinition}|${a.principalId}`)
            .digest('hex');
          const guid = `${name.slice(0, 8)}-${name.slice(8, 12)}-${name.slice(12, 16)}-${name.slice(16, 20)}-${name.slice(20, 32)}`;
          const subscription = /^\/subscriptions\/[^/]+/i.exec(a.scope)?.[0] ?? '';
          return {
            id: `${a.scope}/providers/Microsoft.Authorization/roleAssignments/${guid}`,
            type: 'Microsoft.Authorization/roleAssignments',
            name: guid,
            properties: {
              roleDefinitionId: `${subscription}/providers/Microsoft.Authorization/roleDefinitions/${a.roleDefinition}`,
              principalId: a.principalId,
              principalType: a.principalType ?? 'ServicePrincipal',
              scope: a.scope,
              condition: null,
              conditionVersion: null,
              createdOn: '2026-01-01T00:00:00.0000000Z',
              updatedOn: '2026-01-01T00:00:00.0000000Z',
            },
          };
        });
      return { status: 200, body: { value } };
    }
    if (method === 'POST' && lower.endsWith(APP_SETTINGS_LIST)) {
      const site = lower.slice(0, -APP_SETTINGS_LIST.length);
      const settings = appSettings.get(site);
      if (!apiVersion || !ANY_API.test(apiVersion))
        return {
          status: 400,
          body: error('MissingApiVersionParameter', 'The api-version query parameter is required.'),
        };
      if (forbidden.has(site))
        return { status: 403, body: forbiddenError('Microsoft.Web/sites/config/list/action', site) };
      if (!settings) return { status: 404, body: notFound(path.slice(0, -APP_SETTINGS_LIST.length)) };
      return {
        status: 200,
        body: {
          id: `${resources.get(site)?.id ?? site}/config/appsettings`,
          name: 'appsettings',
          type: 'Microsoft.Web/sites/config',
          location: resources.get(site)?.location,
          properties: { ...settings },
        },
      };
    }
    if (method !== 'GET' || !/\/resourcegroups\/[^/]+\/providers\//.test(lower)) return undefined;
    if (lower.includes('/providers/microsoft.security/automations')) return undefined;
    if (!apiVersion || !ANY_API.test(apiVersion))
      return {
        status: 400,
        body: error('MissingApiVersionParameter', 'The api-version query parameter is required.'),
      };
    if (forbidden.has(lower)) return { status: 403, body: forbiddenError('read', path) };
    const resource = resources.get(lower);
    return resource ? { status: 200, body: resource } : { status: 404, body: notFound(path) };
  }

  const server = createServer({ cert: options.cert, key: options.key }, (req, res) => {
    if (/^\/providers\/microsoft\.resourcegraph\//i.test(req.url ?? '')) {
      const at = Date.now();
      setTimeout(() => {
        const failed = faulted(req, res);
        if (failed === undefined) graph.handle(req, res);
        else requests.push({ method: req.method ?? '', path: req.url ?? '', status: failed, at });
      }, options.latencyMs ?? 0);
      return;
    }
    const at = Date.now();
    setTimeout(() => {
      handle(req, res)
        .then((status) => requests.push({ method: req.method ?? '', path: req.url ?? '', status, at }))
        .catch((e: unknown) => send(res, 500, error('InternalServerError', String(e))));
    }, options.latencyMs ?? 0);
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  baseUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: baseUrl,
    token,
    estate: options.estate,
    requests,
    graph,
    resources,
    roleAssignments,
    appSettings,
    forbidden,
    estateChanged: () => {
      generation++;
    },
    inject: (fault) => faults.push({ ...fault, left: fault.times ?? 1 }),
    clearFaults: () => {
      faults = [];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The service never returns an Event Hub connection string or a Logic App URI. */
function withoutSecrets(resource: AutomationResource): AutomationResource {
  return {
    ...resource,
    properties: {
      ...resource.properties,
      actions: resource.properties.actions.map(({ connectionString: _c, uri: _u, ...action }) => action),
    },
  };
}

/**
 * Resource Graph's view of the estate (the row shapes are cited in dev/resourceGraphServer.ts): a
 * `resourcecontainers` row per subscription and a `resources` row per automation, leaving out what Resource
 * Graph does not show — a `graphHidden` subscription (not indexed yet) and everything in it, and the
 * automations of a `forbidden` one (it shows only what the caller may read). The rows are built again only
 * when the generation or the number of subscriptions changes; their values are getters over the estate, so
 * a change in place (a test flipping `isEnabled`) shows in the next answer without a rebuild. An
 * automation's properties are those Resource Manager answers, its secrets left out (withoutSecrets), made at
 * every read: a row never holds a copy that could go stale, nor the secret-bearing original.
 */
function graphTables(estate: EstateSubscription[], generation: () => number): GraphTables {
  let built:
    | { generation: number; count: number; containers: GraphResource[]; automations: GraphResource[] }
    | undefined;
  const current = () => {
    if (built?.generation !== generation() || built.count !== estate.length) {
      const visible = estate.filter((s) => !s.graphHidden);
      built = {
        generation: generation(),
        count: estate.length,
        containers: visible.map(subscriptionRow),
        automations: visible
          .filter((s) => !s.forbidden)
          .flatMap((s) => s.automations.map((a) => automationRow(s, a))),
      };
    }
    return built;
  };
  return { resourcecontainers: () => current().containers, resources: () => current().automations };
}

function subscriptionRow(s: EstateSubscription): GraphResource {
  return {
    id: `/subscriptions/${s.subscriptionId}`,
    get name() {
      return s.displayName;
    },
    type: 'microsoft.resources/subscriptions',
    tenantId: TENANT_ID,
    subscriptionId: s.subscriptionId,
    resourceGroup: '',
    location: '',
    tags: null,
    get properties() {
      return {
        managedByTenants: [],
        managementGroupAncestorsChain: [{ displayName: 'Tenant Root Group', name: TENANT_ID }],
        state: s.state ?? 'Enabled',
        subscriptionPolicies: SUBSCRIPTION_POLICIES,
      };
    },
  };
}

function automationRow(s: EstateSubscription, a: AutomationResource): GraphResource {
  return {
    id: a.id,
    name: a.name,
    type: a.type.toLowerCase(),
    tenantId: TENANT_ID,
    subscriptionId: s.subscriptionId,
    resourceGroup: (/\/resourceGroups\/([^/]+)/i.exec(a.id)?.[1] ?? '').toLowerCase(),
    get location() {
      return a.location;
    },
    get tags() {
      return a.tags ?? null;
    },
    get properties() {
      return withoutSecrets(a).properties;
    },
  };
}
