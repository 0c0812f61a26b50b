import type * as JmesPath from '@jmespath-community/jmespath' with { 'resolution-mode': 'import' };
import type { JSONValue } from '@jmespath-community/jmespath' with { 'resolution-mode': 'import' };
import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';
import { ActionableError } from '../errors';
import { ChunkedWriter, isTTY, write, type Io } from './io';
import { columns } from './text';

// The package ships CommonJS (dist/index.cjs) but declares its types as ESM only, so TypeScript refuses a
// plain import from this CommonJS module: the types are imported as ESM, the code is required.
const { compile, isRegistered, TreeInterpreter } = createRequire(__filename)(
  '@jmespath-community/jmespath',
) as typeof JmesPath;
type ExpressionNode = ReturnType<typeof JmesPath.compile>;

/**
 * How a command prints its result, as `az --output` does: `json`; `jsonc`, the same coloured when stdout is
 * a terminal; `table` for people; `tsv`, tab-separated values for cut, awk and shell loops; `none`, nothing
 * (the exit code says how it went).
 */
export const OUTPUT_FORMATS = ['json', 'jsonc', 'table', 'tsv', 'none'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** A JMESPath query (`--query`), compiled once. */
export interface Query {
  text: string;
  ast: ExpressionNode;
}

export interface OutputOptions {
  format: OutputFormat;
  query?: Query;
}

/** Thrown by compileQuery: a query that does not parse, or calls a function JMESPath does not have. */
export class QuerySyntaxError extends Error {}

/**
 * Compiles a JMESPath expression (the community edition of the specification, a superset of the one `az`
 * implements; the old backtick string literals `az` users write are accepted too). A call of a function
 * that does not exist is found here, before the command runs, not after.
 */
export function compileQuery(text: string): Query {
  let ast: ExpressionNode;
  try {
    ast = compile(text, { enable_legacy_literals: true });
  } catch (error) {
    throw new QuerySyntaxError((error as Error).message);
  }
  const unknown = functionNames(ast).filter((name) => !isRegistered(name));
  if (unknown.length > 0) {
    throw new QuerySyntaxError(`unknown function ${unknown.map((n) => `${n}()`).join(', ')}`);
  }
  return { text, ast };
}

function functionNames(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(functionNames);
  if (typeof node !== 'object' || node === null) return [];
  const own = (node as { type?: unknown }).type === 'Function' ? [(node as { name: string }).name] : [];
  return [...own, ...Object.values(node).flatMap(functionNames)];
}

/** The value as JSON sees it: undefined properties dropped, dates as text. */
export function asJson(value: unknown): JSONValue {
  const text = JSON.stringify(value);
  return text === undefined ? null : (JSON.parse(text) as JSONValue);
}

/** Applies the query to a JSON value; a query that fails on it (a function given the wrong type) is a usage error. */
export function applyQuery(value: JSONValue, query: Query): JSONValue {
  try {
    return TreeInterpreter.search(query.ast, value);
  } catch (error) {
    throw new ActionableError(
      `--query ${JSON.stringify(query.text)} failed: ${(error as Error).message}`,
      'The query runs over the JSON result: look at it with -o json and no --query, then adjust the query.',
    );
  }
}

const ESC = '\u001b[';
const COLOURS = { key: `${ESC}94m`, string: `${ESC}32m`, number: `${ESC}33m`, literal: `${ESC}35m` };
const RESET = `${ESC}0m`;

/** JSON with ANSI colours: keys blue, strings green, numbers yellow, true, false and null magenta. */
export function colouredJson(value: JSONValue, indent: number, depth = 0): string {
  if (value === null || typeof value === 'boolean') return `${COLOURS.literal}${String(value)}${RESET}`;
  if (typeof value === 'number') return `${COLOURS.number}${JSON.stringify(value)}${RESET}`;
  if (typeof value === 'string') return `${COLOURS.string}${JSON.stringify(value)}${RESET}`;
  const open = indent > 0 ? `\n${' '.repeat(indent * (depth + 1))}` : '';
  const close = indent > 0 ? `\n${' '.repeat(indent * depth)}` : '';
  const separator = indent > 0 ? `,${open}` : ',';
  const colon = indent > 0 ? ': ' : ':';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[${open}${value.map((v) => colouredJson(v, indent, depth + 1)).join(separator)}${close}]`;
  }
  const entries = Object.entries(value);
  if (entries.length === 0) return '{}';
  const items = entries.map(
    ([k, v]) => `${COLOURS.key}${JSON.stringify(k)}${RESET}${colon}${colouredJson(v, indent, depth + 1)}`,
  );
  return `{${open}${items.join(separator)}${close}}`;
}

/**
 * One result as JSON: indented on a terminal, one line when piped (so `-o json | tail -n 1` is the result
 * whatever else was printed); `jsonc` colours it, on a terminal only, as `az` does.
 */
export function jsonText(value: JSONValue, format: 'json' | 'jsonc', tty: boolean): string {
  if (!tty) return `${JSON.stringify(value)}\n`;
  return `${format === 'jsonc' ? colouredJson(value, 2) : JSON.stringify(value, null, 2)}\n`;
}

const isScalar = (value: JSONValue): value is string | number | boolean | null =>
  value === null || typeof value !== 'object';

/** A tab-separated cell: text as it is but for backslash, tab and line breaks (escaped \\ \t \n \r). */
function tsvCell(value: JSONValue): string {
  const text = value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  return text.replace(/[\\\t\n\r]/g, (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c]!);
}

/**
 * Tab-separated values: one line per item of a list (or one for an object or a value), an object's values
 * in the order of its keys, a list's in its order; nested objects and lists as compact JSON.
 */
export function tsvText(value: JSONValue): string {
  if (value === null) return '';
  const line = (item: JSONValue) => {
    if (Array.isArray(item)) return item.map(tsvCell).join('\t');
    if (!isScalar(item)) return Object.values(item).map(tsvCell).join('\t');
    return tsvCell(item);
  };
  return (Array.isArray(value) ? value : [value]).map((item) => `${line(item)}\n`).join('');
}

const tableCell = (value: JSONValue | undefined) =>
  value === undefined || value === null ? '' : isScalar(value) ? String(value) : '';
const heading = (key: string) => key.charAt(0).toUpperCase() + key.slice(1);

/**
 * Any JSON value as a table, the way `az -o table` shows a query's result: a list of objects has a column
 * per key holding plain values (nested objects and lists are left out: --query picks what to show); a list
 * of lists has Column1, Column2…; anything else is one Result column.
 */
export function tableText(value: JSONValue): string {
  if (value === null) return '';
  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0) return '';
  if (items.every((item) => !isScalar(item) && !Array.isArray(item))) {
    const objects = items as Array<Record<string, JSONValue>>;
    const keys = [...new Set(objects.flatMap((o) => Object.keys(o).filter((k) => isScalar(o[k]!))))];
    if (keys.length === 0) return '';
    return columns(
      keys.map(heading),
      objects.map((o) => keys.map((k) => tableCell(o[k]))),
      { rule: true },
    );
  }
  if (items.every(Array.isArray)) {
    const lists = items as JSONValue[][];
    const width = Math.max(...lists.map((l) => l.length));
    if (width === 0) return '';
    return columns(
      Array.from({ length: width }, (_, i) => `Column${i + 1}`),
      lists.map((l) => Array.from({ length: width }, (_, i) => tableCell(l[i]))),
      { rule: true },
    );
  }
  return columns(
    ['Result'],
    items.map((item) => [isScalar(item) ? tableCell(item) : JSON.stringify(item)]),
    { rule: true },
  );
}

/**
 * Prints a command's one result (the ledger, the coverage report) on stdout as asked: the query, if any,
 * reshapes the JSON first. `table` is the command's own table, shown when no query reshaped the result; a
 * query's result gets the generic table. A query that matches nothing prints nothing, as in `az`.
 */
export async function printResult(
  io: Io,
  result: unknown,
  options: OutputOptions,
  table?: () => string,
): Promise<void> {
  if (options.format === 'none') return;
  let value = asJson(result);
  if (options.query) {
    try {
      value = applyQuery(value, options.query);
    } catch (error) {
      // The work is done (delivered, posted): its exit code stands; only the printing failed.
      if (!(error instanceof ActionableError)) throw error;
      await write(io.stderr, `defender-export: warning: ${error.message}\n${error.hint}\n`);
      return;
    }
    if (value === null) return;
  }
  const tty = isTTY(io.stdout);
  let text: string;
  switch (options.format) {
    case 'json':
    case 'jsonc':
      text = jsonText(value, options.format, tty);
      break;
    case 'tsv':
      text = tsvText(value);
      break;
    case 'table':
      text = table && !options.query ? table() : tableText(value);
      break;
  }
  await write(io.stdout, text);
}

/** The formats a stream of records (rows, events) can be printed in: no table, since they are not held. */
export const RECORD_FORMATS = ['json', 'jsonc', 'tsv', 'none'] as const;
export type RecordFormat = (typeof RECORD_FORMATS)[number];

/**
 * Writes a stream of records (normalize's rows, reassemble's events) as NDJSON, one a line, or as TSV; the
 * query reshapes each record, and a record it maps to null is left out. Plain NDJSON passes the bytes through.
 */
export class RecordWriter {
  private readonly out: ChunkedWriter;
  private readonly tty: boolean;
  constructor(
    stream: Writable,
    private readonly options: { format: RecordFormat; query?: Query },
  ) {
    this.out = new ChunkedWriter(stream);
    this.tty = isTTY(stream);
  }

  async record(json: string | Buffer): Promise<void> {
    const { format, query } = this.options;
    if (format === 'none') return;
    if (format === 'json' && !query) return this.out.line(json);
    let value = JSON.parse(typeof json === 'string' ? json : json.toString('utf8')) as JSONValue;
    if (query) {
      value = applyQuery(value, query);
      if (value === null) return;
    }
    if (format === 'tsv') {
      const text = tsvText(Array.isArray(value) && query ? [value] : value);
      for (const line of text.slice(0, -1).split('\n')) await this.out.line(line);
      return;
    }
    await this.out.line(format === 'jsonc' && this.tty ? colouredJson(value, 0) : JSON.stringify(value));
  }

  flush(): Promise<void> {
    return this.out.flush();
  }
}
