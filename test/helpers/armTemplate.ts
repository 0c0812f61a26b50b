import { createHash } from 'node:crypto';

/**
 * A small evaluator of ARM template expressions, enough to know what a deployment of a compiled Bicep
 * template would write: it parses `[...]` expressions and implements, with their documented semantics
 * (learn.microsoft.com, "ARM template functions"), the functions the templates of infra/ use on the way to
 * the function app's settings. Nested deployments (Bicep modules) are evaluated in their own scope, their
 * parameters in the parent's; `reference()` of a module resolves its outputs, and `reference()` of a real
 * resource takes runtime properties from a table of realistic values per resource type. Anything it does
 * not model (an unknown function, a copy loop, a linked template, a resource type missing from the table)
 * throws, naming it: nothing passes through unevaluated.
 */

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

// ---------- parsing ----------

export type Expression =
  | { kind: 'literal'; value: string | number | boolean | null }
  | { kind: 'call'; name: string; args: Expression[] }
  | { kind: 'property'; target: Expression; name: string }
  | { kind: 'index'; target: Expression; index: Expression };

/**
 * What a JSON string in a template is: an expression (`[...]`), or a literal. A literal that must start
 * with `[` and end with `]` is written with `[[`, which stands for one `[`; a string that does not end with
 * `]` is a literal as it is.
 */
export function templateString(value: string): { expression: string } | { literal: string } {
  if (value.length >= 2 && value.startsWith('[') && value.endsWith(']')) {
    return value[1] === '[' ? { literal: value.slice(1) } : { expression: value.slice(1, -1) };
  }
  return { literal: value };
}

type Token =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'identifier'; value: string }
  | { kind: 'punctuation'; value: '(' | ')' | ',' | '.' | '[' | ']' };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      // A string literal; '' inside it is one quote.
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new Error(`unterminated string in expression: ${text}`);
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += text[i];
        i++;
      }
      tokens.push({ kind: 'string', value });
    } else if (/[-\d]/.test(c)) {
      const m = /^-?\d+/.exec(text.slice(i));
      if (!m) throw new Error(`unexpected '${c}' in expression: ${text}`);
      tokens.push({ kind: 'number', value: Number(m[0]) });
      i += m[0].length;
    } else if (/[A-Za-z_$]/.test(c)) {
      const m = /^[A-Za-z_$][\w$]*/.exec(text.slice(i))!;
      tokens.push({ kind: 'identifier', value: m[0] });
      i += m[0].length;
    } else if ('(),.[]'.includes(c)) {
      tokens.push({ kind: 'punctuation', value: c as '(' | ')' | ',' | '.' | '[' | ']' });
      i++;
    } else {
      throw new Error(`unexpected '${c}' in expression: ${text}`);
    }
  }
  return tokens;
}

/** Parses the text of an expression (without its enclosing brackets). */
export function parseExpression(text: string): Expression {
  const tokens = tokenize(text);
  let at = 0;
  const fail = (what: string): never => {
    throw new Error(`${what} at token ${at} of expression: ${text}`);
  };
  const isPunctuation = (value: string) => {
    const token = tokens[at];
    return token?.kind === 'punctuation' && token.value === value;
  };
  const expect = (value: string) => {
    if (!isPunctuation(value)) fail(`expected '${value}'`);
    at++;
  };

  function primary(): Expression {
    const token = tokens[at++] ?? fail('unexpected end');
    if (token.kind === 'string' || token.kind === 'number') return { kind: 'literal', value: token.value };
    if (token.kind !== 'identifier') return fail(`unexpected '${token.value}'`);
    if (!isPunctuation('(')) {
      if (token.value === 'true') return { kind: 'literal', value: true };
      if (token.value === 'false') return { kind: 'literal', value: false };
      if (token.value === 'null') return { kind: 'literal', value: null };
      return fail(`'${token.value}' is not a function call`);
    }
    at++;
    const args: Expression[] = [];
    if (!isPunctuation(')')) {
      args.push(expression());
      while (isPunctuation(',')) {
        at++;
        args.push(expression());
      }
    }
    expect(')');
    return { kind: 'call', name: token.value, args };
  }

  function expression(): Expression {
    let node = primary();
    for (;;) {
      if (isPunctuation('.')) {
        at++;
        const name = tokens[at++];
        if (name?.kind !== 'identifier') return fail('expected a property name');
        node = { kind: 'property', target: node, name: name.value };
      } else if (isPunctuation('[')) {
        at++;
        const index = expression();
        expect(']');
        node = { kind: 'index', target: node, index };
      } else {
        return node;
      }
    }
  }

  const result = expression();
  if (at !== tokens.length) fail('unexpected trailing input');
  return result;
}

// ---------- values ----------

export const isObject = (value: Json | undefined): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function typeName(value: Json): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'number';
  return typeof value;
}

function deepEqual(a: Json, b: Json): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]!))
    );
  }
  if (isObject(a) || isObject(b)) {
    if (!isObject(a) || !isObject(b)) return false;
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => k in b && deepEqual(a[k]!, b[k]!));
  }
  return a === b;
}

/** The key of `object` named `name`: the exact one, else the one that matches ignoring case. */
function findKey(object: JsonObject, name: string): string | undefined {
  if (Object.prototype.hasOwnProperty.call(object, name)) return name;
  const lower = name.toLowerCase();
  return Object.keys(object).find((key) => key.toLowerCase() === lower);
}

