import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SETTING_NAMES } from '../../lib/config';
import { fitRow } from '../../lib/fit/fit';
import type { JsonObject } from '../../lib/records/json';
import { normalizeEvent } from '../../lib/records/normalize';
import { ROW_COLUMNS } from '../../lib/records/row';
import { DEFAULT_STREAM } from '../../lib/routing/rules';
import { sample } from '../helpers/samples';

/**
 * What can drift between infra/ and the code while every template still compiles: the settings, the row's
 * columns, the KQL files and functions, the README's publish command. The compiler and linter run in
 * test/unit/bicep.test.ts, the KQL analyser in kql.test.ts, the package rehearsal in package.test.ts.
 */
const root = path.resolve(__dirname, '../..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

/** The keys of the Bicep object literal that follows `opening` (one `KEY: value` per line). */
function bicepObjectKeys(source: string, opening: string): string[] {
  const start = source.indexOf(opening);
  expect(start, `${opening} not found`).toBeGreaterThan(-1);
  const keys: string[] = [];
  let depth = 0;
  for (const line of source.slice(start + opening.length).split('\n')) {
    if (depth === 0) {
      const key = /^\s*([A-Za-z_][\w]*)\s*:/.exec(line);
      if (key) keys.push(key[1]!);
      else if (/^\s*}/.test(line)) break;
    }
    depth += (line.match(/[{[(]/g) ?? []).length - (line.match(/[}\])]/g) ?? []).length;
  }
  return keys;
}

const appSettings = [
  ...bicepObjectKeys(read('infra/modules/functionApp.bicep'), 'var hostSettings = {'),
  ...bicepObjectKeys(read('infra/main.bicep'), '    settings: {'),
];
const sampleSettings = Object.keys(
  (JSON.parse(read('local.settings.sample.json')) as { Values: Record<string, string> }).Values,
);

describe('infra sets every setting the app reads', () => {
  // Never in Azure: a static token for the local stand-ins.
  const localOnly = new Set(['LOCAL_DEV_BEARER_TOKEN']);
  // Flex Consumption takes the runtime from functionAppConfig and refuses the setting.
  const flexReplaced = new Set(['FUNCTIONS_WORKER_RUNTIME']);
  // Connections: Azure uses the identity-based form of each (`<NAME>__…`), never a connection string.
  const connections = ['AzureWebJobsStorage', 'EventHubConnection', 'ARCHIVE_STORAGE', 'STATE_STORAGE'];

  it("sets each of the config schema's settings", () => {
    const missing = SETTING_NAMES.filter((name) => !localOnly.has(name) && !appSettings.includes(name));
    expect(missing).toEqual([]);
  });

  it('covers every setting of local.settings.sample.json, connections by identity', () => {
    const missing = sampleSettings.filter(
      (name) =>
        !appSettings.includes(name) &&
        !localOnly.has(name) &&
        !flexReplaced.has(name) &&
        !(connections.includes(name) && appSettings.some((s) => s.startsWith(`${name}__`))),
    );
    expect(missing).toEqual([]);
  });

  it('sets every %SETTING% binding expression and connection the functions use, connections by managed identity', () => {
    const sources = readdirSync(path.join(root, 'functions')).filter((f) => f.endsWith('.ts'));
    const expressions = new Set<string>();
    const used = new Set<string>();
    for (const file of sources) {
      const text = read(`functions/${file}`);
      for (const m of text.matchAll(/'%([A-Z_]+)%'/g)) expressions.add(m[1]!);
      for (const m of text.matchAll(/connection:\s*'([^']+)'/g)) used.add(m[1]!);
    }
    expect([...expressions].length).toBeGreaterThan(3);
    expect([...expressions].filter((name) => !appSettings.includes(name))).toEqual([]);
    for (const connection of used) {
      expect(appSettings).toContain(`${connection}__fullyQualifiedNamespace`);
      expect(appSettings).toContain(`${connection}__credential`);
    }
    expect(appSettings).not.toContain('AzureWebJobsStorage');
    expect(appSettings).toEqual(
      expect.arrayContaining(['AzureWebJobsStorage__blobServiceUri', 'AzureWebJobsStorage__credential']),
    );
  });

  it('sets nothing the app and host do not read (a typo would be silently ignored)', () => {
    const hostAndSdk = new Set([
      'AZURE_CLIENT_ID',
      'APPLICATIONINSIGHTS_CONNECTION_STRING',
      'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
      'FUNCTIONS_NODE_BLOCK_ON_ENTRY_POINT_ERROR',
    ]);
    const identityParts = /__(credential|clientId|blobServiceUri|tableServiceUri|fullyQualifiedNamespace)$/;
    const unknown = appSettings.filter(
      (name) =>
        !(SETTING_NAMES as readonly string[]).includes(name) &&
        !hostAndSdk.has(name) &&
        !(identityParts.test(name) && connections.includes(name.split('__')[0]!)),
    );
    expect(unknown).toEqual([]);
  });
});

