import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deploy,
  isObject,
  parseExpression,
  templateString,
  type Expression,
  type Json,
  type JsonObject,
  type TemplateScope,
} from '../helpers/armTemplate';
import {
  BICEP_REQUIRED,
  buildAll,
  buildParams,
  diagnosticsByFile,
  findBicep,
  HOW_TO_GET_BICEP,
  lintAll,
  ROOT,
  runBicep,
  withoutParameterVariables,
} from '../helpers/bicep';
import { DEPLOYMENT_CONTEXT, REALISTIC_PARAMETERS } from '../helpers/templateSettings';

/**
 * The real Bicep compiler and linter over infra/: every template builds and lints with no diagnostic at all
 * (infra/bicepconfig.json makes every linter rule an error), every parameters file builds. Each check runs
 * the CLI once for all files (a run takes seconds), then each file is its own test.
 */

const INFRA = path.join(ROOT, 'infra');
const files = (readdirSync(INFRA, { recursive: true }) as string[]).map((f) => path.join(INFRA, f)).sort();
const templates = files.filter((f) => f.endsWith('.bicep'));
const parameterFiles = files.filter((f) => f.endsWith('.bicepparam'));
const relative = (file: string) => path.relative(ROOT, file);

const bicep = findBicep();
if (!bicep && !BICEP_REQUIRED) console.log(HOW_TO_GET_BICEP);

it.runIf(BICEP_REQUIRED)('finds a Bicep CLI (DEFENDER_EXPORT_REQUIRE_BICEP is set)', () => {
  expect(bicep, HOW_TO_GET_BICEP).toBeDefined();
});

describe.skipIf(!bicep)(`bicep build, build-params and lint over infra/ (CLI from ${bicep?.source})`, () => {
  let outdir: string;
  let built: Map<string, string[]>;
  let linted: Map<string, string[]>;

  beforeAll(() => {
    outdir = mkdtempSync(path.join(os.tmpdir(), 'bicep-build-'));
    // Patterns are relative to infra/, and so are the paths of the built files in outdir.
    built = diagnosticsByFile(buildAll('**/*.bicep', outdir, { cwd: INFRA }), templates);
    linted = diagnosticsByFile(lintAll('**/*.bicep*', { cwd: INFRA }), [...templates, ...parameterFiles]);
  });

  afterAll(() => {
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  });

  it('finds templates and parameters files under infra/', () => {
    expect(templates).toContain(path.join(INFRA, 'main.bicep'));
    expect(parameterFiles).toContain(path.join(INFRA, 'main.bicepparam'));
  });

  it.each(templates.map(relative))('bicep build %s: an ARM template, no diagnostics', (file) => {
    expect(built.get(path.join(ROOT, file))).toEqual([]);
    const json = path.join(outdir, path.relative('infra', file).replace(/\.bicep$/, '.json'));
    expect(existsSync(json), `${json} written`).toBe(true);
    expect(JSON.parse(readFileSync(json, 'utf8'))).toHaveProperty('resources');
  });

  it.each([...templates, ...parameterFiles].map(relative))('bicep lint %s: no diagnostics', (file) => {
    expect(linted.get(path.join(ROOT, file))).toEqual([]);
  });

  it.each(parameterFiles.map(relative))('bicep build-params %s: parameters, no diagnostics', (file) => {
    const result = buildParams(file, { env: withoutParameterVariables(file) });
    expect(result.diagnostics).toEqual([]);
    expect(result.status).toBe(0);
    const output = JSON.parse(result.stdout) as { parametersJson: string };
    expect(JSON.parse(output.parametersJson)).toHaveProperty('parameters');
  });

  it('leaves no compiled JSON next to the templates', () => {
    const stray = templates.map((f) => f.replace(/\.bicep$/, '.json')).filter((f) => existsSync(f));
    expect(stray.map(relative)).toEqual([]);
  });
});

// ---------- table plans ----------

/**
 * The bulk table and stream for each value of bulkTablePlan (DEFENDER_EXPORT_BULK_TABLE_PLAN in
 * main.bicepparam): the parameters file built and linted by the real CLI with no diagnostic, then the
 * compiled template deployed on paper (test/helpers/armTemplate.ts) and the tables and the data collection
 * rule it would write checked against the documented plan rules:
 * - learn.microsoft.com/azure/azure-monitor/logs/create-custom-table-auxiliary: an Auxiliary table is
 *   created with its plan and takes string, int, long, real, boolean, guid and dateTime columns, no dynamic;
 * - .../logs/data-retention-configure: Basic and Auxiliary tables have no interactive retention to set;
 * - .../logs/logs-table-plans: DefenderExport_CL keeps Analytics (alerts, workbook and functions read it).
 */