function property(target: Json, name: string): Json {
  if (!isObject(target)) throw new Error(`property '${name}' of a ${typeName(target)}`);
  const key = findKey(target, name);
  if (key === undefined) {
    throw new Error(
      `property '${name}' does not exist (has: ${Object.keys(target).join(', ') || 'nothing'})`,
    );
  }
  return target[key]!;
}

const hash = (...parts: string[]) => createHash('sha256').update(parts.join('\u0000')).digest();
const hex = (length: number, ...parts: string[]) =>
  hash(...parts)
    .toString('hex')
    .slice(0, length);

/** A stable GUID from the inputs (the shape of ARM's guid(); not its algorithm). */
export function stableGuid(...parts: string[]): string {
  const h = hex(32, 'guid', ...parts).split('');
  h[12] = '5';
  h[16] = '89ab'[parseInt(h[16]!, 16) % 4]!;
  const s = h.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

/**
 * A stable 13-character string from the inputs in uniqueString()'s alphabet (lower-case base32:
 * a-z, 2-7, e.g. `tcvhiyu5h2o5o`); ARM's own hash differs, which no test depends on.
 */
export function stableUniqueString(...parts: string[]): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  const bytes = hash('uniqueString', ...parts);
  let out = '';
  for (let i = 0; i < 13; i++) out += alphabet[bytes[i]! % 32];
  return out;
}

// ---------- deployments ----------

export interface DeploymentContext {
  tenantId: string;
  subscriptionId: string;
  /** The target resource group; absent for a deployment at subscription scope. */
  resourceGroup?: { name: string; location: string };
  deploymentName: string;
  /** The deployment's region (`-l` of a subscription deployment; the group's region otherwise). */
  location: string;
}

/** A deployed resource as reference() sees it. */
export interface RuntimeResource {
  type: string;
  id: string;
  name: string;
  location: string;
  subscriptionId: string;
  tenantId: string;
}

/** Runtime properties (what reference() returns) of deployed resources, by resource type (lower case). */
export type RuntimeTable = Record<string, (resource: RuntimeResource) => JsonObject>;

/**
 * Realistic runtime properties of the resource types the templates reference, in their documented
 * shapes; every value is derived from the resource id, so a run is reproducible.
 */
export const AZURE_RUNTIME: RuntimeTable = {
  'microsoft.managedidentity/userassignedidentities': ({ id, tenantId }) => ({
    tenantId,
    principalId: stableGuid(id, 'principalId'),
    clientId: stableGuid(id, 'clientId'),
  }),
  'microsoft.storage/storageaccounts': ({ name, location }) => ({
    provisioningState: 'Succeeded',
    primaryLocation: location,
    statusOfPrimary: 'available',
    primaryEndpoints: {
      blob: `https://${name}.blob.core.windows.net/`,
      queue: `https://${name}.queue.core.windows.net/`,
      table: `https://${name}.table.core.windows.net/`,
      file: `https://${name}.file.core.windows.net/`,
      dfs: `https://${name}.dfs.core.windows.net/`,
      web: `https://${name}.z6.web.core.windows.net/`,
    },
  }),
  'microsoft.eventhub/namespaces': ({ name, subscriptionId }) => ({
    provisioningState: 'Succeeded',
    status: 'Active',
    serviceBusEndpoint: `https://${name}.servicebus.windows.net:443/`,
    metricId: `${subscriptionId}:${name}`,
    kafkaEnabled: true,
  }),
  'microsoft.operationalinsights/workspaces': ({ id }) => ({
    provisioningState: 'Succeeded',
    customerId: stableGuid(id, 'customerId'),
    sku: { name: 'PerGB2018' },
    retentionInDays: 30,
  }),
  'microsoft.insights/components': ({ id, name, location }) => {
    const key = stableGuid(id, 'InstrumentationKey');
    const appId = stableGuid(id, 'AppId');
    return {
      Name: name,
      AppId: appId,
      InstrumentationKey: key,
      ConnectionString: `InstrumentationKey=${key};IngestionEndpoint=https://${location}-5.in.applicationinsights.azure.com/;LiveEndpoint=https://${location}.livediagnostics.monitor.azure.com/;ApplicationId=${appId}`,
      provisioningState: 'Succeeded',
    };
  },
  'microsoft.insights/datacollectionendpoints': ({ id, name, location }) => {
    const suffix = stableUniqueString(id).slice(0, 4);
    return {
      immutableId: `dce-${hex(32, id, 'immutableId')}`,
      configurationAccess: {
        endpoint: `https://${name}-${suffix}.${location}-1.handler.control.monitor.azure.com`,
      },
      logsIngestion: { endpoint: `https://${name}-${suffix}.${location}-1.ingest.monitor.azure.com` },
      provisioningState: 'Succeeded',
    };
  },
  'microsoft.insights/datacollectionrules': ({ id }) => ({
    immutableId: `dcr-${hex(32, id, 'immutableId')}`,
    provisioningState: 'Succeeded',
  }),
  'microsoft.web/sites': ({ id, name, location }) => ({
    state: 'Running',
    enabled: true,
    defaultHostName: `${name}-${hex(16, id, 'host')}.${location}-01.azurewebsites.net`,
  }),
};

const DEPLOYMENTS = 'microsoft.resources/deployments';