describe('infra declares the row the code sends', () => {
  const infraColumns = (
    JSON.parse(read('infra/row-columns.json')) as { columns: Array<{ name: string; type: string }> }
  ).columns;

  it("lists the row's columns, in order, with their types", () => {
    expect(infraColumns).toEqual(ROW_COLUMNS.map(({ name, type }) => ({ name, type })));
  });

  it('builds both the table and the DCR stream from that list, and the stream flows into the table', () => {
    const content = read('infra/modules/workspaceContent.bicep');
    const ingestion = read('infra/modules/logsIngestion.bicep');
    for (const bicep of [content, ingestion])
      expect(bicep).toContain("loadJsonContent('../row-columns.json').columns");
    expect(content).toContain("var tableName = 'DefenderExport_CL'");
    expect(content).toMatch(/type: column\.type == 'datetime' \? 'dateTime' : column\.type/);
    expect(ingestion).toContain(`var streamName = '${DEFAULT_STREAM}'`);
    expect(ingestion).toContain("outputStream: 'Custom-${tableName}'");
    expect(ingestion).toMatch(/'\$\{streamName\}': \{ columns: columns \}/);
  });
});

// ---------- KQL ----------

const KQL_DIR = path.join(root, 'infra/kql');
const kqlFiles = readdirSync(KQL_DIR).filter((f) => f.endsWith('.kql'));
const functionAliases = kqlFiles.filter((f) => /^[A-Z]/.test(f)).map((f) => f.replace(/\.kql$/, ''));
const workbook = JSON.parse(read('infra/workbooks/defender-export.workbook.json')) as {
  items: Array<{ name: string; content: { query?: string } }>;
};
const workbookQueries = workbook.items
  .filter((i) => i.content.query)
  .map((i) => [i.name, i.content.query!] as const);

