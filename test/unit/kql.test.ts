import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  APP_TRACES_COLUMNS,
  formatDiagnostics,
  type KqlDiagnostic,
  type KqlFunction,
  KqlWorkspace,
  kustoColumns,
  STANDARD_COLUMNS,
  table,
} from '../helpers/kql';

/**
 * Every KQL text the project ships, analysed by Microsoft's Kusto parser and semantic analyser against the
 * workspace's schema: the saved functions, the alert rules and any other query a template holds, the DCR
 * transforms, the workbook's queries, and the ```kusto blocks of the documentation.
 */
const root = path.resolve(__dirname, '../..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');
const files = (dir: string, extension: string) =>
  readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith(extension))
    .map((f) => path.posix.join(dir, f.split(path.sep).join('/')))
    .sort();

/** What fails a query: errors, and warnings (code that runs, with a possibly unintended result). */
const failing = (diagnostics: KqlDiagnostic[]) =>
  diagnostics.filter((d) => d.severity === 'Error' || d.severity === 'Warning');

function expectClean(file: string, diagnostics: KqlDiagnostic[], firstLine = 1): void {
  expect(formatDiagnostics(file, failing(diagnostics), firstLine)).toBe('');
}

// ---------- the workspace ----------

const rowColumns = kustoColumns(
  (JSON.parse(read('infra/row-columns.json')) as { columns: Array<{ name: string; type: string }> }).columns,
);
const tables = [
  table('DefenderExport_CL', [...rowColumns, ...STANDARD_COLUMNS]),
  table('AppTraces', APP_TRACES_COLUMNS),
];

const bicepFiles = files('infra', '.bicep');
/** The .kql files the templates load (`loadTextContent('../kql/x.kql')`), relative to the repository. */
const loadedKql = bicepFiles.flatMap((bicep) =>
  [...read(bicep).matchAll(/loadTextContent\('([^']+\.kql)'\)/g)].map((m) =>
    path.posix.join(path.posix.dirname(bicep), m[1]!),
  ),
);

/** The saved functions, in the template's order (each may call the ones before it). */
const FUNCTIONS_TEMPLATE = 'infra/modules/workspaceContent.bicep';
const functionsTemplate = read(FUNCTIONS_TEMPLATE);
const functions: Array<KqlFunction & { file: string }> = [
  ...functionsTemplate.matchAll(
    /alias:\s*'([^']+)'\s*parameters:\s*'([^']*)'\s*query:\s*loadTextContent\('([^']+)'\)/g,
  ),
].map(([, name, parameters, relative]) => {
  const file = path.posix.join(path.posix.dirname(FUNCTIONS_TEMPLATE), relative!);
  return { name: name!, parameters: parameters!, body: read(file), file };
});

let declared = KqlWorkspace.of(tables);
const functionChecks = functions.map((fn) => {
  const before = declared;
  declared = declared.withFunction(fn);
  return { ...fn, before };
});
/** The workspace with the tables and every saved function. */
const workspace = declared;

// ---------- the KQL texts ----------

const functionFiles = new Set(functions.map((f) => f.file));
const queryFiles = [...new Set([...files('infra/kql', '.kql'), ...loadedKql])]
  .filter((f) => !functionFiles.has(f))
  .sort();

/** KQL written inline in a template, as a Bicep string ('...' with escapes, or '''...''' verbatim). */
const BICEP_ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t' };
const inlineKql = bicepFiles.flatMap((bicep) =>
  [...read(bicep).matchAll(/\b(query|transformKql)\s*:\s*(?:'''([\s\S]*?)'''|'((?:[^'\\\n]|\\.)*)')/g)].map(
    (m) => ({
      bicep,
      property: m[1]!,
      kql: m[2] ?? m[3]!.replace(/\\(.)/g, (_, c: string) => BICEP_ESCAPES[c] ?? c),
    }),
  ),
);

/** A DCR transform reads the virtual table `source`: the stream's columns, no standard columns. */
const dcr = KqlWorkspace.of([table('source', rowColumns)]);

interface WorkbookQuery {
  file: string;
  item: string;
  title: string;
  query: string;
  queryType: unknown;
}

/** Every `query` of a workbook, at any depth (items, groups, parameters), with the item that holds it. */
function workbookQueries(file: string, node: unknown, item = ''): WorkbookQuery[] {
  if (Array.isArray(node)) return node.flatMap((n) => workbookQueries(file, n, item));
  if (typeof node !== 'object' || node === null) return [];
  const record = node as Record<string, unknown>;
  const name = typeof record.name === 'string' ? record.name : item;
  const own =
    typeof record.query === 'string'
      ? [
          {
            file,
            item: name,
            title: typeof record.title === 'string' ? record.title : '',
            query: record.query,
            queryType: record.queryType,
          },
        ]
      : [];
  return [...own, ...Object.values(record).flatMap((v) => workbookQueries(file, v, name))];
}

const workbooks = files('infra', '.workbook.json').flatMap((file) =>
  workbookQueries(file, JSON.parse(read(file))),
);

interface DocQuery {
  file: string;
  line: number;
  query: string;
}

/**
 * The queries of the ```kusto and ```kql blocks of a Markdown file. As in the Log Analytics editor, a blank
 * line separates one query from the next.
 */