/** `{ type, name }` of a resource id (`.../providers/<namespace>/<type>/<name>[/<type>/<name>...]`). */
export function parseResourceId(id: string): { type: string; name: string } {
  const at = id.toLowerCase().lastIndexOf('/providers/');
  if (at < 0) {
    const group = /^\/subscriptions\/[^/]+\/resourceGroups\/([^/]+)$/i.exec(id);
    if (group) return { type: 'Microsoft.Resources/resourceGroups', name: group[1]! };
    throw new Error(`not a resource id: ${id}`);
  }
  const [namespace, ...rest] = id.slice(at + '/providers/'.length).split('/');
  if (!namespace || rest.length < 2 || rest.length % 2 !== 0) throw new Error(`not a resource id: ${id}`);
  const types = rest.filter((_, i) => i % 2 === 0);
  const names = rest.filter((_, i) => i % 2 === 1);
  return { type: [namespace, ...types].join('/'), name: names.join('/') };
}

/** `<namespace>/<t1>/<n1>/<t2>/<n2>...` from a type and its name segments. */
function providerPath(type: string, names: string[]): string {
  const [namespace, ...types] = type.split('/');
  if (!namespace || types.length === 0) throw new Error(`not a resource type: ${type}`);
  if (names.length !== types.length) {
    throw new Error(`resource type ${type} takes ${types.length} name segment(s), got ${names.length}`);
  }
  return [namespace, ...types.flatMap((t, i) => [t, names[i]!])].join('/');
}

const scopeId = (subscriptionId: string, resourceGroup?: string) =>
  resourceGroup
    ? `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}`
    : `/subscriptions/${subscriptionId}`;

/** The values of the documented environment() for the public cloud (AzureCloud). */
const AZURE_CLOUD: JsonObject = {
  name: 'AzureCloud',
  gallery: 'https://gallery.azure.com/',
  graph: 'https://graph.windows.net/',
  portal: 'https://portal.azure.com',
  graphAudience: 'https://graph.windows.net/',
  activeDirectoryDataLake: 'https://datalake.azure.net/',
  batch: 'https://batch.core.windows.net/',
  media: 'https://rest.media.azure.net',
  sqlManagement: 'https://management.core.windows.net:8443/',
  vmImageAliasDoc:
    'https://raw.githubusercontent.com/Azure/azure-rest-api-specs/master/arm-compute/quickstart-templates/aliases.json',
  resourceManager: 'https://management.azure.com/',
  authentication: {
    loginEndpoint: 'https://login.microsoftonline.com/',
    audiences: ['https://management.core.windows.net/', 'https://management.azure.com/'],
    tenant: 'common',
    identityProvider: 'AAD',
  },
  suffixes: {
    acrLoginServer: '.azurecr.io',
    azureDatalakeAnalyticsCatalogAndJob: 'azuredatalakeanalytics.net',
    azureDatalakeStoreFileSystem: 'azuredatalakestore.net',
    azureFrontDoorEndpointSuffix: 'azurefd.net',
    keyvaultDns: '.vault.azure.net',
    sqlServerHostname: '.database.windows.net',
    storage: 'core.windows.net',
  },
};

// ---------- functions ----------

type TemplateFunction = (args: Expression[], scope: TemplateScope) => Json;

const values = (args: Expression[], scope: TemplateScope) => args.map((a) => scope.evaluateExpression(a));

function arity(name: string, args: readonly unknown[], min: number, max = min) {
  if (args.length < min || args.length > max) {
    throw new Error(
      `${name}() takes ${min === max ? min : `${min} to ${max}`} argument(s), got ${args.length}`,
    );
  }
}

function asString(name: string, value: Json): string {
  if (typeof value !== 'string') throw new Error(`${name}() expects a string, got ${typeName(value)}`);
  return value;
}

function asBool(name: string, value: Json): boolean {
  if (typeof value !== 'boolean') throw new Error(`${name}() expects a bool, got ${typeName(value)}`);
  return value;
}

/** One argument of format(), as .NET's String.Format writes it (a bool is True/False). */
function formatArgument(value: Json): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  throw new Error(`format() of a ${typeName(value)} is not modelled`);
}

/** .NET composite formatting: `{0}` placeholders, `{{` and `}}` for braces. */
function format(template: string, args: Json[]): string {
  return template.replace(/\{\{|\}\}|\{([^{}]*)\}|[{}]/g, (token, item?: string) => {
    if (token === '{{') return '{';
    if (token === '}}') return '}';
    if (item === undefined) throw new Error(`format(): unbalanced brace in '${template}'`);
    const m = /^\s*(\d+)\s*$/.exec(item);
    if (!m) throw new Error(`format(): '{${item}}' (alignment or format specifier) is not modelled`);
    const index = Number(m[1]);
    if (index >= args.length) throw new Error(`format(): '{${index}}' but ${args.length} argument(s)`);
    return formatArgument(args[index]!);
  });
}

/** union() of objects: later values win; nested objects are merged the same way, arrays are replaced. */
function mergeObjects(target: JsonObject, source: JsonObject): JsonObject {
  const out: JsonObject = { ...target };
  for (const [key, value] of Object.entries(source)) {
    const existing = out[key];
    out[key] = isObject(existing) && isObject(value) ? mergeObjects(existing, value) : value;
  }
  return out;
}

function split(input: string, delimiters: string[]): string[] {
  const parts: string[] = [];
  let start = 0;
  let i = 0;
  while (i <= input.length) {
    const delimiter = delimiters.find((d) => d !== '' && input.startsWith(d, i));
    if (delimiter !== undefined) {
      parts.push(input.slice(start, i));
      i += delimiter.length;
      start = i;
    } else {
      i++;
    }
  }
  parts.push(input.slice(start));
  return parts;
}

