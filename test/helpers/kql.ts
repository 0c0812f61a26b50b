/// <reference types="@kusto/language-service-next" />
// Microsoft's Kusto parser and semantic analyser (Kusto.Language, translated to JavaScript by Bridge.NET).
// The two scripts define the globals `Bridge`, `System` and `Kusto`; bridge.js must run first.
import '@kusto/language-service-next/bridge.js';
import '@kusto/language-service-next/Kusto.Language.Bridge.js';

const K = Kusto.Language;
const S = Kusto.Language.Symbols;

type GlobalState = Kusto.Language.GlobalState;
type TableSymbol = Kusto.Language.Symbols.TableSymbol;

/** A column as `[name, Kusto type]`. */
export type Column = readonly [name: string, type: string];

export interface KqlDiagnostic {
  severity: string; // Error, Warning, Suggestion, Information
  code: string; // KS142, ...
  message: string;
  line: number; // 1-based, in the analysed text
  column: number;
  /** The text the diagnostic points at. */
  at: string;
}

/** A saved function as the template declares it: `parameters` without the parentheses (`lookback:timespan = 1d`). */
export interface KqlFunction {
  name: string;
  parameters: string;
  body: string;
}

/** The DCR stream column types (infra/row-columns.json) as Kusto types. */
const DCR_TYPES: Record<string, string> = {
  string: 'string',
  int: 'int',
  long: 'long',
  real: 'real',
  boolean: 'bool',
  datetime: 'datetime',
  dynamic: 'dynamic',
};

export function kustoColumns(dcrColumns: ReadonlyArray<{ name: string; type: string }>): Column[] {
  return dcrColumns.map(({ name, type }) => {
    const kusto = DCR_TYPES[type];
    if (!kusto) throw new Error(`column ${name}: DCR type ${type} has no Kusto type here`);
    return [name, kusto];
  });
}

/**
 * The standard columns Log Analytics adds to every table ("Standard columns in Azure Monitor Logs":
 * TenantId, TimeGenerated, _TimeReceived, Type, _ItemId, _ResourceId, _SubscriptionId, _IsBillable,
 * _BilledSize); TimeGenerated is the table's own. Columns such as SourceSystem, Computer, MG,
 * ManagementGroupName or RawData belong to particular tables (the legacy agent's custom logs), not to a
 * table created through the tables API, so a query of DefenderExport_CL must not use them.
 */
export const STANDARD_COLUMNS: readonly Column[] = [
  ['TenantId', 'string'],
  ['Type', 'string'],
  ['_TimeReceived', 'datetime'],
  ['_ItemId', 'string'],
  ['_ResourceId', 'string'],
  ['_SubscriptionId', 'string'],
  ['_IsBillable', 'string'],
  ['_BilledSize', 'real'],
];

/** AppTraces, from the Azure Monitor Logs table reference (plus the standard columns it does not list). */
export const APP_TRACES_COLUMNS: readonly Column[] = [
  ['AppRoleInstance', 'string'],
  ['AppRoleName', 'string'],
  ['AppVersion', 'string'],
  ['_BilledSize', 'real'],
  ['ClientBrowser', 'string'],
  ['ClientCity', 'string'],
  ['ClientCountryOrRegion', 'string'],
  ['ClientIP', 'string'],
  ['ClientModel', 'string'],
  ['ClientOS', 'string'],
  ['ClientStateOrProvince', 'string'],
  ['ClientType', 'string'],
  ['IKey', 'string'],
  ['_IsBillable', 'string'],
  ['ItemCount', 'int'],
  ['Measurements', 'dynamic'],
  ['Message', 'string'],
  ['OperationId', 'string'],
  ['OperationName', 'string'],
  ['ParentId', 'string'],
  ['Properties', 'dynamic'],
  ['ReferencedItemId', 'string'],
  ['ReferencedType', 'string'],
  ['ResourceGUID', 'string'],
  ['_ResourceId', 'string'],
  ['SDKVersion', 'string'],
  ['SessionId', 'string'],
  ['SeverityLevel', 'int'],
  ['SourceSystem', 'string'],
  ['_SubscriptionId', 'string'],
  ['SyntheticSource', 'string'],
  ['TenantId', 'string'],
  ['TimeGenerated', 'datetime'],
  ['Type', 'string'],
  ['UserAccountId', 'string'],
  ['UserAuthenticatedId', 'string'],
  ['UserId', 'string'],
  ['_ItemId', 'string'],
  ['_TimeReceived', 'datetime'],
];

