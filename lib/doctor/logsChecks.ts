import { API_VERSIONS, isResourceId, reasonOf, type Resource, type ResourceReader } from '../azure/resources';
import { ROW_COLUMNS } from '../records/row';
import { check, type Check } from './model';

export interface Column {
  name: string;
  type: string;
}

/** What a stream or table has that the row does not, lacks, or types differently. */
export interface ColumnDrift {
  missing: Column[];
  unexpected: Column[];
  mistyped: Array<{ name: string; expected: string; actual: string }>;
}

/** Tables spell `dateTime` where streams spell `datetime`: types compare without case. */
export function compareColumns(expected: readonly Column[], actual: readonly Column[]): ColumnDrift {
  const have = new Map(actual.map((c) => [c.name, c.type]));
  const want = new Set(expected.map((c) => c.name));
  const drift: ColumnDrift = { missing: [], unexpected: [], mistyped: [] };
  for (const column of expected) {
    const type = have.get(column.name);
    if (type === undefined) drift.missing.push(column);
    else if (type.toLowerCase() !== column.type.toLowerCase())
      drift.mistyped.push({ name: column.name, expected: column.type, actual: type });
  }
  for (const column of actual) if (!want.has(column.name)) drift.unexpected.push(column);
  return drift;
}

const hasDrift = (d: ColumnDrift) => d.missing.length + d.unexpected.length + d.mistyped.length > 0;

export function driftText(drift: ColumnDrift): string {
  return [
    ...drift.missing.map((c) => `missing ${c.name} (${c.type})`),
    ...drift.mistyped.map((c) => `${c.name} is ${c.actual}, the row sends ${c.expected}`),
    ...drift.unexpected.map((c) => `${c.name} (${c.type}) is not in the row`),
  ].join('; ');
}

interface DataFlow {
  streams?: string[];
  destinations?: string[];
  outputStream?: string;
}

interface RuleProperties {
  immutableId?: string;
  dataCollectionEndpointId?: string;
  endpoints?: { logsIngestion?: string };
  streamDeclarations?: Record<string, { columns?: Column[] }>;
  destinations?: { logAnalytics?: Array<{ name?: string; workspaceResourceId?: string }> };
  dataFlows?: DataFlow[];
}

const REDEPLOY =
  'Redeploy infra/main.bicep (its data collection rule declares the row, infra/row-columns.json), or edit the rule to match it.';

/** Where the rule sends `stream` in a workspace: the table and the workspace, when a data flow does. */
export function ruleTarget(
  rule: Resource,
  stream: string,
): { table: string; workspaceResourceId: string } | undefined {
  const properties = rule.properties as RuleProperties;
  const workspaces = new Map(
    (properties.destinations?.logAnalytics ?? []).map((d) => [d.name ?? '', d.workspaceResourceId ?? '']),
  );
  for (const flow of properties.dataFlows ?? []) {
    if (!flow.streams?.includes(stream)) continue;
    // A flow without outputStream sends a Custom- stream to the table of the same name.
    const output = flow.outputStream ?? stream;
    const workspace = (flow.destinations ?? []).map((d) => workspaces.get(d)).find(Boolean);
    if (output.startsWith('Custom-') && output.endsWith('_CL') && workspace)
      return { table: output.slice('Custom-'.length), workspaceResourceId: workspace };
  }
  return undefined;
}

/**
 * The rule against what the app sends: its immutable id is LOGS_DCR_IMMUTABLE_ID, it declares `stream` with
 * exactly the row's columns and types (Log Analytics drops, without a word, what a stream does not declare),
 * and a data flow takes the stream to a `_CL` table in a workspace. Pure: the timer judges with it too.
 */
export function ruleChecks(
  rule: Resource,
  expected: { immutableId?: string; stream: string; table: string },
): Check[] {
  const properties = rule.properties as RuleProperties;
  const checks: Check[] = [];
  const immutableId = properties.immutableId ?? '';
  checks.push(
    expected.immutableId && immutableId.toLowerCase() !== expected.immutableId.toLowerCase()
      ? check(
          'logs',
          'data collection rule',
          'fail',
          `${rule.name} has immutable id ${immutableId || '(none)'}, but LOGS_DCR_IMMUTABLE_ID names another rule`,
          'Set LOGS_DCR_IMMUTABLE_ID and LOGS_DCR_RESOURCE_ID to the same rule (az monitor data-collection rule show --ids <id> --query immutableId).',
        )
      : check('logs', 'data collection rule', 'pass', `${rule.name} (${immutableId})`),
  );
  const declared = properties.streamDeclarations?.[expected.stream]?.columns;
  if (!declared) {
    checks.push(
      check(
        'logs',
        `stream ${expected.stream}`,
        'fail',
        `the rule declares no stream ${expected.stream} (it declares ${Object.keys(properties.streamDeclarations ?? {}).join(', ') || 'none'}): every upload is refused`,
        `Set LOGS_STREAM_NAME to the rule's stream, or ${REDEPLOY.charAt(0).toLowerCase()}${REDEPLOY.slice(1)}`,
      ),
    );
  } else {
    const drift = compareColumns(ROW_COLUMNS, declared);
    checks.push(
      hasDrift(drift)
        ? check(
            'logs',
            `stream ${expected.stream}`,
            'fail',
            `the stream does not match the row: ${driftText(drift)}`,
            REDEPLOY,
          )
        : check(
            'logs',
            `stream ${expected.stream}`,
            'pass',
            `declares the row's ${ROW_COLUMNS.length} columns`,
          ),
    );
  }
  const target = ruleTarget(rule, expected.stream);
  checks.push(
    !target
      ? check(
          'logs',
          'data flow',
          'fail',
          `no data flow takes ${expected.stream} to a custom table in a Log Analytics workspace`,
          REDEPLOY,
        )
      : target.table !== expected.table
        ? check(
            'logs',
            'data flow',
            'warn',
            `${expected.stream} flows to ${target.table}, not ${expected.table}: the KQL functions, workbook and alert rules read ${expected.table}`,
            REDEPLOY,
          )
        : check('logs', 'data flow', 'pass', `${expected.stream} → ${target.table}`),
  );
  return checks;
}