function firstOrLast(name: 'first' | 'last', value: Json): Json {
  if (typeof value === 'string' || Array.isArray(value)) {
    if (value.length === 0) throw new Error(`${name}() of an empty ${typeName(value)} is not modelled`);
    return name === 'first' ? value[0]! : value[value.length - 1]!;
  }
  throw new Error(`${name}() expects a string or an array, got ${typeName(value)}`);
}

/** resourceId()-style arguments: the optional leading scope values, then the type, then the names. */
function splitAtType(name: string, args: string[]): { before: string[]; type: string; names: string[] } {
  const at = args.findIndex((a) => a.includes('/'));
  if (at < 0) throw new Error(`${name}(): no resource type among the arguments`);
  return { before: args.slice(0, at), type: args[at]!, names: args.slice(at + 1) };
}

const FUNCTIONS: Record<string, TemplateFunction> = {
  parameters: (args, scope) => {
    arity('parameters', args, 1);
    return scope.parameter(asString('parameters', scope.evaluateExpression(args[0]!)));
  },
  variables: (args, scope) => {
    arity('variables', args, 1);
    return scope.variable(asString('variables', scope.evaluateExpression(args[0]!)));
  },
  true: (args) => {
    arity('true', args, 0);
    return true;
  },
  false: (args) => {
    arity('false', args, 0);
    return false;
  },
  null: (args) => {
    arity('null', args, 0);
    return null;
  },

  // Documented: a bool becomes True/False, an int its decimal digits, an object or array its compact JSON.
  string: (args, scope) => {
    arity('string', args, 1);
    const [value] = values(args, scope) as [Json];
    if (typeof value === 'string') return value;
    if (typeof value === 'boolean') return value ? 'True' : 'False';
    if (typeof value === 'number') return String(value);
    if (value === null) throw new Error('string(null) is not modelled');
    return JSON.stringify(value);
  },
  // Documented: only the branch the condition selects is evaluated.
  if: (args, scope) => {
    arity('if', args, 3);
    const condition = asBool('if', scope.evaluateExpression(args[0]!));
    return scope.evaluateExpression(condition ? args[1]! : args[2]!);
  },
  // Case-sensitive for strings (Bicep's case-insensitive =~ compiles to equals(toLower(a), toLower(b))).
  equals: (args, scope) => {
    arity('equals', args, 2);
    const [a, b] = values(args, scope) as [Json, Json];
    return deepEqual(a, b);
  },
  not: (args, scope) => {
    arity('not', args, 1);
    return !asBool('not', scope.evaluateExpression(args[0]!));
  },
  // Every argument is evaluated: the docs promise no short-circuit.
  or: (args, scope) => {
    arity('or', args, 2, Infinity);
    return values(args, scope)
      .map((v) => asBool('or', v))
      .some(Boolean);
  },
  empty: (args, scope) => {
    arity('empty', args, 1);
    const [value] = values(args, scope) as [Json];
    if (value === null) return true;
    if (typeof value === 'string' || Array.isArray(value)) return value.length === 0;
    if (isObject(value)) return Object.keys(value).length === 0;
    throw new Error(`empty() expects an array, object or string, got ${typeName(value)}`);
  },
  format: (args, scope) => {
    arity('format', args, 1, Infinity);
    const [template, ...rest] = values(args, scope) as [Json, ...Json[]];
    return format(asString('format', template), rest);
  },
  // Strings with strings or arrays with arrays, never both.
  concat: (args, scope) => {
    const all = values(args, scope);
    if (all.every((v) => typeof v === 'string')) return all.join('');
    if (all.every((v) => Array.isArray(v))) return all.flat(1);
    throw new Error(`concat() expects all strings or all arrays, got ${all.map(typeName).join(', ')}`);
  },
  // Documented: objects merge recursively, a later value winning; arrays keep each value once, where it
  // first appears.
  union: (args, scope) => {
    arity('union', args, 2, Infinity);
    const all = values(args, scope);
    if (all.every(isObject)) return all.reduce<JsonObject>((acc, o) => mergeObjects(acc, o), {});
    if (all.every((v) => Array.isArray(v))) {
      const out: Json[] = [];
      for (const item of all.flat(1)) if (!out.some((x) => deepEqual(x, item))) out.push(item);
      return out;
    }
    throw new Error(`union() expects all objects or all arrays, got ${all.map(typeName).join(', ')}`);
  },
  createObject: (args, scope) => {
    if (args.length % 2 !== 0) throw new Error('createObject() takes keys and values in pairs');
    const all = values(args, scope);
    const out: JsonObject = {};
    for (let i = 0; i < all.length; i += 2) out[asString('createObject', all[i]!)] = all[i + 1]!;
    return out;
  },
  createArray: (args, scope) => values(args, scope),
  split: (args, scope) => {
    arity('split', args, 2);
    const [input, delimiter] = values(args, scope) as [Json, Json];
    const delimiters = Array.isArray(delimiter)
      ? delimiter.map((d) => asString('split', d))
      : [asString('split', delimiter)];
    return split(asString('split', input), delimiters);
  },
  last: (args, scope) => {
    arity('last', args, 1);
    return firstOrLast('last', scope.evaluateExpression(args[0]!));
  },
  toLower: (args, scope) => {
    arity('toLower', args, 1);
    return asString('toLower', scope.evaluateExpression(args[0]!)).toLowerCase();
  },
  replace: (args, scope) => {
    arity('replace', args, 3);
    const [s, from, to] = values(args, scope).map((v) => asString('replace', v)) as [string, string, string];
    return s.split(from).join(to);
  },
  coalesce: (args, scope) => {
    arity('coalesce', args, 1, Infinity);
    return values(args, scope).find((v) => v !== null) ?? null;
  },
  length: (args, scope) => {
    arity('length', args, 1);
    const [value] = values(args, scope) as [Json];
    if (typeof value === 'string' || Array.isArray(value)) return value.length;
    if (isObject(value)) return Object.keys(value).length;
    throw new Error(`length() expects an array, object or string, got ${typeName(value)}`);
  },
  guid: (args, scope) => {
    arity('guid', args, 1, Infinity);
    return stableGuid(...values(args, scope).map((v) => asString('guid', v)));
  },
  uniqueString: (args, scope) => {
    arity('uniqueString', args, 1, Infinity);
    return stableUniqueString(...values(args, scope).map((v) => asString('uniqueString', v)));
  },

  subscription: (args, scope) => {
    arity('subscription', args, 0);
    const { subscriptionId, tenantId } = scope.context;
    return { id: `/subscriptions/${subscriptionId}`, subscriptionId, tenantId, displayName: 'Production' };
  },
  resourceGroup: (args, scope) => {
    arity('resourceGroup', args, 0);
    const { subscriptionId, resourceGroup } = scope.context;
    if (!resourceGroup) throw new Error('resourceGroup() in a deployment that is not to a resource group');
    return {
      id: scopeId(subscriptionId, resourceGroup.name),
      name: resourceGroup.name,
      type: 'Microsoft.Resources/resourceGroups',
      location: resourceGroup.location,
      tags: {},
      properties: { provisioningState: 'Succeeded' },
    };
  },
  deployment: (args, scope) => {
    arity('deployment', args, 0);
    const { deploymentName, location, resourceGroup } = scope.context;
    return {
      name: deploymentName,
      ...(resourceGroup ? {} : { location }),
      properties: {
        templateHash: String(parseInt(hex(12, JSON.stringify(scope.template)), 16)),
        parameters: {},
        mode: 'Incremental',
        provisioningState: 'Accepted',
      },
    };
  },
  environment: (args) => {
    arity('environment', args, 0);
    return AZURE_CLOUD;
  },

  // resourceId([subscriptionId], [resourceGroupName], type, name1, ...): a resource of the deployment's
  // group, or of the subscription in a deployment to a subscription.
  resourceId: (args, scope) => {
    const strings = values(args, scope).map((v) => asString('resourceId', v));
    const { before: at, type, names } = splitAtType('resourceId', strings);
    if (at.length > 2) throw new Error('resourceId(): too many arguments before the type');
    const subscriptionId = at.length === 2 ? at[0]! : scope.context.subscriptionId;
    const group = at.length >= 1 ? at[at.length - 1] : scope.context.resourceGroup?.name;
    return `${scopeId(subscriptionId, group)}/providers/${providerPath(type, names)}`;
  },
  subscriptionResourceId: (args, scope) => {
    const strings = values(args, scope).map((v) => asString('subscriptionResourceId', v));
    const { before: at, type, names } = splitAtType('subscriptionResourceId', strings);
    if (at.length > 1) throw new Error('subscriptionResourceId(): too many arguments before the type');
    return `${scopeId(at[0] ?? scope.context.subscriptionId)}/providers/${providerPath(type, names)}`;
  },
  reference: (args, scope) => {
    arity('reference', args, 1, 3);
    const [target, , option] = values(args, scope);
    const full = typeof option === 'string' && option.toLowerCase() === 'full';
    return scope.reference(asString('reference', target!), full);
  },
};