export function table(name: string, columns: readonly Column[]): TableSymbol {
  const seen = new Set<string>();
  const symbols = columns.map(([column, type]) => {
    if (seen.has(column)) throw new Error(`${name}: column ${column} twice`);
    seen.add(column);
    const scalar = S.ScalarTypes.GetSymbol(type);
    if (!scalar) throw new Error(`${name}.${column}: ${type} is not a Kusto type`);
    return new S.ColumnSymbol(column, scalar, null, null, null, null);
  });
  return new S.TableSymbol.$ctor4(name, symbols);
}

function list<T>(items: System.Collections.Generic.IReadOnlyList$1<T> | null): T[] {
  const out: T[] = [];
  for (let i = 0; i < (items?.Count ?? 0); i++) out.push(items!.getItem(i));
  return out;
}

/** Splits `a:string, b:(x:int, y:int)` at its top-level commas. */
function splitParameters(parameters: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < parameters.length; i++) {
    const c = parameters[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(parameters.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(parameters.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

function functionSymbol(fn: KqlFunction): Kusto.Language.Symbols.FunctionSymbol {
  const symbol = new S.FunctionSymbol.$ctor16(fn.name, `(${fn.parameters})`, fn.body, null);
  // An unreadable parameter list gives no parameters or an error type rather than an exception.
  const declared = list(symbol.Signatures?.getItem(0).Parameters ?? null);
  const types = declared.map((p) => p.DeclaredTypes?.getItem(0));
  if (
    declared.length !== splitParameters(fn.parameters).length ||
    types.some((t) => !t || t === S.ErrorSymbol.Instance)
  )
    throw new Error(`${fn.name}: cannot read the parameter list (${fn.parameters})`);
  return symbol;
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: before[before.length - 1]!.length + 1 };
}

/** A Log Analytics workspace as the analyser sees it: tables and saved functions in one database. */
export class KqlWorkspace {
  private constructor(
    private readonly members: ReadonlyArray<Kusto.Language.Symbols.Symbol>,
    private readonly globals: GlobalState,
  ) {}

  static of(tables: readonly TableSymbol[]): KqlWorkspace {
    return KqlWorkspace.from(tables);
  }

  private static from(members: ReadonlyArray<Kusto.Language.Symbols.Symbol>): KqlWorkspace {
    const database = new S.DatabaseSymbol.$ctor2('workspace', null, [...members]);
    return new KqlWorkspace(members, K.GlobalState.Default!.WithDatabase(database)!);
  }

  /**
   * This workspace with `fn` saved in it: queries (and later functions) can call it. A call is analysed
   * through the body; the analyser checks the number of arguments, not their types.
   */
  withFunction(fn: KqlFunction): KqlWorkspace {
    return KqlWorkspace.from([...this.members, functionSymbol(fn)]);
  }

  /** Every diagnostic of the parser, the semantic analysis and the analysers (KustoCodeService's combined list). */
  analyse(query: string): KqlDiagnostic[] {
    return KqlWorkspace.diagnostics(query, this.globals);
  }

  /** Analyses a function's body, its parameters in scope, against this workspace (the functions saved before it). */
  analyseFunction(fn: KqlFunction): KqlDiagnostic[] {
    const parameters = list(functionSymbol(fn).Signatures?.getItem(0).Parameters ?? null).map(
      (p) => new S.ParameterSymbol(p.Name, p.DeclaredTypes!.getItem(0), null),
    );
    return KqlWorkspace.diagnostics(fn.body, this.globals.AddParameters(parameters)!);
  }

  private static diagnostics(text: string, globals: GlobalState): KqlDiagnostic[] {
    const code = K.KustoCode.ParseAndAnalyze(text, globals);
    const service = new K.Editor.KustoCodeService.ctor(code);
    return list(service.GetCombinedDiagnostics()).map((d) => ({
      severity: d.Severity ?? '',
      code: d.Code ?? '',
      message: d.Message ?? '',
      ...lineAndColumn(text, d.Start),
      at: text.slice(d.Start, d.End),
    }));
  }
}

/**
 * `file:line:column severity code message (at "text")`, one per line, for a failing test's message;
 * `firstLine` is the line of `file` the analysed text starts on.
 */
export function formatDiagnostics(
  file: string,
  diagnostics: readonly KqlDiagnostic[],
  firstLine = 1,
): string {
  return diagnostics
    .map(
      (d) =>
        `${file}:${d.line + firstLine - 1}:${d.column} ${d.severity} ${d.code} ${d.message} (at ${JSON.stringify(d.at)})`,
    )
    .join('\n');
}