const MAIN_PARAMETERS = 'infra/main.bicepparam';
const PLAN_VARIABLE = 'DEFENDER_EXPORT_BULK_TABLE_PLAN';
const BULK_PLANS = ['Basic', 'Auxiliary', 'Analytics'] as const;
const PLANS = ['none', ...BULK_PLANS] as const;
type Plan = (typeof PLANS)[number];
const BULK_STREAM = 'Custom-DefenderExportBulk';
const BULK_TABLE = 'DefenderExportBulk_CL';
/** The column types the Auxiliary plan takes (create-custom-table-auxiliary: its sample lists them all). */
const AUXILIARY_TYPES = ['string', 'int', 'long', 'real', 'boolean', 'guid', 'dateTime'];
const ROW_COLUMNS = (
  JSON.parse(readFileSync(path.join(INFRA, 'row-columns.json'), 'utf8')) as {
    columns: Array<{ name: string; type: string }>;
  }
).columns;

const planEnvironment = (plan: string) => ({
  ...withoutParameterVariables(MAIN_PARAMETERS),
  [PLAN_VARIABLE]: plan,
});

/**
 * Evaluates a template value in `scope`: by the helper, and where it meets a function it does not model
 * (the lambdas of the column lists: map, lambda, lambdaVariables), by the small evaluator below, which
 * knows those and the few functions around them; anything else still throws. Variables are evaluated here
 * too (they may hold lambdas); parameters come from the helper's scope.
 */
function evaluateWithLambdas(scope: TemplateScope, value: Json, lambdas = new Map<string, Json>()): Json {
  if (Array.isArray(value)) return value.map((v) => evaluateWithLambdas(scope, v, lambdas));
  if (isObject(value))
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, evaluateWithLambdas(scope, v, lambdas)]),
    );
  if (typeof value !== 'string') return value;
  const parsed = templateString(value);
  if ('literal' in parsed) return parsed.literal;
  if (lambdas.size === 0) {
    try {
      return scope.evaluate(value);
    } catch (error) {
      if (!/is not modelled/.test((error as Error).message)) throw error;
    }
  }
  return evaluateExpression(scope, parseExpression(parsed.expression), lambdas);
}

function evaluateExpression(scope: TemplateScope, e: Expression, lambdas: Map<string, Json>): Json {
  if (e.kind === 'literal') return e.value;
  if (e.kind === 'property') {
    const target = evaluateExpression(scope, e.target, lambdas);
    if (!isObject(target) || !(e.name in target)) throw new Error(`no property ${e.name}`);
    return target[e.name]!;
  }
  if (e.kind === 'index') {
    const target = evaluateExpression(scope, e.target, lambdas);
    const index = evaluateExpression(scope, e.index, lambdas);
    if (Array.isArray(target) && typeof index === 'number') return target[index]!;
    if (isObject(target) && typeof index === 'string') return target[index]!;
    throw new Error('unsupported index');
  }
  const call = e;
  const arg = (i: number): Json => evaluateExpression(scope, call.args[i]!, lambdas);
  const args = (): Json[] => call.args.map((_, i) => arg(i));
  switch (e.name.toLowerCase()) {
    case 'parameters':
      return scope.parameter(String(arg(0)));
    case 'variables': {
      const variables = scope.template.variables as JsonObject;
      return evaluateWithLambdas(scope, variables[String(arg(0))]!, lambdas);
    }
    case 'lambdavariables': {
      const name = String(arg(0));
      if (!lambdas.has(name)) throw new Error(`lambdaVariables('${name}') outside its lambda`);
      return lambdas.get(name)!;
    }
    case 'map': {
      const items = arg(0);
      const lambda = e.args[1];
      if (!Array.isArray(items) || lambda?.kind !== 'call' || lambda.name.toLowerCase() !== 'lambda')
        throw new Error('map() takes an array and a lambda');
      const name = String(evaluateExpression(scope, lambda.args[0]!, lambdas));
      return items.map((item) =>
        evaluateExpression(scope, lambda.args[1]!, new Map([...lambdas, [name, item]])),
      );
    }
    case 'if':
      return arg(0) === true ? arg(1) : arg(2);
    case 'equals':
      return JSON.stringify(arg(0)) === JSON.stringify(arg(1));
    case 'not':
      return arg(0) !== true;
    case 'and':
      return args().every((v) => v === true);
    case 'or':
      return args().some((v) => v === true);
    case 'empty': {
      const v = arg(0);
      return (
        v === null ||
        v === '' ||
        (Array.isArray(v) ? v.length === 0 : isObject(v) && Object.keys(v).length === 0)
      );
    }
    case 'createobject': {
      const values = args();
      const out: JsonObject = {};
      for (let i = 0; i < values.length; i += 2) out[String(values[i])] = values[i + 1]!;
      return out;
    }
    case 'createarray':
      return args();
    case 'concat': {
      const values = args();
      return values.every(Array.isArray) ? (values as Json[][]).flat(1) : values.map(String).join('');
    }
    case 'union': {
      const values = args();
      if (!values.every(isObject)) throw new Error('union() of objects only, here');
      return Object.assign({}, ...(values as JsonObject[]));
    }
    case 'format': {
      const [text, ...rest] = args();
      return String(text).replace(/\{(\d+)\}/g, (_, i: string) => String(rest[Number(i)]));
    }
    default:
      throw new Error(`${e.name}() is not evaluated by evaluateWithLambdas`);
  }
}