const FUNCTIONS_BY_NAME = new Map(Object.entries(FUNCTIONS).map(([name, fn]) => [name.toLowerCase(), fn]));

// ---------- templates ----------

/** Checks a value against a parameter's (or output's) declared type and constraints, as ARM does. */
function checkType(what: string, declaration: JsonObject, value: Json): void {
  const type = typeof declaration.type === 'string' ? declaration.type.toLowerCase() : undefined;
  if (value === null && declaration.nullable === true) return;
  const ok =
    type === undefined ||
    ((type === 'string' || type === 'securestring') && typeof value === 'string') ||
    (type === 'int' && Number.isInteger(value)) ||
    (type === 'bool' && typeof value === 'boolean') ||
    ((type === 'object' || type === 'secureobject') && isObject(value)) ||
    (type === 'array' && Array.isArray(value));
  if (!ok) throw new Error(`${what}: expected ${String(declaration.type)}, got ${typeName(value)}`);
  const allowed = declaration.allowedValues;
  if (Array.isArray(allowed) && !allowed.some((a) => deepEqual(a, value))) {
    throw new Error(`${what}: ${JSON.stringify(value)} is not one of the allowed values`);
  }
  const n = typeof value === 'number' ? value : undefined;
  const length = typeof value === 'string' || Array.isArray(value) ? value.length : undefined;
  const bound = (key: string) =>
    typeof declaration[key] === 'number' ? (declaration[key] as number) : undefined;
  const [minValue, maxValue, minLength, maxLength] = ['minValue', 'maxValue', 'minLength', 'maxLength'].map(
    bound,
  );
  if (
    n !== undefined &&
    ((minValue !== undefined && n < minValue) || (maxValue !== undefined && n > maxValue))
  )
    throw new Error(`${what}: ${n} is out of range`);
  if (
    length !== undefined &&
    ((minLength !== undefined && length < minLength) || (maxLength !== undefined && length > maxLength))
  )
    throw new Error(`${what}: length ${length} is out of range`);
  const additional = declaration.additionalProperties;
  if (isObject(value) && isObject(additional)) {
    for (const [key, item] of Object.entries(value)) checkType(`${what}.${key}`, additional, item);
  }
}