function docQueries(file: string): DocQuery[] {
  const lines = read(file).split('\n');
  const queries: DocQuery[] = [];
  let inBlock = false;
  let current: DocQuery | undefined;
  lines.forEach((text, index) => {
    if (/^\s*```/.test(text)) {
      inBlock = !inBlock && /^\s*```\s*(kusto|kql)\s*$/i.test(text);
      current = undefined;
    } else if (inBlock && text.trim() === '') {
      current = undefined;
    } else if (inBlock) {
      if (!current) queries.push((current = { file, line: index + 1, query: '' }));
      current.query += `${text}\n`;
    }
  });
  return queries;
}

const docs = ['README.md', ...files('docs', '.md')].flatMap(docQueries);

// ---------- the tests ----------

describe(`the saved functions (${FUNCTIONS_TEMPLATE})`, () => {
  it('reads every function the template declares', () => {
    expect(functions.map((f) => f.name)).toHaveLength(functionsTemplate.match(/\balias:/g)?.length ?? 0);
    expect(functions.length).toBeGreaterThan(0);
  });

  // Each body is analysed with its parameters in scope, against the tables and the functions saved before it.
  it.each(functionChecks.map((c) => [`${c.name}(${c.parameters}) (${c.file})`, c] as const))(
    '%s',
    (_title, { before, ...fn }) => {
      expectClean(fn.file, before.analyseFunction(fn));
    },
  );
});

describe('the queries of infra/kql (alert rules)', () => {
  it('finds the queries the alert rules load (infra/modules/alerts.bicep)', () => {
    expect(loadedKql.filter((f) => !functionFiles.has(f))).not.toHaveLength(0);
  });

  it.each(queryFiles)('%s', (file) => {
    expectClean(file, workspace.analyse(read(file)));
  });
});

describe('KQL written inline in the templates', () => {
  it('is found (the DCR transform at least)', () => {
    expect(inlineKql.some((k) => k.property === 'transformKql')).toBe(true);
  });

  it.each(inlineKql.map((k) => [`${k.bicep}: ${k.property}`, k] as const))(
    '%s',
    (_title, { bicep, property, kql }) => {
      expect(kql, 'a query with Bicep interpolation cannot be analysed').not.toContain('${');
      expectClean(bicep, (property === 'transformKql' ? dcr : workspace).analyse(kql));
    },
  );
});

describe('the workbook queries', () => {
  it('are found', () => {
    expect(workbooks.length).toBeGreaterThan(0);
  });

  it.each(workbooks.map((w) => [`${w.file} ${w.item}: ${w.title}`, w] as const))(
    '%s',
    (_title, { file, item, query, queryType }) => {
      expect(queryType, `${item} is not a Log Analytics query (queryType 0)`).toBe(0);
      expectClean(`${file} (${item})`, workspace.analyse(query));
    },
  );
});

describe('the KQL blocks of the documentation', () => {
  it.each(docs.map((d) => [`${d.file}:${d.line} ${d.query.split('\n')[0]}`, d] as const))(
    '%s',
    (_title, { file, line, query }) => {
      expectClean(file, workspace.analyse(query), line);
    },
  );
});

describe('the analysis (the check itself can fail)', () => {
  const codes = (query: string) => failing(workspace.analyse(query)).map((d) => `${d.code} ${d.at}`);

  it('passes a correct query', () => {
    expect(
      workspace.analyse(
        'DefenderExport_CL | where TimeGenerated > ago(1d) and DataType == "Alert" and PartCount > 1' +
          ' | summarize Parts = count(), Bytes = sum(_BilledSize) by AzureSubscriptionId, _ResourceId',
      ),
    ).toEqual([]);
  });

  it('catches a misspelled column', () => {
    expect(codes('DefenderExport_CL | where DataTyp == "Alert"')).toEqual(['KS142 DataTyp']);
    expect(codes('DefenderExportCoverage() | project Statuss')).toEqual(['KS142 Statuss']);
    expect(codes('AppTraces | project DataType')).toEqual(['KS142 DataType']);
  });

  it("catches the row's old identity columns, which Log Analytics reserves", () => {
    expect(codes('DefenderExport_CL | project SubscriptionId, ResourceId')).toEqual([
      'KS142 SubscriptionId',
      'KS142 ResourceId',
    ]);
  });

  // The analyser accepts == and != between any two scalars (`PartCount == "one"` passes), so these use
  // ordering comparisons and an aggregate, which it types.
  it('catches a wrong type', () => {
    expect(codes('DefenderExport_CL | where TimeGenerated > 5')).toEqual(['KS106 >']);
    expect(codes('DefenderExport_CL | where PartCount > "one"')).toEqual(['KS106 >']);
    expect(codes('DefenderExport_CL | summarize sum(DataType)')).toEqual(['KS138 DataType']);
  });

  it("reports a function's error where it is called", () => {
    const broken = KqlWorkspace.of(tables).withFunction({
      name: 'Broken',
      parameters: 'lookback:timespan = 1d',
      body: 'DefenderExport_CL | where TimeGenerated > ago(lookback) and DataTyp == "Alert"',
    });
    expect(failing(broken.analyse('Broken(2d) | count')).map((d) => `${d.severity} ${d.code}`)).toEqual([
      'Warning KS512',
    ]);
  });

  it('refuses a parameter list it cannot read', () => {
    expect(() =>
      workspace.withFunction({ name: 'F', parameters: 'lookback:timespam = 1d', body: 'print 1' }),
    ).toThrow(/parameter list/);
  });
});