/** The scope of one of main.bicep's modules, by symbolic name. */
function moduleScope(root: TemplateScope, symbol: string): TemplateScope {
  const entry = root.resources().find(([name]) => name === symbol);
  if (!entry) throw new Error(`main.bicep has no module ${symbol}`);
  return root.nested(entry[0], entry[1]);
}

interface Table {
  name: string;
  properties: JsonObject;
}
interface Rule {
  name: string;
  streamDeclarations: Record<string, { columns: Array<{ name: string; type: string }> }>;
  dataFlows: Array<{
    streams: string[];
    destinations: string[];
    transformKql?: string;
    outputStream: string;
  }>;
}

describe.skipIf(!bicep)('table plans: the bulk table and stream for each bulkTablePlan', () => {
  const deployed = new Map<
    Plan,
    { tables: Table[]; rule: Rule; root: TemplateScope; diagnostics: string[] }
  >();

  beforeAll(() => {
    for (const plan of PLANS) {
      const env = planEnvironment(plan);
      const built = buildParams(MAIN_PARAMETERS, { env });
      const linted = runBicep(['lint', MAIN_PARAMETERS], { env });
      const diagnostics = [...built.diagnostics, ...linted.diagnostics];
      if (built.status !== 0) throw new Error(`build-params with ${plan}:\n${diagnostics.join('\n')}`);
      const output = JSON.parse(built.stdout) as { parametersJson: string; templateJson: string };
      const parameters = Object.fromEntries(
        Object.entries(
          (JSON.parse(output.parametersJson) as { parameters: Record<string, { value: Json }> }).parameters,
        ).map(([name, p]) => [name, p.value]),
      );
      const root = deploy(
        JSON.parse(output.templateJson) as JsonObject,
        { ...parameters, ...REALISTIC_PARAMETERS },
        { ...DEPLOYMENT_CONTEXT, location: String(REALISTIC_PARAMETERS.location) },
      );
      const content = moduleScope(root, 'workspaceContent');
      const tables = content
        .resources()
        .map(([, r]) => r)
        .filter((r) => r.type === 'Microsoft.OperationalInsights/workspaces/tables' && content.deployed(r))
        .map((r) => ({
          name: String(content.evaluate(r.name!)).split('/').pop()!,
          properties: evaluateWithLambdas(content, r.properties!) as JsonObject,
        }));
      const ingestion = moduleScope(root, 'logsIngestion');
      const rules = ingestion
        .resources()
        .filter(([, r]) => r.type === 'Microsoft.Insights/dataCollectionRules');
      expect(rules).toHaveLength(1);
      const [, rule] = rules[0]!;
      deployed.set(plan, {
        tables,
        rule: {
          name: String(ingestion.evaluate(rule.name!)),
          ...(evaluateWithLambdas(ingestion, rule.properties!) as unknown as Omit<Rule, 'name'>),
        },
        root,
        diagnostics,
      });
    }
  });

  const get = (plan: Plan) => deployed.get(plan)!;
  const table = (plan: Plan, name: string) => get(plan).tables.find((t) => t.name === name);
  const columnsOf = (t: Table | undefined) =>
    ((t?.properties.schema as JsonObject | undefined)?.columns ?? []) as Array<{
      name: string;
      type: string;
    }>;

  it.each(PLANS)('%s: main.bicepparam builds and lints with no diagnostics', (plan) => {
    expect(get(plan).diagnostics).toEqual([]);
    expect(get(plan).root.parameter('bulkTablePlan')).toBe(plan);
  });

  it('refuses a plan that is not one of them', () => {
    const built = buildParams(MAIN_PARAMETERS, { env: planEnvironment('Lake') });
    expect(built.status).not.toBe(0);
    expect(built.diagnostics.join('\n')).toMatch(/BCP033.*'Analytics' \| 'Auxiliary' \| 'Basic' \| 'none'/);
  });

  it.each(PLANS)('%s: DefenderExport_CL stays on the Analytics plan with its dynamic Properties', (plan) => {
    const main = table(plan, 'DefenderExport_CL');
    expect(main?.properties.plan).toBe('Analytics');
    expect(columnsOf(main).find((c) => c.name === 'Properties')?.type).toBe('dynamic');
  });

  it('none: no bulk table, and the rule declares and routes the main stream only', () => {
    const { tables, rule } = get('none');
    expect(tables.map((t) => t.name)).toEqual(['DefenderExport_CL']);
    expect(Object.keys(rule.streamDeclarations)).toEqual(['Custom-DefenderExport']);
    expect(rule.dataFlows.map((f) => f.outputStream)).toEqual(['Custom-DefenderExport_CL']);
  });

  it.each(BULK_PLANS)(
    "%s: DefenderExportBulk_CL is created with that plan and the row's columns, in order",
    (plan) => {
      const bulk = table(plan, BULK_TABLE);
      expect(get(plan).tables.map((t) => t.name)).toEqual(['DefenderExport_CL', BULK_TABLE]);
      expect(bulk?.properties.plan).toBe(plan);
      expect(columnsOf(bulk).map((c) => c.name)).toEqual(ROW_COLUMNS.map((c) => c.name));
    },
  );

  it('Auxiliary: every column of the bulk table has a type the plan takes, Properties the JSON text', () => {
    const columns = columnsOf(table('Auxiliary', BULK_TABLE));
    for (const c of columns) expect(AUXILIARY_TYPES, c.name).toContain(c.type);
    expect(columns.find((c) => c.name === 'Properties')?.type).toBe('string');
  });

  it.each(['Basic', 'Analytics'] as const)("%s: the bulk table has the main table's column types", (plan) => {
    expect(columnsOf(table(plan, BULK_TABLE))).toEqual(columnsOf(table(plan, 'DefenderExport_CL')));
  });

  it.each(BULK_PLANS)(
    '%s: interactive retention set on Analytics only, total retention from the parameter',
    (plan) => {
      const properties = table(plan, BULK_TABLE)!.properties;
      if (plan === 'Analytics') expect(properties.retentionInDays).toBe(30);
      else expect(properties).not.toHaveProperty('retentionInDays');
      expect(properties.totalRetentionInDays).toBe(get(plan).root.parameter('bulkTableTotalRetentionInDays'));
    },
  );

  it.each(BULK_PLANS)(
    "%s: the rule declares the bulk stream with the row's columns, as the app sends the same rows to both",
    (plan) => {
      const { rule } = get(plan);
      expect(Object.keys(rule.streamDeclarations)).toEqual(['Custom-DefenderExport', BULK_STREAM]);
      expect(rule.streamDeclarations[BULK_STREAM]!.columns).toEqual(ROW_COLUMNS);
      const [main, bulk, ...rest] = rule.dataFlows;
      expect(rest).toEqual([]);
      expect(main).toMatchObject({
        streams: ['Custom-DefenderExport'],
        outputStream: 'Custom-DefenderExport_CL',
      });
      expect(bulk).toEqual({
        streams: [BULK_STREAM],
        destinations: main!.destinations,
        // An Auxiliary table takes no dynamic column: the flow stores Properties as its JSON text.
        transformKql: plan === 'Auxiliary' ? 'source | extend Properties = tostring(Properties)' : 'source',
        outputStream: `Custom-${BULK_TABLE}`,
      });
    },
  );

  it.each(PLANS)(
    '%s: the rule the app may send to (Monitoring Metrics Publisher) is the one with every stream',
    (plan) => {
      const { root, rule } = get(plan);
      const [, appRoles] = root.resources().find(([name]) => name === 'appRoles')!;
      const granted = ((appRoles.properties as JsonObject).parameters as JsonObject)
        .dataCollectionRuleName as JsonObject;
      expect(root.evaluate(granted.value!)).toBe(rule.name);
    },
  );
});