/** A lazily evaluated value (a nested deployment's parameter, evaluated in the parent's scope). */
type Thunk = () => Json;

export interface DeployOptions {
  runtime?: RuntimeTable;
}

/** One template being deployed: its parameters, variables, resources and outputs, evaluated on demand. */
export class TemplateScope {
  private readonly variableValues = new Map<string, Json>();
  private readonly parameterValues = new Map<string, Json>();
  private readonly pending = new Set<string>();
  private readonly deployments = new Map<string, TemplateScope>();

  constructor(
    readonly template: JsonObject,
    private readonly given: ReadonlyMap<string, Thunk>,
    readonly context: DeploymentContext,
    private readonly runtime: RuntimeTable,
    private readonly where = 'template',
  ) {
    const declared = isObject(template.parameters) ? template.parameters : {};
    for (const name of given.keys()) {
      if (findKey(declared, name) === undefined)
        throw new Error(`${where}: parameter '${name}' is not declared`);
    }
  }

  private section(name: 'parameters' | 'variables' | 'outputs'): JsonObject {
    const section = this.template[name];
    return isObject(section) ? section : {};
  }

  /** Evaluates a JSON value of the template: every expression string in it, keys included. */
  evaluate(value: Json): Json {
    if (typeof value === 'string') {
      const s = templateString(value);
      return 'literal' in s ? s.literal : this.evaluateExpression(parseExpression(s.expression));
    }
    if (Array.isArray(value)) return value.map((v) => this.evaluate(v));
    if (isObject(value)) {
      if ('copy' in value && Array.isArray(value.copy)) {
        throw new Error(`${this.where}: property copy loops are not modelled`);
      }
      const out: JsonObject = {};
      for (const [key, item] of Object.entries(value)) {
        const name = this.evaluate(key);
        if (typeof name !== 'string')
          throw new Error(`${this.where}: a property name evaluated to ${typeName(name)}`);
        out[name] = this.evaluate(item);
      }
      return out;
    }
    return value;
  }

  evaluateExpression(expression: Expression): Json {
    switch (expression.kind) {
      case 'literal':
        return expression.value;
      case 'property':
        return property(this.evaluateExpression(expression.target), expression.name);
      case 'index': {
        const target = this.evaluateExpression(expression.target);
        const index = this.evaluateExpression(expression.index);
        if (Array.isArray(target) && typeof index === 'number') {
          if (!Number.isInteger(index) || index < 0 || index >= target.length) {
            throw new Error(`index ${index} is out of range of an array of ${target.length}`);
          }
          return target[index]!;
        }
        if (isObject(target) && typeof index === 'string') return property(target, index);
        throw new Error(`[${typeName(index)}] of a ${typeName(target)}`);
      }
      case 'call': {
        const fn = FUNCTIONS_BY_NAME.get(expression.name.toLowerCase());
        if (!fn) {
          throw new Error(
            `${this.where}: template function '${expression.name}' is not modelled by test/helpers/armTemplate.ts`,
          );
        }
        return fn(expression.args, this);
      }
    }
  }

  /** parameters(name): the value given, else the default (evaluated here), checked against its type. */
  parameter(name: string): Json {
    const declarations = this.section('parameters');
    const key = findKey(declarations, name);
    if (key === undefined) throw new Error(`${this.where}: parameters('${name}') is not declared`);
    if (this.parameterValues.has(key)) return this.parameterValues.get(key)!;
    const declaration = declarations[key];
    if (!isObject(declaration)) throw new Error(`${this.where}: parameter '${key}' has no declaration`);
    const given = [...this.given].find(([n]) => n.toLowerCase() === key.toLowerCase())?.[1];
    let value: Json;
    if (given) value = given();
    else if ('defaultValue' in declaration)
      value = this.once(`parameter ${key}`, () => this.evaluate(declaration.defaultValue!));
    else if (declaration.nullable === true) value = null;
    else throw new Error(`${this.where}: parameter '${key}' has no value and no default`);
    checkType(`${this.where}: parameter '${key}'`, declaration, value);
    this.parameterValues.set(key, value);
    return value;
  }

  /** Reads every parameter, as a deployment does when it starts: a missing or invalid one throws. */
  checkParameters(): this {
    for (const name of Object.keys(this.section('parameters'))) this.parameter(name);
    return this;
  }

  /** variables(name), evaluated once. */
  variable(name: string): Json {
    const declarations = this.section('variables');
    const key = findKey(declarations, name);
    if (key === undefined || key === 'copy') {
      throw new Error(
        `${this.where}: variables('${name}') is not declared (variable copy loops are not modelled)`,
      );
    }
    if (!this.variableValues.has(key)) {
      this.variableValues.set(
        key,
        this.once(`variable ${key}`, () => this.evaluate(declarations[key]!)),
      );
    }
    return this.variableValues.get(key)!;
  }

  private once(what: string, evaluate: () => Json): Json {
    if (this.pending.has(what)) throw new Error(`${this.where}: ${what} depends on itself`);
    this.pending.add(what);
    try {
      return evaluate();
    } finally {
      this.pending.delete(what);
    }
  }