export const LOGS_TABLE = 'DefenderExport_CL';

/**
 * Everything on the logs side that Resource Manager can tell: the rule (ruleChecks), its endpoint against
 * LOGS_INGESTION_ENDPOINT, and the table's columns.
 */
export async function logsResourceChecks(
  reader: ResourceReader,
  settings: { ruleId: string; immutableId?: string; stream: string; endpoint?: string },
): Promise<{ checks: Check[]; rule?: Resource }> {
  const read = await reader.get(settings.ruleId, API_VERSIONS.dataCollectionRule);
  if (!('found' in read)) {
    return {
      checks: [
        check(
          'logs',
          'data collection rule',
          'fail',
          'missing' in read
            ? `LOGS_DCR_RESOURCE_ID: no such rule (${read.missing})`
            : `LOGS_DCR_RESOURCE_ID: the rule could not be read (${reasonOf(read)})`,
          'missing' in read
            ? 'Set LOGS_DCR_RESOURCE_ID to the rule the app sends to (the deployment output dataCollectionRuleId), or redeploy infra/main.bicep.'
            : 'Reading the rule needs Reader (or Monitoring Reader) on it.',
        ),
      ],
    };
  }
  const rule = read.found;
  const checks = ruleChecks(rule, {
    ...(settings.immutableId ? { immutableId: settings.immutableId } : {}),
    stream: settings.stream,
    table: LOGS_TABLE,
  });
  if (settings.endpoint) checks.push(await endpointCheck(reader, rule, settings.endpoint));
  const target = ruleTarget(rule, settings.stream);
  if (target) checks.push(await tableCheck(reader, target));
  return { checks, rule };
}

const hostOf = (url: string) => {
  try {
    return new URL(url).host.toLowerCase();
  } catch {
    return url;
  }
};

/**
 * LOGS_INGESTION_ENDPOINT is one the rule takes: its own (a rule of kind Direct) or its data collection
 * endpoint's. Either will do: a rule may have both.
 */
async function endpointCheck(reader: ResourceReader, rule: Resource, endpoint: string): Promise<Check> {
  const properties = rule.properties as RuleProperties;
  const endpoints = properties.endpoints?.logsIngestion ? [properties.endpoints.logsIngestion] : [];
  let unread: string | undefined;
  if (properties.dataCollectionEndpointId && isResourceId(properties.dataCollectionEndpointId)) {
    const dce = await reader.get(properties.dataCollectionEndpointId, API_VERSIONS.dataCollectionEndpoint);
    if ('found' in dce) {
      const own = (dce.found.properties as { logsIngestion?: { endpoint?: string } }).logsIngestion?.endpoint;
      if (own) endpoints.push(own);
    } else unread = reasonOf(dce);
  }
  const name = 'ingestion endpoint';
  const host = hostOf(endpoint);
  if (endpoints.some((e) => hostOf(e) === host))
    return check('logs', name, 'pass', `LOGS_INGESTION_ENDPOINT is the rule's (${host})`);
  if (unread && endpoints.length === 0)
    return check('logs', name, 'warn', `the rule's data collection endpoint could not be read (${unread})`);
  if (endpoints.length === 0)
    return check(
      'logs',
      name,
      'fail',
      'the rule has no logs ingestion endpoint (no data collection endpoint, and it is not of kind Direct)',
      REDEPLOY,
    );
  return check(
    'logs',
    name,
    'fail',
    `LOGS_INGESTION_ENDPOINT is ${host}, the rule's endpoint is ${endpoints.map(hostOf).join(' or ')}`,
    "Set LOGS_INGESTION_ENDPOINT to the rule's endpoint (the deployment output logsIngestionEndpoint).",
  );
}

async function tableCheck(
  reader: ResourceReader,
  target: { table: string; workspaceResourceId: string },
): Promise<Check> {
  if (!isResourceId(target.workspaceResourceId))
    return check('logs', `table ${target.table}`, 'warn', "the rule's workspace is not a resource id");
  const id = `${target.workspaceResourceId}/tables/${target.table}`;
  const read = await reader.get(id, API_VERSIONS.workspaceTable);
  const name = `table ${target.table}`;
  if (!('found' in read)) {
    return 'missing' in read
      ? check('logs', name, 'fail', `the workspace has no table ${target.table}`, REDEPLOY)
      : check(
          'logs',
          name,
          'warn',
          `the table could not be read (${reasonOf(read)})`,
          'Reading the table needs Reader (or Log Analytics Reader) on the workspace.',
        );
  }
  const schema = (read.found.properties as { schema?: { columns?: Column[]; standardColumns?: Column[] } })
    .schema;
  // TimeGenerated may be listed with the standard columns. The table may hold more (columns added later);
  // what the row sends must be there.
  const drift = compareColumns(ROW_COLUMNS, [...(schema?.columns ?? []), ...(schema?.standardColumns ?? [])]);
  const problems: ColumnDrift = { missing: drift.missing, mistyped: drift.mistyped, unexpected: [] };
  return hasDrift(problems)
    ? check(
        'logs',
        name,
        'fail',
        `the table does not hold the row: ${driftText(problems)} (ingestion drops what the table lacks)`,
        REDEPLOY,
      )
    : check('logs', name, 'pass', `holds the row's ${ROW_COLUMNS.length} columns`);
}