// Whether each query is valid against the table's schema: test/unit/kql.test.ts, with the Kusto analyser.
describe('the KQL is deployed and wired up', () => {
  it('leaves the workbook a fallback resource for workbook.bicep to fill in', () => {
    expect(read('infra/workbooks/defender-export.workbook.json')).toContain('"fallbackResourceIds": []');
    expect(read('infra/modules/workbook.bicep')).toContain(`'"fallbackResourceIds": []'`);
  });

  it('deploys every function file, and the workbook calls only deployed functions', () => {
    const content = read('infra/modules/workspaceContent.bicep');
    for (const alias of functionAliases) {
      expect(content).toContain(`alias: '${alias}'`);
      expect(content).toContain(`loadTextContent('../kql/${alias}.kql')`);
    }
    const alerts = read('infra/modules/alerts.bicep');
    for (const file of kqlFiles.filter((f) => f.startsWith('alert-')))
      expect(alerts).toContain(`../kql/${file}`);
    for (const [, query] of workbookQueries)
      for (const m of query.matchAll(/\b(DefenderExport[A-Za-z]+)\(/g))
        expect(functionAliases).toContain(m[1]);
  });
});

describe("DefenderExportReassembled's method rebuilds split events", () => {
  type Part = { EventKey: string; PartIndex: number; PartPath: string; Properties: unknown };
  const segmentsOf = (p: string) =>
    [...p.matchAll(/\["((?:[^"\\]|\\.)*)"\]/g)].map((m) => JSON.parse(`"${m[1]}"`) as string);

  // The KQL function's steps, in JavaScript (KQL itself cannot run here): parts deduplicated by
  // (EventKey, PartIndex); each share reached by taking the only key Depth times; shares of one path
  // concatenated or merged in part order; then, deepest level first, each value packed under its last key
  // and merged into its parent's value, the child winning over the placeholder.
  function reassembleLikeKql(parts: Part[]): unknown {
    const unique = [...new Map(parts.map((p) => [`${p.EventKey}/${p.PartIndex}`, p])).values()];
    const only = (v: unknown) => Object.values(v as Record<string, unknown>)[0];
    const byPath = new Map<string, unknown[]>();
    for (const part of unique.sort((a, b) => a.PartIndex - b.PartIndex)) {
      let share = part.Properties;
      for (let d = 0; d < segmentsOf(part.PartPath).length; d++) share = only(share);
      byPath.set(part.PartPath, [...(byPath.get(part.PartPath) ?? []), share]);
    }
    const values = new Map<string, unknown>(
      [...byPath].map(([path, shares]) => [
        path,
        Array.isArray(shares[0])
          ? shares.flat()
          : typeof shares[0] === 'string'
            ? shares.join('')
            : Object.assign({}, ...shares),
      ]),
    );
    for (let level = 8; level >= 1; level--) {
      for (const [path, value] of [...values]) {
        const keys = segmentsOf(path);
        if (keys.length !== level) continue;
        const last = keys[keys.length - 1]!;
        const parentPath = path.slice(0, path.length - JSON.stringify(last).length - 2);
        const parent = values.get(parentPath) as Record<string, unknown> | undefined;
        if (parent) values.set(parentPath, { ...parent, [last]: value });
        values.delete(path);
      }
    }
    return values.get('$');
  }

  it('rebuilds an alert split at two levels (entities, and a long string inside ExtendedProperties), even when redelivered', () => {
    const alert = sample<JsonObject>('alert-eventhub-example-1-sample-alert.json') as Record<
      string,
      unknown
    > &
      JsonObject;
    alert.Entities = Array.from({ length: 30 }, (_, i) => ({
      $id: String(i),
      Type: 'host',
      HostName: `h${i}`.padEnd(300, 'x'),
    }));
    (alert.ExtendedProperties as Record<string, unknown>)['Investigation "notes"'] = 'é'.repeat(6000);
    const event = normalizeEvent(alert, { index: 0, enqueuedTimeUtc: '2026-11-24T10:00:00Z' });
    const { rows } = fitRow(event, { limit: 4096, strategy: 'split', archiveBlob: 'alert/batch.ndjson.gz' });
    expect(new Set(rows.map((r) => r.PartPath))).toEqual(
      new Set([
        '$',
        '$["Entities"]',
        '$["ExtendedProperties"]',
        '$["ExtendedProperties"]["Investigation \\"notes\\""]',
      ]),
    );
    expect(reassembleLikeKql([...rows, ...rows.slice(0, 3)])).toEqual(alert);
  });

  it('splits a nested path only inside a split parent, so folding level by level reaches the root', () => {
    const finding = sample<JsonObject>('subassessment-eventhub-example-1.json') as Record<string, unknown> &
      JsonObject;
    finding.level1 = {
      level2: { level3: { list: Array.from({ length: 200 }, (_, i) => `item ${i}`.padEnd(80, '.')) } },
    };
    const event = normalizeEvent(finding, { index: 0, enqueuedTimeUtc: '2026-11-24T10:00:00Z' });
    const { rows } = fitRow(event, { limit: 2048, strategy: 'split', archiveBlob: 'x' });
    const paths = new Set(rows.map((r) => r.PartPath));
    expect(paths.size).toBeGreaterThan(3);
    for (const path of paths) {
      if (path === '$') continue;
      const parent = path.replace(/\["(?:[^"\\]|\\.)*"\]$/, '');
      expect(paths, `${path} has its parent ${parent}`).toContain(parent);
    }
    expect(reassembleLikeKql(rows)).toEqual(finding);
  });
});

// ---------- publishing ----------

// What each publish path packs, and that the app loads from it: test/integration/package.test.ts.
describe('publishing', () => {
  it('is preceded in the README by a build and a prune to production dependencies', () => {
    const deploy = read('README.md').split('## Deploy')[1]?.split('\n## ')[0] ?? '';
    expect(deploy).toMatch(
      /npm ci && npm run build && npm prune --omit=dev\s*\n\s*func azure functionapp publish <FUNCTION_APP_NAME> --build local --typescript\b/,
    );
  });

  it('keeps the extension bundle and host settings the functions need', () => {
    const host = JSON.parse(read('host.json')) as {
      version: string;
      extensionBundle: { id: string; version: string };
    };
    expect(host.version).toBe('2.0');
    expect(host.extensionBundle).toEqual({
      id: 'Microsoft.Azure.Functions.ExtensionBundle',
      version: '[4.*, 5.0.0)',
    });
  });
});