  /** The template's resources with their symbolic names (languageVersion 2.0) or their positions. */
  resources(): Array<[string, JsonObject]> {
    const resources = this.template.resources;
    const entries: Array<[string, Json]> = Array.isArray(resources)
      ? resources.map((r, i) => [String(i), r])
      : isObject(resources)
        ? Object.entries(resources)
        : [];
    return entries.filter((e): e is [string, JsonObject] => isObject(e[1]));
  }

  /** Whether a resource is deployed: its condition, if it has one. */
  deployed(resource: JsonObject): boolean {
    if (!('condition' in resource)) return true;
    const condition = this.evaluate(resource.condition!);
    if (typeof condition !== 'boolean')
      throw new Error(`${this.where}: a condition evaluated to ${typeName(condition)}`);
    return condition;
  }

  private loopFree(symbol: string, resource: JsonObject): void {
    if ('copy' in resource)
      throw new Error(`${this.where}: resource '${symbol}' is a copy loop, which is not modelled`);
    if ('scope' in resource)
      throw new Error(`${this.where}: resource '${symbol}' has a scope, which is not modelled`);
  }

  /** Subscription and resource group a resource of this template is deployed to. */
  private placement(resource: JsonObject): { subscriptionId: string; resourceGroup?: string } {
    const evaluated = (key: string) => {
      const v = key in resource ? this.evaluate(resource[key]!) : undefined;
      if (v !== undefined && typeof v !== 'string')
        throw new Error(`${this.where}: ${key} evaluated to ${typeName(v)}`);
      return v;
    };
    const subscriptionId = evaluated('subscriptionId') ?? this.context.subscriptionId;
    const resourceGroup = evaluated('resourceGroup') ?? this.context.resourceGroup?.name;
    return resourceGroup === undefined ? { subscriptionId } : { subscriptionId, resourceGroup };
  }

  private resourceName(resource: JsonObject): string {
    const name = this.evaluate(resource.name ?? null);
    if (typeof name !== 'string')
      throw new Error(`${this.where}: a resource name evaluated to ${typeName(name)}`);
    return name;
  }

  /** The id of one of the template's resources. */
  resourceIdOf(resource: JsonObject): string {
    const type = String(resource.type);
    const name = this.resourceName(resource);
    const { subscriptionId, resourceGroup } = this.placement(resource);
    if (type.toLowerCase() === 'microsoft.resources/resourcegroups') return scopeId(subscriptionId, name);
    return `${scopeId(subscriptionId, resourceGroup)}/providers/${providerPath(type, name.split('/'))}`;
  }

  /** The scope of a nested deployment (a Bicep module) of this template, created once. */
  nested(symbol: string, resource: JsonObject): TemplateScope {
    const existing = this.deployments.get(symbol);
    if (existing) return existing;
    this.loopFree(symbol, resource);
    if (String(resource.type).toLowerCase() !== DEPLOYMENTS)
      throw new Error(`'${symbol}' is not a deployment`);
    if (!this.deployed(resource))
      throw new Error(`${this.where}: deployment '${symbol}' is not deployed (condition)`);
    const properties = isObject(resource.properties) ? resource.properties : {};
    const options = properties.expressionEvaluationOptions;
    if (!isObject(options) || String(options.scope).toLowerCase() !== 'inner') {
      throw new Error(
        `${this.where}: deployment '${symbol}' is not evaluated in the inner scope, which is not modelled`,
      );
    }
    if (!isObject(properties.template))
      throw new Error(`${this.where}: deployment '${symbol}' has no inline template`);
    const parameters = isObject(properties.parameters) ? properties.parameters : {};
    const given = new Map<string, Thunk>();
    for (const [name, parameter] of Object.entries(parameters)) {
      if (!isObject(parameter) || !('value' in parameter)) {
        throw new Error(
          `${this.where}: parameter '${name}' of '${symbol}' is not a plain value, which is not modelled`,
        );
      }
      let cached: { value: Json } | undefined;
      given.set(name, () => (cached ??= { value: this.evaluate(parameter.value!) }).value);
    }
    const { subscriptionId, resourceGroup } = this.placement(resource);
    const location = 'location' in resource ? this.evaluate(resource.location!) : undefined;
    const groupLocation = resourceGroup === undefined ? undefined : this.groupLocation(resourceGroup);
    const context: DeploymentContext = {
      tenantId: this.context.tenantId,
      subscriptionId,
      ...(resourceGroup === undefined
        ? {}
        : { resourceGroup: { name: resourceGroup, location: groupLocation! } }),
      deploymentName: this.resourceName(resource),
      location: typeof location === 'string' ? location : (groupLocation ?? this.context.location),
    };
    const scope = new TemplateScope(
      properties.template,
      given,
      context,
      this.runtime,
      `${this.where} > ${symbol}`,
    );
    this.deployments.set(symbol, scope);
    return scope.checkParameters();
  }

  /** The region of a group: the one this template creates, this deployment's own, else this deployment's region. */
  private groupLocation(name: string): string {
    if (this.context.resourceGroup?.name.toLowerCase() === name.toLowerCase())
      return this.context.resourceGroup.location;
    for (const [, resource] of this.resources()) {
      if (
        String(resource.type).toLowerCase() === 'microsoft.resources/resourcegroups' &&
        this.resourceName(resource).toLowerCase() === name.toLowerCase()
      ) {
        const location = this.evaluate(resource.location ?? null);
        if (typeof location === 'string') return location;
      }
    }
    return this.context.location;
  }

  /** outputs(name) of this template, as a deployment returns it. */
  output(name: string): Json {
    const outputs = this.section('outputs');
    const key = findKey(outputs, name);
    const declaration = key === undefined ? undefined : outputs[key];
    if (!isObject(declaration)) throw new Error(`${this.where}: output '${name}' is not declared`);
    if ('copy' in declaration) throw new Error(`${this.where}: output copy loops are not modelled`);
    if ('condition' in declaration && this.evaluate(declaration.condition!) !== true) {
      throw new Error(`${this.where}: output '${name}' is not returned (condition)`);
    }
    const value = this.evaluate(declaration.value ?? null);
    checkType(`${this.where}: output '${name}'`, declaration, value);
    return value;
  }

  /** What reference() of a nested deployment returns: its outputs, each evaluated when read. */
  private deploymentReference(scope: TemplateScope): JsonObject {
    const outputs: JsonObject = {};
    for (const [name, declaration] of Object.entries(scope.section('outputs'))) {
      let cached: JsonObject | undefined;
      Object.defineProperty(outputs, name, {
        enumerable: true,
        get: () =>
          (cached ??= {
            type: isObject(declaration) ? (declaration.type ?? null) : null,
            value: scope.output(name),
          }),
      });
    }
    return { provisioningState: 'Succeeded', mode: 'Incremental', outputs };
  }

  private runtimeResource(
    type: string,
    id: string,
    name: string,
    location: string,
    full: boolean,
  ): JsonObject {
    const properties = this.runtime[type.toLowerCase()];
    if (!properties)
      throw new Error(`${this.where}: reference() of a ${type} (${id}): not in the runtime table`);
    const subscriptionId = /^\/subscriptions\/([^/]+)/i.exec(id)?.[1] ?? this.context.subscriptionId;
    const props = properties({ type, id, name, location, subscriptionId, tenantId: this.context.tenantId });
    return full ? { id, name, type, location, properties: props } : props;
  }

  /** reference(symbolic name or resource id, ..., 'Full'?). */
  reference(target: string, full: boolean): Json {
    const resources = this.template.resources;
    if (isObject(resources) && isObject(resources[target])) {
      const resource = resources[target];
      this.loopFree(target, resource);
      if (!this.deployed(resource))
        throw new Error(`${this.where}: reference('${target}') of a resource that is not deployed`);
      if (String(resource.type).toLowerCase() === DEPLOYMENTS)
        return this.deploymentReference(this.nested(target, resource));
      const location = 'location' in resource ? this.evaluate(resource.location!) : this.context.location;
      if (typeof location !== 'string')
        throw new Error(`${this.where}: location of '${target}' is not a string`);
      return this.runtimeResource(
        String(resource.type),
        this.resourceIdOf(resource),
        this.resourceName(resource),
        location,
        full,
      );
    }
    if (!target.startsWith('/'))
      throw new Error(`${this.where}: reference('${target}') is neither a symbolic name nor a resource id`);
    const { type, name } = parseResourceId(target);
    if (type.toLowerCase() === DEPLOYMENTS) {
      const match = this.resources().find(
        ([, r]) =>
          String(r.type).toLowerCase() === DEPLOYMENTS &&
          this.resourceIdOf(r).toLowerCase() === target.toLowerCase(),
      );
      if (!match)
        throw new Error(`${this.where}: reference('${target}'): no such deployment in this template`);
      return this.deploymentReference(this.nested(match[0], match[1]));
    }
    return this.runtimeResource(type, target, name, this.context.location, full);
  }
}

/**
 * Starts a deployment of `template` with `parameters` (values as a parameters file gives them: taken
 * literally, never evaluated) in `context`.
 */
export function deploy(
  template: JsonObject,
  parameters: Readonly<Record<string, Json>>,
  context: DeploymentContext,
  options: DeployOptions = {},
): TemplateScope {
  const given = new Map<string, Thunk>(
    Object.entries(parameters).map(([name, value]) => [name, () => value]),
  );
  return new TemplateScope(template, given, context, options.runtime ?? AZURE_RUNTIME).checkParameters();
}

/** Evaluates one template expression string (e.g. `[string(true)]`) in a template of its own. */
export function evaluateString(
  value: string,
  template: JsonObject = {},
  parameters: Readonly<Record<string, Json>> = {},
): Json {
  const context: DeploymentContext = {
    tenantId: stableGuid('tenant'),
    subscriptionId: stableGuid('subscription'),
    resourceGroup: { name: 'rg-test', location: 'westeurope' },
    deploymentName: 'test',
    location: 'westeurope',
  };
  return deploy(template, parameters, context).evaluate(value);
}

/**
 * The resources of `type` in a deployment and every deployment nested in it (only deployments whose
 * condition holds), each with the scope it is evaluated in.
 */
export function findResources(
  scope: TemplateScope,
  type: string,
): Array<{ scope: TemplateScope; symbol: string; resource: JsonObject }> {
  const found: Array<{ scope: TemplateScope; symbol: string; resource: JsonObject }> = [];
  const mentions = (template: Json): boolean =>
    JSON.stringify(template).toLowerCase().includes(`"${type.toLowerCase()}"`);
  for (const [symbol, resource] of scope.resources()) {
    const resourceType = String(resource.type).toLowerCase();
    if (resourceType === type.toLowerCase()) found.push({ scope, symbol, resource });
    else if (
      resourceType === DEPLOYMENTS &&
      isObject(resource.properties) &&
      mentions(resource.properties.template ?? null) &&
      scope.deployed(resource)
    ) {
      found.push(...findResources(scope.nested(symbol, resource), type));
    }
  }
  return found;
}
